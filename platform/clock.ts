/**
 * One time base for every timestamp the platform records: milliseconds since the Unix epoch, with the
 * sub-millisecond resolution of the monotonic clock. Processes on one host share the epoch base to within the
 * precision of their start-up clock reading (docs/records.md says how that bounds cross-process differences).
 */
import { performance } from 'node:perf_hooks';

const origin = performance.timeOrigin;

/** Epoch milliseconds, high resolution. */
export function now(): number {
  return origin + performance.now();
}
