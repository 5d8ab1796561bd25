import { describe, expect, it } from 'vitest';
import type { InvocationRecord } from '../../api.js';
import { timelineOf } from './timeline.js';

function record(state: string, queued: number, temperature: InvocationRecord['temperature'], outcome: InvocationRecord['outcome'] = { state: 'ok' }): InvocationRecord {
  return {
    invocationId: `i-${state}`, executionId: 'e', app: 'a', function: 'f', state, temperature, sandboxId: 'sb1', workerPid: 42,
    workerOrigin: 'existing', host: 'h', backend: 'process',
    t: { queued, workerReady: queued + 10, handlerStart: queued + 11, handlerEnd: queued + 15, published: queued + 16 },
    coldStart: {}, inputBytes: 2, outputBytes: 2, outcome,
  };
}

describe('timelineOf', () => {
  it('a bar per invocation, in queued order, cut into its four phases from the earliest queued', () => {
    const tl = timelineOf([record('Two', 1020, 'warm'), record('One', 1000, 'cold-sandbox'), record('Three', 1040, 'warm')]);
    expect(tl.origin).toBe(1000);
    expect(tl.spanMs).toBe(56);
    expect(tl.bars.map((b) => [b.label, b.temperature, b.start, b.end])).toEqual([['One', 'cold-sandbox', 0, 16], ['Two', 'warm', 20, 36], ['Three', 'warm', 40, 56]]);
    expect(tl.bars[0]!.segments).toEqual([
      { phase: 'queued', start: 0, end: 10 },
      { phase: 'dispatch', start: 10, end: 11 },
      { phase: 'handler', start: 11, end: 15 },
      { phase: 'publish', start: 15, end: 16 },
    ]);
    expect(tl.bars[0]).toMatchObject({ sandboxId: 'sb1', workerPid: 42, failed: false, error: null });
  });

  it('marks a failed invocation with its error', () => {
    const tl = timelineOf([record('One', 0, 'warm', { state: 'error', error: 'Error', cause: '{}' })]);
    expect(tl.bars[0]).toMatchObject({ failed: true, error: 'Error' });
  });

  it('a timestamp out of order gives an empty phase, never a negative one', () => {
    const r = record('One', 100, 'warm');
    r.t.handlerStart = r.t.queued - 5; // clocks of two processes
    const [bar] = timelineOf([r]).bars;
    expect(bar!.segments.every((s) => s.end >= s.start)).toBe(true);
    expect(bar!.segments.map((s) => s.end - s.start)).toEqual([10, 0, 5, 1]); // the handler counted from the clamped start
  });

  it('no records, an empty timeline', () => {
    expect(timelineOf([])).toEqual({ origin: 0, spanMs: 0, bars: [] });
  });
});
