/**
 * One time base for every timestamp the platform records: milliseconds since the Unix epoch, with the
 * sub-millisecond resolution of the monotonic clock. Processes on one host share the epoch base to within a
 * millisecond (docs/records.md says how that bounds cross-process differences).
 */
import { performance } from 'node:perf_hooks';

/** How far `performance.timeOrigin` may stray from the wall clock before it is not trusted (ms). */
export const ORIGIN_TOLERANCE_MS = 2;

/**
 * The epoch time of `performance.now()`'s zero. Node's `performance.timeOrigin` was seen off by about 90 ms in a
 * worker forked on a loaded machine (its stamps came after the stamps its sandbox agent took later), which turned a
 * sub-millisecond hop into 91 ms. So it is checked against the wall clock, and where it strays by more than
 * ORIGIN_TOLERANCE_MS the origin is taken from the wall clock instead, at the moment `Date.now()` ticks to its next
 * millisecond (a wait of at most 1 ms, once, and only in such a process), so that its truncation costs nothing.
 */
export function epochOrigin(timeOrigin: number, dateNow: () => number = Date.now, perfNow: () => number = () => performance.now()): number {
  const coarse = dateNow() - perfNow();
  // The wall clock truncates to whole ms: a true origin lies in [coarse, coarse + 1).
  if (timeOrigin >= coarse - ORIGIN_TOLERANCE_MS && timeOrigin <= coarse + 1 + ORIGIN_TOLERANCE_MS) return timeOrigin;
  const start = dateNow();
  let tick = start;
  for (let spins = 0; tick === start && spins < 10_000_000; spins++) tick = dateNow();
  return tick - perfNow();
}

const origin = epochOrigin(performance.timeOrigin);

/** Epoch milliseconds, high resolution. */
export function now(): number {
  return origin + performance.now();
}
