/**
 * spiky: one short function of about 100 ms of real work (image renditions with sharp), to be driven by the spike
 * schedules in ./schedules (see schedules.ts for the formats and docs/workloads.md for their provenance).
 */
import { checkKnownParams, sizeOf } from '../params.js';
import { seededRandom } from '../random.js';
import { asObject, singleTaskApp } from '../single-task.js';
import type { Validation, Workload, WorkloadParams } from '../types.js';

export interface SpikyInput {
  width: number;
  seed: number;
}

/** medium is the ~100 ms of the issue (measured warm on the process backend: ~100 ms; small ~50 ms, large ~150 ms). */
const SIZES = { small: { width: 400 }, medium: { width: 1100 }, large: { width: 1600 } } as const;

export const spiky: Workload<SpikyInput, { renditions: Array<{ width: number; height: number; bytes: number; sha256: string }> }> = {
  name: 'spiky',
  description: 'A ~100 ms image-rendition function for spike schedules (NFV paper, BeFaaS, cold-to-spike, Azure 2019 slice).',
  sizes: SIZES,
  params: {},
  workflow: 'main',
  app(params: WorkloadParams = {}) {
    checkKnownParams('spiky', params, []);
    return singleTaskApp('spiky', 'resize', { memoryMB: 512 });
  },
  generateInput(size: string, seed: number): SpikyInput {
    const { width } = sizeOf('spiky', SIZES, size);
    return { width, seed: Math.floor(seededRandom(seed)() * 1_000_000) };
  },
  validateOutput(input: SpikyInput, output: unknown): Validation {
    const o = asObject(output);
    if (typeof o === 'string') return { ok: false, reason: o };
    const r = o.renditions;
    if (!Array.isArray(r) || r.length !== 4) return { ok: false, reason: `expected 4 renditions, got ${JSON.stringify(r)?.slice(0, 80)}` };
    const widths = [input.width, Math.round((input.width * 3) / 4), Math.round(input.width / 2), Math.round(input.width / 4)];
    for (const [k, w] of widths.entries()) {
      const x = r[k] as { width?: unknown; height?: unknown; bytes?: unknown; sha256?: unknown };
      // The crops are 2000x1332, so a rendition of width w is round(w * 1332 / 2000) high (sharp rounds, +-1).
      if (x.width !== w || typeof x.height !== 'number' || Math.abs(x.height - (w * 1332) / 2000) > 1) return { ok: false, reason: `rendition ${k} is ${x.width}x${x.height}, expected ${w}x${Math.round((w * 1332) / 2000)}` };
      if (typeof x.bytes !== 'number' || x.bytes < 100 || typeof x.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(x.sha256)) return { ok: false, reason: `rendition ${k} has no JPEG size or hash` };
    }
    return { ok: true };
  },
};
