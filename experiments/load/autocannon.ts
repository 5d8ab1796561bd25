/**
 * Closed-loop and fixed-rate HTTP load with autocannon's programmatic API, returning autocannon's own result and
 * every response's latency as a raw sample (from the instance's 'response' events), so statistics can be computed
 * from samples rather than read off autocannon's summary.
 *
 * Caveat, stated in docs/load.md: autocannon is closed-loop per connection. `overallRate` is a per-connection quota
 * per second, spent back to back (bursts at each second, not even spacing), and a connection waits for its answer
 * before its next request, so a slow server lowers the offered load. Its
 * result histogram corrects for that (HdrHistogram's expected-interval correction); the raw samples here do not.
 * For latency under a given arrival rate, use `runOpenLoop`.
 */
import autocannon from 'autocannon';
import { now } from '../../platform/clock.js';

export interface AutocannonSample {
  /** Response time reported by autocannon (request written to response complete), ms. */
  latencyMs: number;
  statusCode: number;
  bytes: number;
  /** When the response completed, epoch ms (platform/clock.ts). */
  at: number;
}

export interface AutocannonRun {
  result: autocannon.Result;
  samples: AutocannonSample[];
  /** Request errors (connection refused, reset, timeout...), with when they happened. */
  errors: { at: number; error: string }[];
}

export type AutocannonOptions = Omit<autocannon.Options, 'workers'>;

/** Runs autocannon with `options` and collects raw per-response samples. */
export function runAutocannon(options: AutocannonOptions): Promise<AutocannonRun> {
  if ((options as { workers?: unknown }).workers !== undefined) {
    // With worker threads the 'response' events stay in the workers: the raw samples would be missing.
    throw new RangeError('runAutocannon does not support autocannon workers: per-request samples would be lost');
  }
  const samples: AutocannonSample[] = [];
  const errors: AutocannonRun['errors'] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (err: unknown, result: autocannon.Result) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve({ result, samples, errors });
    });
    instance.on('response', (_client, statusCode, resBytes, responseTime) => {
      samples.push({ latencyMs: responseTime, statusCode, bytes: resBytes, at: now() });
    });
    instance.on('reqError', (err: unknown) => {
      errors.push({ at: now(), error: err instanceof Error ? err.message : String(err) });
    });
  });
}

export interface ClosedLoopOptions extends Omit<AutocannonOptions, 'overallRate' | 'connectionRate'> {
  /** Concurrent connections, each sending its next request as soon as the previous one is answered. */
  connections: number;
}

/** Closed-loop load: `connections` clients back to back, for `duration` seconds or `amount` requests. */
export function closedLoop(options: ClosedLoopOptions): Promise<AutocannonRun> {
  return runAutocannon(options);
}

export interface FixedRateOptions extends Omit<AutocannonOptions, 'overallRate' | 'connectionRate'> {
  /** Requests per second over all connections (autocannon's overallRate). */
  ratePerSec: number;
}

/** Fixed-rate load paced by autocannon (see the closed-loop caveat in this file's header). */
export function fixedRate(options: FixedRateOptions): Promise<AutocannonRun> {
  const { ratePerSec, ...rest } = options;
  if (!(ratePerSec > 0)) throw new RangeError(`ratePerSec must be positive, got ${ratePerSec}`);
  return runAutocannon({ ...rest, overallRate: ratePerSec });
}
