/**
 * Confidence intervals (docs/conventions.md#10): Student-t for the mean, and Le Boudec's non-parametric order-statistic
 * interval for the median. Pure functions over plain numbers; docs/statistics.md gives the formulas and sources.
 */
import { mean as ssMean, median as ssMedian, sampleStandardDeviation } from 'simple-statistics';
import { binomialCdf, normalQuantile, studentTQuantile } from './distributions.js';

/** An interval, or the reason there is none (too few samples, a level outside the method's reach...). */
export type Interval =
  | { available: true; lower: number; upper: number; level: number; method: string }
  | { available: false; level: number; method: string; reason: string };

export interface Estimate {
  /** The point estimate (NaN for an empty sample). */
  value: number;
  n: number;
  ci: Interval;
}

export const DEFAULT_LEVEL = 0.95;

function checkLevel(level: number): void {
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${level}`);
}

function checkFinite(xs: readonly number[]): void {
  for (const x of xs) if (!Number.isFinite(x)) throw new RangeError(`samples must be finite numbers, got ${x}`);
}

/**
 * The sample mean with a Student-t confidence interval: mean ± t_{(1+level)/2, n-1} · s/√n, s the sample standard
 * deviation (n-1 denominator). Needs n >= 2. Assumes independent samples and a roughly normal sampling
 * distribution of the mean (the CLT makes that hold for moderate n unless the tail is very heavy; latency tails
 * often are, which is why the median is the primary statistic in this testbed).
 */
export function meanCI(xs: readonly number[], level = DEFAULT_LEVEL): Estimate {
  checkLevel(level);
  checkFinite(xs);
  const n = xs.length;
  const method = 'student-t';
  if (n === 0) return { value: NaN, n, ci: { available: false, level, method, reason: 'no samples' } };
  const m = ssMean(xs as number[]);
  if (n < 2) return { value: m, n, ci: { available: false, level, method, reason: 'n < 2: the standard deviation is undefined' } };
  const half = studentTQuantile((1 + level) / 2, n - 1) * (sampleStandardDeviation(xs as number[]) / Math.sqrt(n));
  return { value: m, n, ci: { available: true, lower: m - half, upper: m + half, level, method } };
}

/**
 * Le Boudec's Table A.1 ("Performance Evaluation of Computer and Communication Systems", EPFL Press 2010, Appendix A),
 * confidence level 0.95: for n = 6..70 the 1-based ranks [j, k] of the order statistics that bound the median.
 * Transcribed from the table as reproduced in the course's lecture notes (perfeval.epfl.ch); every entry's exact
 * binomial coverage is checked to be >= 0.95 in intervals.test.ts.
 */
export const LE_BOUDEC_TABLE_95: Readonly<Record<number, readonly [number, number]>> = Object.freeze({
  6: [1, 6], 7: [1, 7], 8: [1, 7], 9: [2, 8], 10: [2, 9], 11: [2, 10], 12: [3, 10], 13: [3, 11], 14: [3, 11],
  15: [4, 12], 16: [4, 12], 17: [5, 13], 18: [5, 14], 19: [5, 15], 20: [6, 15], 21: [6, 16], 22: [6, 16],
  23: [7, 17], 24: [7, 17], 25: [8, 18], 26: [8, 19], 27: [8, 20], 28: [9, 20], 29: [9, 21], 30: [10, 21],
  31: [10, 22], 32: [10, 22], 33: [11, 23], 34: [11, 23], 35: [12, 24], 36: [12, 24], 37: [13, 25], 38: [13, 26],
  39: [13, 27], 40: [14, 27], 41: [14, 28], 42: [15, 28], 43: [15, 29], 44: [16, 29], 45: [16, 30], 46: [16, 30],
  47: [17, 31], 48: [17, 31], 49: [18, 32], 50: [18, 32], 51: [19, 33], 52: [19, 34], 53: [19, 35], 54: [20, 35],
  55: [20, 36], 56: [21, 36], 57: [21, 37], 58: [22, 37], 59: [22, 38], 60: [23, 39], 61: [23, 39], 62: [24, 40],
  63: [24, 40], 64: [24, 40], 65: [25, 41], 66: [25, 41], 67: [26, 42], 68: [26, 43], 69: [26, 44], 70: [27, 44],
});

/** The smallest n for which the median interval is reported (docs/conventions.md#10: the Le Boudec median interval only for n > 20). */
export const MEDIAN_CI_MIN_N = 21;

/** Exact coverage of [x_(j), x_(k)] as an interval for the median: P(j <= B <= k-1), B ~ Binomial(n, 1/2). */
export function medianIntervalCoverage(n: number, j: number, k: number): number {
  return binomialCdf(k - 1, n) - binomialCdf(j - 1, n);
}

/**
 * The narrowest rank pair [j, k] (fewest order statistics between them) whose exact binomial coverage is >= level;
 * among equally narrow pairs the most central, then the lower one. This is how the table above is built, and the
 * method for levels the book does not tabulate.
 */
export function exactMedianRanks(n: number, level: number): [number, number] | null {
  let best: { j: number; k: number; off: number } | null = null;
  for (let j = 1; j <= n; j++) {
    for (let k = j + 1; k <= n; k++) {
      if (medianIntervalCoverage(n, j, k) < level) continue;
      const off = Math.abs(j + k - (n + 1));
      if (best === null || k - j < best.k - best.j || (k - j === best.k - best.j && off < best.off)) best = { j, k, off };
      break; // a larger k only widens the interval
    }
  }
  return best === null ? null : [best.j, best.k];
}

/** η/2 in Le Boudec's large-n formula, as printed for the two levels the book uses; z_{(1+γ)/2}/2 otherwise. */
function halfEta(level: number): number {
  if (level === 0.95) return 0.98;
  if (level === 0.99) return 1.29;
  return normalQuantile((1 + level) / 2) / 2;
}

/**
 * The 1-based ranks [j, k] of the order statistics bounding the median at `level` (Le Boudec, Theorem 2.1):
 * the book's Table A.1 for n <= 70 at 0.95, the exact binomial computation for n <= 70 at other levels, and for
 * n > 70 the normal approximation j = ⌊n/2 − (η/2)√n⌋, k = ⌈n/2 + 1 + (η/2)√n⌉ (η/2 = 0.98 at 0.95).
 */
export function leBoudecRanks(n: number, level = DEFAULT_LEVEL): { j: number; k: number; source: 'table' | 'exact-binomial' | 'normal-approximation' } | null {
  checkLevel(level);
  if (n <= 70) {
    const row = level === 0.95 ? LE_BOUDEC_TABLE_95[n] : undefined;
    if (row !== undefined) return { j: row[0], k: row[1], source: 'table' };
    const exact = exactMedianRanks(n, level);
    return exact === null ? null : { j: exact[0], k: exact[1], source: 'exact-binomial' };
  }
  const h = halfEta(level) * Math.sqrt(n);
  const j = Math.max(1, Math.floor(0.5 * n - h));
  const k = Math.min(n, Math.ceil(0.5 * n + 1 + h));
  return { j, k, source: 'normal-approximation' };
}

/**
 * The sample median (the middle order statistic, or the mean of the two middle ones for even n) with Le Boudec's
 * distribution-free confidence interval [x_(j), x_(k)]. Valid for any continuous distribution of independent
 * samples. Reported only for n > 20; below that the interval is marked unavailable with the reason.
 */
export function medianCI(xs: readonly number[], level = DEFAULT_LEVEL): Estimate {
  checkLevel(level);
  checkFinite(xs);
  const n = xs.length;
  const method = 'le-boudec';
  if (n === 0) return { value: NaN, n, ci: { available: false, level, method, reason: 'no samples' } };
  const sorted = [...xs].sort((a, b) => a - b);
  const value = ssMedian(sorted);
  if (n < MEDIAN_CI_MIN_N) {
    return {
      value,
      n,
      ci: { available: false, level, method, reason: `n = ${n} <= 20: the median interval is reported for n > 20 only (docs/statistics.md)` },
    };
  }
  const ranks = leBoudecRanks(n, level);
  if (ranks === null) return { value, n, ci: { available: false, level, method, reason: `no order-statistic interval reaches level ${level} with n = ${n}` } };
  return {
    value,
    n,
    ci: { available: true, lower: sorted[ranks.j - 1] as number, upper: sorted[ranks.k - 1] as number, level, method: `${method} (${ranks.source}, ranks ${ranks.j}..${ranks.k})` },
  };
}
