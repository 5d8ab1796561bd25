/**
 * Reproducible by construction (docs/statistics.md#reproducible): the same reduced experiment measured twice must
 * be judged "same". The headline series is the warm latency of a 1-Task noop chain on the process backend, grouped:
 * two embedded platforms of this checkout (A and B, each in a process of its own) measured in 16 rounds of 15 warm
 * executions a side, alternating execution by execution in a seeded random order, and judged by the paired gate
 * (report/compare/paired.ts, the one `mfbench ab` uses) at the stored-run gate's 10% threshold.
 *
 * Why rounds and not two stored runs through `mfbench compare`: on this shared 2-core machine at load average 15-20,
 * two quick chain-length runs side by side gave "faster" (length 1: whole interval below 0.9), and four runs
 * interleaved A B B A and pooled per side gave "slower" (ratios 1.5-2.3 on three of four lengths). The stored-run
 * gate's bootstrap treats a run's samples as independent; the load's swings between minutes are not, and only a
 * per-round pairing removes them. The test is that pairing, in under a minute and without building commits.
 */
import { describe, expect, it } from 'vitest';
import { MicroFunctionsAdapter } from '../dist/harness/microfunctions/index.js';
import { comparePaired } from '../dist/report/compare/paired.js';
import { seededRng } from '../dist/report/stats/random.js';
import { getWorkload } from '../dist/workloads/index.js';

const ROUNDS = 16;
const BLOCK = 15;
const WARMUP = 20;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

describe('reproducible: the same reduced experiment twice is judged "same"', () => {
  it('A/A: warm 1-Task noop chain latency, two platforms of this checkout, 16 interleaved rounds, paired verdict "same"', { timeout: 240_000 }, async () => {
    const sides = await Promise.all([MicroFunctionsAdapter.create({ cpus: 'shared' }), MicroFunctionsAdapter.create({ cpus: 'shared' })]);
    try {
      const workload = getWorkload('noop-chain');
      const deployments = await Promise.all(sides.map((a) => a.deploy(workload, { length: 1 }, { name: 'reproducible' })));
      const input = workload.generateInput('small', 1);
      const once = async (side: number): Promise<number> => {
        const call = await sides[side]!.execute(deployments[side]!, input);
        expect(call.outcome).toEqual({ state: 'ok' });
        return call.client.receive - call.client.actualSend;
      };
      for (let i = 0; i < WARMUP; i++) for (const side of [0, 1]) await once(side); // cold sandbox and worker first: left out
      const rng = seededRng(18);
      const pairs: { a: number; b: number }[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Within a round the sides alternate execution by execution, in a random order each time, so that both
        // meet the machine at the same moments; the round's medians are one pair.
        const samples: [number[], number[]] = [[], []];
        for (let i = 0; i < BLOCK; i++) for (const side of rng() < 0.5 ? [0, 1] : [1, 0]) samples[side]!.push(await once(side));
        pairs.push({ a: median(samples[0]), b: median(samples[1]) });
      }
      const verdict = comparePaired(pairs, { threshold: 0.1 });
      // For the CI log: what the gate saw on that machine that day.
      console.info(`A/A warm 1-Task chain: ratio ${verdict.ratio?.toFixed(3)} [${verdict.ci?.lower.toFixed(3)}, ${verdict.ci?.upper.toFixed(3)}] ${verdict.verdict} (${verdict.note})`);
      expect(verdict.rounds).toBe(ROUNDS);
      expect(verdict.ci).not.toBeNull(); // judged, not "insufficient data"
      expect(verdict.verdict, verdict.note).toBe('same');
      expect(verdict.regression).toBe(false);
    } finally {
      await Promise.all(sides.map((a) => a.close()));
    }
  });
});
