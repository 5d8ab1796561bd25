/**
 * cpu: one function that computes a chain of SHA-256 hashes of a fixed length. The validator recomputes the chain, so
 * a function that skipped the work cannot pass.
 */
import { createHash } from 'node:crypto';
import { checkKnownParams, sizeOf } from '../params.js';
import { randomString, seededRandom } from '../random.js';
import { asObject, singleTaskApp } from '../single-task.js';
import type { Workload, WorkloadParams } from '../types.js';

export interface CpuInput {
  iterations: number;
  seed: string;
}

const SIZES = { small: { iterations: 10_000 }, medium: { iterations: 100_000 }, large: { iterations: 300_000 } } as const;

/** The digest the function must return: sha256 applied `iterations` times to the UTF-8 bytes of `seed`. */
export function hashChain(seed: string, iterations: number): string {
  let h = Buffer.from(seed, 'utf8');
  for (let i = 0; i < iterations; i++) h = createHash('sha256').update(h).digest();
  return h.toString('hex');
}

export const cpu: Workload<CpuInput, { iterations: number; digest: string; computeMs: number }> = {
  name: 'cpu',
  description: 'One function that computes a fixed-length SHA-256 hash chain (CPU-bound).',
  sizes: SIZES,
  params: {},
  workflow: 'main',
  app(params: WorkloadParams = {}) {
    checkKnownParams('cpu', params, []);
    return singleTaskApp('cpu', 'cpu', { timeoutSeconds: 120 });
  },
  generateInput(size: string, seed: number): CpuInput {
    const { iterations } = sizeOf('cpu', SIZES, size);
    return { iterations, seed: randomString(seededRandom(seed), 16) };
  },
  validateOutput(input: CpuInput, output: unknown) {
    const o = asObject(output);
    if (typeof o === 'string') return { ok: false, reason: o };
    if (o.iterations !== input.iterations) return { ok: false, reason: `iterations is ${JSON.stringify(o.iterations)}, expected ${input.iterations}` };
    const expected = hashChain(input.seed, input.iterations);
    if (o.digest !== expected) return { ok: false, reason: `digest is ${JSON.stringify(o.digest)?.slice(0, 70)}, expected ${expected}` };
    return { ok: true };
  },
};
