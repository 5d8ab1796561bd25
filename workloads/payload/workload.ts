/** payload: one function that echoes a payload of a given size (1 KiB to 4 MiB): the cost of moving bytes. */
import { createHash } from 'node:crypto';
import { checkKnownParams, sizeOf } from '../params.js';
import { randomString, seededRandom } from '../random.js';
import { asObject, singleTaskApp } from '../single-task.js';
import type { Workload, WorkloadParams } from '../types.js';

export interface PayloadInput {
  payload: string;
}

/** Bytes of the payload string (ASCII, so characters = bytes). 4 MiB stays under the default maxBodyBytes (6 MiB). */
const SIZES = {
  small: { payloadBytes: 1024 },
  medium: { payloadBytes: 64 * 1024 },
  large: { payloadBytes: 1024 * 1024 },
  xlarge: { payloadBytes: 4 * 1024 * 1024 },
} as const;

export const payload: Workload<PayloadInput, { payload: string; bytes: number; sha256: string }> = {
  name: 'payload',
  description: 'One function that echoes a payload of 1 KiB to 4 MiB with its length and SHA-256.',
  sizes: SIZES,
  params: {},
  workflow: 'main',
  app(params: WorkloadParams = {}) {
    checkKnownParams('payload', params, []);
    return singleTaskApp('payload', 'payload', { memoryMB: 512 });
  },
  generateInput(size: string, seed: number): PayloadInput {
    const { payloadBytes } = sizeOf('payload', SIZES, size);
    return { payload: randomString(seededRandom(seed), payloadBytes) };
  },
  validateOutput(input: PayloadInput, output: unknown) {
    const o = asObject(output);
    if (typeof o === 'string') return { ok: false, reason: o };
    const bytes = Buffer.byteLength(input.payload);
    if (o.bytes !== bytes) return { ok: false, reason: `bytes is ${JSON.stringify(o.bytes)}, expected ${bytes}` };
    const sha = createHash('sha256').update(input.payload).digest('hex');
    if (o.sha256 !== sha) return { ok: false, reason: `sha256 the function computed is ${JSON.stringify(o.sha256)}, expected ${sha}` };
    if (o.payload !== input.payload) return { ok: false, reason: 'the echoed payload differs from the input' };
    return { ok: true };
  },
};
