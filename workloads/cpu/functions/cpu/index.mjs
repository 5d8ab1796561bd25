// cpu: a fixed amount of CPU work, a chain of SHA-256 hashes: h0 = seed, h(i+1) = sha256(h(i)).
// The chain cannot be skipped or parallelised, and its final digest proves the work was done.
import { createHash } from 'node:crypto';

export const handler = async (event) => {
  const iterations = Number(event?.iterations);
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 100_000_000) {
    throw Object.assign(new Error(`cpu: "iterations" must be an integer from 1 to 1e8, got ${JSON.stringify(event?.iterations)}`), { name: 'InvalidInput' });
  }
  const start = performance.now();
  let h = Buffer.from(String(event.seed ?? ''), 'utf8');
  for (let i = 0; i < iterations; i++) h = createHash('sha256').update(h).digest();
  return { iterations, digest: h.toString('hex'), computeMs: performance.now() - start };
};
