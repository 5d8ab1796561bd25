/** The epoch origin (platform/clock.ts): a `performance.timeOrigin` that strays from the wall clock is not used. */
import { describe, expect, test } from 'vitest';
import { performance } from 'node:perf_hooks';
import { epochOrigin, now, ORIGIN_TOLERANCE_MS } from './clock.js';

describe('epochOrigin', () => {
  test('a timeOrigin that agrees with the wall clock is kept as it is', () => {
    expect(epochOrigin(performance.timeOrigin)).toBe(performance.timeOrigin);
  });

  test('a timeOrigin 90 ms off (as seen in a worker on a loaded machine) is replaced by the wall clock origin', () => {
    const wall = Date.now() - performance.now();
    const origin = epochOrigin(performance.timeOrigin + 90);
    // Taken when Date.now() ticks: within a millisecond of the wall clock's origin, not 90 ms off.
    expect(Math.abs(origin - wall)).toBeLessThan(1 + ORIGIN_TOLERANCE_MS);
    expect(Math.abs(origin - (performance.timeOrigin + 90))).toBeGreaterThan(80);
  });

  test('the replacement is read at a tick of a simulated wall clock, so its truncation is gone', () => {
    // A wall clock whose origin is 1000: it reads 1000 until performance time 1.0; each reading of either clock takes 0.05 ms.
    let perf = 0.7;
    const perfNow = () => (perf += 0.05);
    const dateNow = () => Math.floor(1000 + (perf += 0.05));
    const origin = epochOrigin(5000, dateNow, perfNow);
    // Date.now() - performance.now() at the start would be up to 1 ms short; at the tick, one step of the clocks.
    expect(Math.abs(origin - 1000)).toBeLessThan(0.2);
  });

  test('now() is the wall clock to within the tolerance', () => {
    expect(Math.abs(now() - Date.now())).toBeLessThan(1 + ORIGIN_TOLERANCE_MS);
  });
});
