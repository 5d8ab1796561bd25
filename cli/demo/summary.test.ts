import { describe, expect, it } from 'vitest';
import type { DemoSample } from './measure.js';
import { countTemperatures, latency, summarize } from './summary.js';

function sample(over: Partial<DemoSample>): DemoSample {
  return {
    workload: 'w',
    phase: 'warm',
    seq: 1,
    clientMs: 1,
    executionId: 'e',
    status: 'SUCCEEDED',
    valid: true,
    reason: null,
    temperatures: ['warm'],
    handlerMs: 0.1,
    platformMs: 0.5,
    ...over,
  };
}

describe('summarize', () => {
  it('keeps failed, erroneous and invalid executions counted apart, and computes latency over the valid warm ones', () => {
    const samples: DemoSample[] = [
      sample({ phase: 'first', seq: 0, clientMs: 50, temperatures: ['cold-sandbox', 'cold-worker', 'cold-worker'] }),
      ...[1, 2, 3, 4].map((i) => sample({ seq: i, clientMs: i, handlerMs: i / 10, temperatures: ['warm', 'warm', 'warm'] })),
      sample({ seq: 5, clientMs: 1000, status: 'FAILED', valid: false, reason: 'E: boom', temperatures: ['warm'] }),
      sample({ seq: 6, clientMs: 999, valid: false, reason: '$.n: expected 1, got 2' }),
      sample({ seq: 7, clientMs: 998, status: 'ERROR', valid: false, reason: 'MF_APP_NOT_FOUND: x', temperatures: [] }),
      sample({ workload: 'other', phase: 'first', seq: 0, clientMs: 7 }),
    ];
    const [w, other] = summarize(samples);
    expect(w).toMatchObject({
      workload: 'w',
      executions: 8,
      succeeded: 6,
      failed: 1,
      errors: 1,
      invalid: 1,
      first: { clientMs: 50, temperatures: { 'cold-sandbox': 1, 'cold-worker': 2, warm: 0 } },
      warm: {
        temperatures: { 'cold-sandbox': 0, 'cold-worker': 0, warm: 14 },
        clientMs: { n: 4, p50: 2, p90: 4, p99: 4 },
        handlerMs: { n: 4, p50: 0.2 },
        platformMs: { n: 4, p50: 0.5 },
      },
    });
    expect(w?.problems).toEqual(['#5 FAILED: E: boom', '#6 SUCCEEDED: $.n: expected 1, got 2', '#7 ERROR: MF_APP_NOT_FOUND: x']);
    expect(other).toMatchObject({ workload: 'other', executions: 1, first: { clientMs: 7 }, warm: { clientMs: { n: 0 } } });
    expect(countTemperatures([])).toEqual({ 'cold-sandbox': 0, 'cold-worker': 0, warm: 0, unknown: 0 });
    expect(latency([])).toEqual({ n: 0, p50: NaN, p90: NaN, p99: NaN });
  });
});
