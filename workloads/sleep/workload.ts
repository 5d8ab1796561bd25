/** sleep: one function that waits `ms` milliseconds on a timer (no CPU). Idle time a platform must not add to. */
import { checkKnownParams, sizeOf } from '../params.js';
import { seededRandom } from '../random.js';
import { asObject, singleTaskApp } from '../single-task.js';
import type { Workload, WorkloadParams } from '../types.js';

export interface SleepInput {
  ms: number;
  /** Seeded, only so that inputs of different seeds differ. */
  n: number;
}

const SIZES = { small: { ms: 10 }, medium: { ms: 100 }, large: { ms: 1000 } } as const;

export const sleep: Workload<SleepInput, { ms: number; sleptMs: number }> = {
  name: 'sleep',
  description: 'One function that sleeps event.ms milliseconds on a timer (idle, not CPU).',
  sizes: SIZES,
  params: {},
  workflow: 'main',
  app(params: WorkloadParams = {}) {
    checkKnownParams('sleep', params, []);
    return singleTaskApp('sleep', 'sleep');
  },
  generateInput(size: string, seed: number): SleepInput {
    const { ms } = sizeOf('sleep', SIZES, size);
    return { ms, n: Math.floor(seededRandom(seed)() * 1_000_000) };
  },
  validateOutput(input: SleepInput, output: unknown) {
    const o = asObject(output);
    if (typeof o === 'string') return { ok: false, reason: o };
    if (o.ms !== input.ms) return { ok: false, reason: `ms is ${JSON.stringify(o.ms)}, expected ${input.ms}` };
    // Node timers may fire up to ~1 ms early relative to performance.now().
    if (typeof o.sleptMs !== 'number' || o.sleptMs < input.ms - 1) return { ok: false, reason: `sleptMs is ${JSON.stringify(o.sleptMs)}, expected at least ${input.ms - 1}` };
    return { ok: true };
  },
};
