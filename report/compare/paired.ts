/**
 * The paired A/B gate (docs/statistics.md#the-ab-gate): A and B were measured in the same rounds, in a random order
 * within each round, so each round gives one pair (a, b) that saw the same machine. The statistic is the ratio b/a:
 * its geometric mean over the rounds, with a Student-t interval on the per-round log ratios (R - 1 degrees of freedom,
 * so that a handful of rounds gives an honestly wide interval), judged against the threshold as the gate on two runs is.
 */
import { mean, sampleStandardDeviation } from 'simple-statistics';
import { studentTQuantile } from '../stats/distributions.js';
import { verdictOf, type SeriesComparison } from './compare.js';

export interface PairedOptions {
  /** Relative change that matters: 0.05 = 5%. */
  threshold: number;
  /** Confidence level of the ratio's interval. */
  level: number;
  /** Fewest rounds for a verdict; below it: 'insufficient data'. */
  minRounds: number;
}

export const PAIRED_DEFAULTS: Readonly<PairedOptions> = Object.freeze({ threshold: 0.05, level: 0.95, minRounds: 5 });

export interface Pair {
  a: number;
  b: number;
}

export type PairedComparison = Pick<SeriesComparison, 'ratio' | 'ci' | 'verdict' | 'regression' | 'note'> & {
  rounds: number;
  /** b / a of each round, in round order. */
  roundRatios: number[];
};

export function checkPairedOptions(o: PairedOptions): void {
  if (!(o.threshold > 0 && o.threshold < 1)) throw new RangeError(`threshold must be in (0, 1), got ${o.threshold}`);
  if (!(o.level > 0 && o.level < 1)) throw new RangeError(`level must be in (0, 1), got ${o.level}`);
  if (!(Number.isInteger(o.minRounds) && o.minRounds >= 2)) throw new RangeError(`minRounds must be an integer >= 2, got ${o.minRounds}`);
}

/** Compares the paired values of one metric (smaller is better), one pair per round. */
export function comparePaired(pairs: readonly Pair[], options: Partial<PairedOptions> = {}): PairedComparison {
  const o = { ...PAIRED_DEFAULTS, ...options };
  checkPairedOptions(o);
  const usable = pairs.every((p) => Number.isFinite(p.a) && Number.isFinite(p.b) && p.a > 0 && p.b > 0);
  const roundRatios = usable ? pairs.map((p) => p.b / p.a) : [];
  const none = { rounds: pairs.length, roundRatios, ratio: null, ci: null, verdict: 'insufficient data' as const, regression: false };
  if (!usable) return { ...none, note: 'a round gave a value <= 0 or not finite: the ratio is undefined' };
  if (pairs.length < o.minRounds) return { ...none, note: `fewer than ${o.minRounds} rounds (${pairs.length})` };
  const logs = roundRatios.map(Math.log);
  const m = mean(logs);
  const half = studentTQuantile((1 + o.level) / 2, logs.length - 1) * (sampleStandardDeviation(logs) / Math.sqrt(logs.length));
  const ci = { lower: Math.exp(m - half), upper: Math.exp(m + half), level: o.level };
  return { rounds: pairs.length, roundRatios, ratio: Math.exp(m), ci, ...verdictOf(ci, o.threshold) };
}
