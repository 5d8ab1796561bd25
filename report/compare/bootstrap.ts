/**
 * A seeded percentile bootstrap of the ratio of two medians (new / baseline): both samples are resampled with
 * replacement, independently, `resamples` times; the interval is the nearest-rank (α/2, 1 − α/2) quantiles of the
 * resampled ratios (Efron & Tibshirani, "An Introduction to the Bootstrap", 1993, ch. 13). docs/statistics.md says
 * why this method and not a rank test.
 */
import { seededRng, type Rng } from '../stats/random.js';

/** The k-th smallest (0-based) of a[0..n), rearranging a (Hoare's quickselect, median-of-three pivot). */
export function selectInPlace(a: Float64Array, k: number, n = a.length): number {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median of three as the pivot
    const x = a[lo] as number;
    const y = a[mid] as number;
    const z = a[hi] as number;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k] as number;
  }
  return a[k] as number;
}

/** The median of a[0..n) (mean of the two middle values for even n), rearranging a. */
export function medianInPlace(a: Float64Array, n = a.length): number {
  const upper = selectInPlace(a, n >>> 1, n);
  if (n % 2 === 1) return upper;
  // the lower middle is the largest value left of the upper middle after selection
  let lower = -Infinity;
  for (let i = 0; i < n >>> 1; i++) if ((a[i] as number) > lower) lower = a[i] as number;
  return (lower + upper) / 2;
}

function resampleMedian(xs: readonly number[], buf: Float64Array, rng: Rng): number {
  const n = xs.length;
  for (let i = 0; i < n; i++) buf[i] = xs[Math.floor(rng() * n)] as number;
  return medianInPlace(buf, n);
}

export interface RatioInterval {
  /** median(candidate) / median(baseline) of the samples themselves. */
  ratio: number;
  lower: number;
  upper: number;
  level: number;
  resamples: number;
}

/**
 * The bootstrap interval of median(candidate)/median(baseline). Returns null when the ratio is undefined (a
 * baseline median, of the samples or of a resample, that is <= 0).
 */
export function bootstrapMedianRatio(
  baseline: readonly number[],
  candidate: readonly number[],
  opts: { level: number; resamples: number; seed: number },
): RatioInterval | null {
  const { level, resamples, seed } = opts;
  if (baseline.length === 0 || candidate.length === 0) return null;
  if (!Number.isInteger(resamples) || resamples < 100) throw new RangeError(`resamples must be an integer >= 100, got ${resamples}`);
  const b = Float64Array.from(baseline);
  const c = Float64Array.from(candidate);
  const medB = medianInPlace(b);
  const medC = medianInPlace(c);
  if (!(medB > 0)) return null;
  const rng = seededRng(seed);
  const bufB = new Float64Array(baseline.length);
  const bufC = new Float64Array(candidate.length);
  const ratios = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    const mb = resampleMedian(baseline, bufB, rng);
    const mc = resampleMedian(candidate, bufC, rng);
    if (!(mb > 0)) return null;
    ratios[r] = mc / mb;
  }
  ratios.sort();
  const alpha = 1 - level;
  const lowRank = Math.max(1, Math.ceil((alpha / 2) * resamples - 1e-9));
  const highRank = Math.min(resamples, Math.ceil((1 - alpha / 2) * resamples - 1e-9));
  return { ratio: medC / medB, lower: ratios[lowRank - 1] as number, upper: ratios[highRank - 1] as number, level, resamples };
}
