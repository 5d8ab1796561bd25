import { describe, expect, it } from 'vitest';
import { meanHopMs } from './hops.js';

const step = (handlerStart: number, handlerEnd: number, extra: object = {}) => ({ t: { queued: handlerStart - 0.1, workerReady: handlerStart - 0.1, handlerStart, handlerEnd, published: handlerEnd + 0.2 }, ...extra });

// Pinned on fixed records; test/hops.test.ts checks the definition on a real platform's records.
describe('meanHopMs', () => {
  it('takes first handler start to last handler end, less the handlers, over the hops, in any order', () => {
    // Handlers 0.4 + 0.1 + 0.3 ms; 0.2-0.6 then 1.3-1.4 then 10.2-10.5: hops of 0.7 and 8.8 ms.
    expect(meanHopMs([step(10.2, 10.5), step(0.2, 0.6), step(1.3, 1.4)])).toBeCloseTo((0.7 + 8.8) / 2, 12);
  });

  it('counts a handed-over hop by its handlers, not by when the agent learned of the result', () => {
    // Worker to worker: the second handler starts (1.2) before the first result reaches the agent (1.3).
    expect(meanHopMs([step(0.1, 1.1), step(1.2, 2.2, { handedOver: true })])).toBeCloseTo(0.1, 12);
  });

  it('gives none for a single step, a failed step, a retried step or a recovered run', () => {
    expect(meanHopMs([step(0.1, 1)])).toBeNull();
    expect(meanHopMs([])).toBeNull();
    expect(meanHopMs([step(0, 1), step(2, 3, { outcome: { state: 'crashed', error: 'MF_WORKER_EXITED', cause: 'x' } })])).toBeNull();
    expect(meanHopMs([step(0, 1), step(2, 3, { retry: 1 })])).toBeNull();
    expect(meanHopMs([step(0, 1, { attempt: 1 }), step(2, 3, { attempt: 1 })])).toBeNull();
    expect(meanHopMs([step(0, 1, { outcome: { state: 'ok' }, retry: 0 }), step(2, 3)])).toBe(1);
  });
});
