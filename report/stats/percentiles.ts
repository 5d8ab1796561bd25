/**
 * Percentiles, two ways (docs/conventions.md#10: merge histograms, never average percentiles):
 * - exact, from raw samples: the nearest-rank definition, x_(⌈p/100 · n⌉), always an observed value;
 * - from HdrHistograms (hdr-histogram-js), for samples kept per worker or per time window as histograms: merge the
 *   histograms, then read the percentile. Values are recorded as integer microseconds with 3 significant digits,
 *   so a histogram percentile is within 0.1% (relative) of the nearest-rank value of the same samples.
 * Percentiles are given as numbers in (0, 100]: 50 is the median, 99 is p99.
 */
import * as hdr from 'hdr-histogram-js';

function checkP(p: number): void {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
}

/** The nearest-rank percentile of unsorted samples; NaN for an empty sample. */
export function exactPercentile(xs: readonly number[], p: number): number {
  checkP(p);
  if (xs.length === 0) return NaN;
  return percentileOfSorted([...xs].sort((a, b) => a - b), p);
}

/** The nearest-rank percentile of samples already sorted ascending. */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  checkP(p);
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * n - 1e-9)); // the epsilon keeps 0.99 * 100 = 98.99999 from moving up a rank
  return sorted[Math.min(n, rank) - 1] as number;
}

/** Several nearest-rank percentiles at once (one sort). */
export function exactPercentiles<P extends number>(xs: readonly number[], ps: readonly P[]): Record<P, number> {
  const sorted = [...xs].sort((a, b) => a - b);
  const out = {} as Record<P, number>;
  for (const p of ps) out[p] = percentileOfSorted(sorted, p);
  return out;
}

/** Units recorded per millisecond: microseconds. */
const UNITS_PER_MS = 1000;

/**
 * A histogram of millisecond values (latencies, lags), recorded as integer microseconds. Merge per-worker or
 * per-window histograms with `mergeHistograms`; store them with `toBase64` / `fromBase64`.
 */
export class MsHistogram {
  readonly hist: hdr.Histogram;

  constructor(hist?: hdr.Histogram) {
    this.hist = hist ?? hdr.build({ bitBucketSize: 64, numberOfSignificantValueDigits: 3, autoResize: true, lowestDiscernibleValue: 1 });
  }

  /** Records one value in milliseconds (>= 0). */
  record(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`a histogram records finite values >= 0, got ${ms}`);
    this.hist.recordValue(Math.round(ms * UNITS_PER_MS));
  }

  recordAll(values: Iterable<number>): this {
    for (const v of values) this.record(v);
    return this;
  }

  /** Adds another histogram's counts into this one. */
  add(other: MsHistogram): this {
    this.hist.add(other.hist);
    return this;
  }

  get count(): number {
    return this.hist.totalCount;
  }

  /** The p-th percentile in milliseconds (HdrHistogram's value at percentile); NaN when empty. */
  percentile(p: number): number {
    checkP(p);
    if (this.count === 0) return NaN;
    return this.hist.getValueAtPercentile(p) / UNITS_PER_MS;
  }

  get max(): number {
    return this.count === 0 ? NaN : this.hist.maxValue / UNITS_PER_MS;
  }

  get min(): number {
    return this.count === 0 ? NaN : this.hist.minNonZeroValue / UNITS_PER_MS;
  }

  /** The compressed base64 encoding (HdrHistogram's interchange format), to store beside raw records. */
  toBase64(): string {
    return hdr.encodeIntoCompressedBase64(this.hist);
  }

  static fromBase64(text: string): MsHistogram {
    return new MsHistogram(hdr.decodeFromCompressedBase64(text, 64, false));
  }
}

/** A new histogram holding the counts of all the given ones (the inputs are left unchanged). */
export function mergeHistograms(hists: Iterable<MsHistogram>): MsHistogram {
  const merged = new MsHistogram();
  for (const h of hists) merged.add(h);
  return merged;
}

/** A histogram of raw millisecond samples. */
export function histogramOf(values: Iterable<number>): MsHistogram {
  return new MsHistogram().recordAll(values);
}
