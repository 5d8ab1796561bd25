/**
 * Seeded pseudo-random numbers, so that every schedule, sample and bootstrap can be regenerated bit for bit from
 * its seed. sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, from PractRand) seeded through splitmix32:
 * 32-bit state words, no bias visible at the sample sizes we draw, and identical on every platform because it only
 * uses 32-bit integer arithmetic (Math.imul, >>>).
 */

/** A seeded uniform generator: each call returns a float in [0, 1). */
export type Rng = () => number;

/** Checks that a seed is an integer a run manifest can record and replay exactly. */
export function assertSeed(seed: number): void {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
}

/** A generator for `seed` (any safe integer); the same seed always yields the same sequence. */
export function seededRng(seed: number): Rng {
  assertSeed(seed);
  // splitmix32 spreads the seed (including its high bits) over the four state words.
  let s = (seed ^ Math.floor(seed / 0x1_0000_0000)) >>> 0;
  const next = (): number => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = next();
  let b = next();
  let c = next();
  let d = next();
  const rng: Rng = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) rng(); // discard the first outputs, as sfc32's author recommends
  return rng;
}

/** An exponential variate with the given rate (mean 1/rate), by inversion. */
export function exponential(rng: Rng, rate: number): number {
  return -Math.log(1 - rng()) / rate;
}

/** An integer in [0, n). */
export function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}
