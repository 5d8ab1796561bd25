/**
 * Per-time-window summaries (the spiky experiment): count, failures and latency percentiles per window of a
 * configurable width, over the whole time span, including empty windows so that a chart's time axis has no holes.
 * Percentiles per window are exact (nearest rank) from the window's raw samples. To summarize coarser windows, go
 * back to the samples (or merge per-window histograms): never average per-window percentiles.
 */
import { exactPercentiles } from './percentiles.js';
import type { LabelledSample } from './summary.js';

export interface TimedSample extends LabelledSample {
  /** When the sample belongs: epoch ms (for client latency, the request's intended send time). */
  t: number;
}

export interface WindowSummary {
  /** Window start and end (end exclusive), epoch ms. */
  start: number;
  end: number;
  /** Offset of the window start from t0, ms. */
  offsetMs: number;
  /** All non-warm-up samples in the window, ok or not. */
  count: number;
  ok: number;
  errors: number;
  warmup: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

export interface WindowOptions {
  windowMs: number;
  /** Start of the first window (default: the earliest sample's t). */
  t0?: number;
  /** End of the span (the last window is the one containing t1 - ε; default: the window of the latest sample). */
  t1?: number;
}

export function windowSummaries(samples: readonly TimedSample[], opts: WindowOptions): WindowSummary[] {
  const { windowMs } = opts;
  if (!(windowMs > 0) || !Number.isFinite(windowMs)) throw new RangeError(`windowMs must be a positive number, got ${windowMs}`);
  if (samples.length === 0 && (opts.t0 === undefined || opts.t1 === undefined)) return [];
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of samples) {
    if (!Number.isFinite(s.t)) throw new RangeError(`a timed sample needs a finite t, got ${s.t}`);
    if (s.t < lo) lo = s.t;
    if (s.t > hi) hi = s.t;
  }
  const t0 = opts.t0 ?? lo;
  const count = Math.max(1, opts.t1 !== undefined ? Math.ceil((opts.t1 - t0) / windowMs) : Math.floor((hi - t0) / windowMs) + 1);
  const buckets = Array.from({ length: count }, () => ({ values: [] as number[], count: 0, errors: 0, warmup: 0 }));
  for (const s of samples) {
    const i = Math.floor((s.t - t0) / windowMs);
    const b = buckets[i];
    if (b === undefined) continue; // outside [t0, t1): the caller chose the span
    if (s.warmup === true) {
      b.warmup++;
      continue;
    }
    b.count++;
    if (s.outcome !== 'ok') b.errors++;
    else if (typeof s.value === 'number' && Number.isFinite(s.value)) b.values.push(s.value);
    else throw new RangeError(`an ok sample must have a finite value, got ${String(s.value)}`);
  }
  return buckets.map((b, i) => {
    const ps = b.values.length > 0 ? exactPercentiles(b.values, [50, 90, 99, 100] as const) : null;
    const start = t0 + i * windowMs;
    return {
      start,
      end: start + windowMs,
      offsetMs: i * windowMs,
      count: b.count,
      ok: b.values.length,
      errors: b.errors,
      warmup: b.warmup,
      p50: ps?.[50] ?? null,
      p90: ps?.[90] ?? null,
      p99: ps?.[99] ?? null,
      max: ps?.[100] ?? null,
    };
  });
}
