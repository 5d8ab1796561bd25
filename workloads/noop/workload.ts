/** noop: one function that returns at once. The floor of one invocation (microbenchmark). */
import { checkKnownParams, sizeOf } from '../params.js';
import { seededRandom } from '../random.js';
import { asObject, singleTaskApp } from '../single-task.js';
import type { Workload, WorkloadParams } from '../types.js';

export interface NoopInput {
  n: number;
}

const SIZES = { small: { description: 'an event of one number' } } as const;

export const noop: Workload<NoopInput, { ok: true; n: number }> = {
  name: 'noop',
  description: 'One function that returns at once: the floor of one invocation.',
  sizes: SIZES,
  params: {},
  workflow: 'main',
  app(params: WorkloadParams = {}) {
    checkKnownParams('noop', params, []);
    return singleTaskApp('noop', 'noop');
  },
  generateInput(size: string, seed: number): NoopInput {
    sizeOf('noop', SIZES, size);
    return { n: Math.floor(seededRandom(seed)() * 1_000_000) };
  },
  validateOutput(input: NoopInput, output: unknown) {
    const o = asObject(output);
    if (typeof o === 'string') return { ok: false, reason: o };
    if (o.ok !== true) return { ok: false, reason: `ok is ${JSON.stringify(o.ok)}, expected true` };
    if (o.n !== input.n) return { ok: false, reason: `n is ${JSON.stringify(o.n)}, expected ${input.n} (the input's)` };
    return { ok: true };
  },
};
