import { describe, expect, it } from 'vitest';
import { AB_BENCHMARKS, judgeAb, type Trial } from './ab.js';

/** A block whose samples are all `ms` (1-Task), `10 * ms` (10-Task) and `hop` (each hop); CPU 1 ms and 1 + 9 * cpuHop ms. */
function block(round: number, b: number, side: 'a' | 'b', position: number, ms: number, hop: number, cpuHop = 0.5): Trial {
  return {
    round,
    block: b,
    side,
    position,
    cpu: 0,
    startedAt: '2026-12-03T00:00:00.000Z',
    durationMs: 1,
    loadAvg1: 1,
    samples: { chain1: [ms, ms], chain10: [10 * ms, 10 * ms], hops: Array(9).fill(hop) as number[], cpu1: [1, 1], cpu10: [1 + 9 * cpuHop, 1 + 9 * cpuHop] },
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
    expect(r.metrics.find((m) => m.metric === 'client_hop_ms')!.a[0]).toBeCloseTo(1, 12); // (10 - 1) / 9
    const cpu = r.metrics.find((m) => m.metric === 'cpu_hop_ms')!;
    expect(cpu.a).toEqual(Array(6).fill(expect.closeTo(0.5, 12)));
    expect(cpu.comparison).toMatchObject({ verdict: 'same', ratio: 1 });
  });

  it('takes the CPU per hop as the difference of the mean CPU of 10-Task and 1-Task executions, over 9', () => {
    const trials: Trial[] = [];
    for (let round = 0; round < 5; round++) {
      trials.push({ ...block(round, 0, 'a', 0, 1, 1), samples: { chain1: [1], chain10: [10], hops: [1], cpu1: [1, 3], cpu10: [11, 29] } });
      trials.push({ ...block(round, 0, 'b', 1, 1, 1), samples: { chain1: [1], chain10: [10], hops: [1], cpu1: [2, 2], cpu10: [24.2, 24.2] } });
    }
    const cpu = judgeAb('hop', trials).metrics.find((m) => m.metric === 'cpu_hop_ms')!;
    expect(cpu.a[0]).toBeCloseTo((20 - 2) / 9, 12);
    expect(cpu.b[0]).toBeCloseTo((24.2 - 2) / 9, 12);
    expect(cpu.comparison.verdict).toBe('slower');
    expect(AB_BENCHMARKS.hop.primary).toBe('cpu_hop_ms');
  });

  it('gives no CPU verdict, rather than throwing, for trials recorded without CPU samples', () => {
    const trials: Trial[] = [];
    for (let round = 0; round < 5; round++) {
      for (const side of ['a', 'b'] as const) {
        const t = block(round, 0, side, side === 'a' ? 0 : 1, 1, 1);
        trials.push({ ...t, samples: { chain1: t.samples.chain1, chain10: t.samples.chain10, hops: t.samples.hops } as Trial['samples'] });
      }
    }
    const cpu = judgeAb('hop', trials).metrics.find((m) => m.metric === 'cpu_hop_ms')!;
    expect(cpu.comparison.verdict).toBe('insufficient data');
    expect(cpu.comparison.note).toMatch(/not finite/);
  });

  it('refuses a round that lacks one side', () => {
    expect(() => judgeAb('hop', [block(0, 0, 'a', 0, 1, 1)])).toThrow(/lacks the blocks of side B/);
  });
});
