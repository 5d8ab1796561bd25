/** The sandbox's history shelf: bounded by count and bytes, oldest dropped first, a drop visible, raw payloads measured unparsed. */
import { describe, expect, it } from 'vitest';
import { RawJson } from '../../asl/raw-json.js';
import { HistoryShelf } from './history.js';

class CountingRaw extends RawJson {
  reads = 0;
  override get value(): unknown {
    this.reads++;
    return super.value;
  }
}

function run(shelf: HistoryShelf, id: string, payload: unknown): void {
  const events = shelf.start(id);
  events.push({ t: 1, type: 'ExecutionStarted', input: payload });
  events.push({ t: 2, type: 'ExecutionSucceeded', output: payload });
  shelf.finish(id);
}

describe('HistoryShelf', () => {
  it('answers a running execution with its events so far, and a finished one with all of them', () => {
    const shelf = new HistoryShelf({ maxExecutions: 10, maxBytes: 1 << 20 });
    const events = shelf.start('a');
    events.push({ t: 1, type: 'ExecutionStarted', input: { x: 1 } });
    expect(JSON.parse((shelf.get('a') as { json: string }).json)).toEqual([{ t: 1, type: 'ExecutionStarted', input: { x: 1 } }]);
    shelf.finish('a');
    expect(shelf.get('a').kind).toBe('events');
    expect(shelf.get('never')).toEqual({ kind: 'unknown' });
  });

  it('beyond maxExecutions the oldest is dropped, and asking for it says evicted', () => {
    const shelf = new HistoryShelf({ maxExecutions: 2, maxBytes: 1 << 20 });
    for (const id of ['a', 'b', 'c']) run(shelf, id, { id });
    expect(shelf.get('a')).toEqual({ kind: 'evicted', evicted: 1 });
    expect(shelf.get('b').kind).toBe('events');
    expect(shelf.get('c').kind).toBe('events');
  });

  it('beyond maxBytes the oldest go first; a raw payload counts its bytes and is not parsed to be measured', () => {
    const shelf = new HistoryShelf({ maxExecutions: 100, maxBytes: 2500 });
    const raws = ['a', 'b', 'c'].map((id) => new CountingRaw(Buffer.from(JSON.stringify({ id, pad: 'x'.repeat(500) }))));
    ['a', 'b', 'c'].forEach((id, i) => run(shelf, id, raws[i]));
    expect(raws.every((r) => r.reads === 0)).toBe(true);
    expect(shelf.bytesKept).toBeLessThanOrEqual(2500);
    expect(shelf.bytesKept).toBeGreaterThan(2000); // two histories of two ~520-byte payloads each
    expect(shelf.get('a')).toEqual({ kind: 'evicted', evicted: 1 });
    // Serialised when asked: then the raw payload is read, and it is the value it was.
    const c = JSON.parse((shelf.get('c') as { json: string }).json) as Array<{ output: unknown }>;
    expect(c[1]!.output).toEqual({ id: 'c', pad: 'x'.repeat(500) });
  });

  it('a history larger than the whole bound is not kept, and says so', () => {
    const shelf = new HistoryShelf({ maxExecutions: 100, maxBytes: 100 });
    run(shelf, 'big', { pad: 'x'.repeat(1000) });
    expect(shelf.get('big')).toEqual({ kind: 'evicted', evicted: 1 });
  });
});
