import { describe, expect, it } from 'vitest';
import { judgeAb, type Trial } from './ab.js';
import { hopsOf } from './side.js';

/** A block whose samples are all `ms` (1-Task), `10 * ms` (10-Task) and `hop` (each hop). */
function block(round: number, b: number, side: 'a' | 'b', position: number, ms: number, hop: number): Trial {
  return {
    round,
    block: b,
    side,
    position,
    cpu: 0,
    startedAt: '2026-12-03T00:00:00.000Z',
    durationMs: 1,
    loadAvg1: 1,
    samples: { chain1: [ms, ms], chain10: [10 * ms, 10 * ms], hops: Array(9).fill(hop) as number[] },
  };
}

describe('judgeAb', () => {
  it('pools each round\'s blocks per side and judges the rounds as pairs', () => {
    const trials: Trial[] = [];
    for (let round = 0; round < 6; round++) {
      const load = 1 + round; // the machine's load changes between rounds, alike for both sides
      for (let b = 0; b < 2; b++) {
        trials.push(block(round, b, 'a', (round + b) % 2, load, 0.4 * load));
        trials.push(block(round, b, 'b', (round + b + 1) % 2, load, 0.5 * load));
      }
    }
    const r = judgeAb('hop', trials, { threshold: 0.05 });
    expect(r).toMatchObject({ rounds: 6, blocks: 12, aFirst: 6, regressions: 1, pass: false });
    const hop = r.metrics.find((m) => m.metric === 'hop_p10_ms')!;
    expect(hop.comparison.verdict).toBe('slower');
    expect(hop.comparison.ratio).toBeCloseTo(1.25, 12);
    expect(hop.a).toEqual([0.4, 0.8, 1.2, 1.6, 2, 2.4].map((x) => expect.closeTo(x, 12)));
    const e2e = r.metrics.find((m) => m.metric === 'warm_e2e_p10_ms')!;
    expect(e2e.comparison).toMatchObject({ verdict: 'same', ratio: 1 });
    expect(r.metrics.find((m) => m.metric === 'hop_ms')!.a[0]).toBeCloseTo(1, 12); // (10 - 1) / 9
  });

  it('refuses a round that lacks one side', () => {
    expect(() => judgeAb('hop', [block(0, 0, 'a', 0, 1, 1)])).toThrow(/lacks the blocks of side B/);
  });
});

describe('hopsOf', () => {
  const step = (queued: number, handlerStart: number, handlerEnd: number, published: number) => ({ t: { queued, handlerStart, handlerEnd, published } });

  it('takes the mean hop: first handler start to last handler end, less the handlers, over the hops, in any order', () => {
    // Handlers 0.4 + 0.1 + 0.3 ms; 0.2-0.6 then 1.3-1.4 then 10.2-10.5: hops of 0.7 and 8.8 ms.
    expect(hopsOf([step(10, 10.2, 10.5, 10.7), step(0, 0.2, 0.6, 1), step(1, 1.3, 1.4, 1.6)])).toEqual([expect.closeTo((10.5 - 0.2 - 0.8) / 2, 12)]);
  });

  it('counts a handed-over hop by its handlers, not by when the agent learned of the result', () => {
    // Worker to worker: the second handler starts before the first result is published to the agent.
    expect(hopsOf([step(0, 0.1, 1.1, 1.5), step(1.1, 1.2, 2.2, 2.3)])).toEqual([expect.closeTo(0.1, 12)]);
  });

  it('gives none for a single step', () => {
    expect(hopsOf([step(0, 0.1, 1, 1.2)])).toEqual([]);
  });
});
