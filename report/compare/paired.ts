/**
 * The paired A/B gate (docs/statistics.md#the-ab-gate): A and B were measured in the same rounds, in a random order
 * within each round, so each round gives one pair (a, b) that saw the same machine. The statistic is the ratio b/a:
 * its geometric mean over the rounds, with a Student-t interval on the per-round log ratios (R - 1 degrees of freedom,
 * so that a handful of rounds gives an honestly wide interval), judged against the threshold as the gate on two runs is.
 */
import { mean, sampleStandardDeviation } from 'simple-statistics';
import { studentTQuantile } from '../stats/distributions.js';
import { verdictOf, type SeriesComparison } from './compare.js';
import { minimumDetectableRatio, roundsToDetect } from './power.js';

export interface PairedOptions {
  /** Relative change that matters: 0.05 = 5%. */
  threshold: number;
  /** Confidence level of the ratio's interval. */
  level: number;
  /** Fewest rounds for a verdict; below it: 'insufficient data'. */
  minRounds: number;
  /** Probability with which the reported minimum detectable slowdown would be called slower (power.ts). */
  power: number;
  /** The slowdown a run should be able to tell apart (0.1 = 10%): the rounds it needs are reported. */
  target: number;
}

export const PAIRED_DEFAULTS: Readonly<PairedOptions> = Object.freeze({ threshold: 0.05, level: 0.95, minRounds: 5, power: 0.8, target: 0.1 });

/** The slowdown a run should be able to see when none is given: 10%, or twice the threshold when that is higher (it must exceed the threshold). */
export function defaultTarget(threshold: number = PAIRED_DEFAULTS.threshold): number {
  return Math.max(PAIRED_DEFAULTS.target, 2 * threshold);
}

export interface Pair {
  a: number;
  b: number;
}

export type PairedComparison = Pick<SeriesComparison, 'ratio' | 'ci' | 'verdict' | 'regression' | 'note'> & {
  rounds: number;
  /** b / a of each round, in round order. */
  roundRatios: number[];
  /** Sample standard deviation of the per-round log ratios: the run's own noise, what the interval and the power rest on. */
  spread: number | null;
  /**
   * The smallest slowdown (as a ratio, 1.3 = 30%) this run would call slower with probability `power`: a 'same' verdict
   * says nothing about a change below it.
   */
  mde: number | null;
  /** Rounds that would call a `target` slowdown slower with probability `power` at this spread; null if none would. */
  roundsForTarget: number | null;
};

export function checkPairedOptions(o: PairedOptions): void {
  if (!(o.threshold > 0 && o.threshold < 1)) throw new RangeError(`threshold must be in (0, 1), got ${o.threshold}`);
  if (!(o.level > 0 && o.level < 1)) throw new RangeError(`level must be in (0, 1), got ${o.level}`);
  if (!(Number.isInteger(o.minRounds) && o.minRounds >= 2)) throw new RangeError(`minRounds must be an integer >= 2, got ${o.minRounds}`);
  if (!(o.power > 0 && o.power < 1)) throw new RangeError(`power must be in (0, 1), got ${o.power}`);
  if (!(o.target > o.threshold && o.target < 10)) throw new RangeError(`target must be above the threshold (${o.threshold}) and below 10, got ${o.target}`);
}

/** Compares the paired values of one metric (smaller is better), one pair per round. */
export function comparePaired(pairs: readonly Pair[], options: Partial<PairedOptions> = {}): PairedComparison {
  const o = { ...PAIRED_DEFAULTS, target: defaultTarget(options.threshold), ...options };
  checkPairedOptions(o);
  const usable = pairs.every((p) => Number.isFinite(p.a) && Number.isFinite(p.b) && p.a > 0 && p.b > 0);
  const roundRatios = usable ? pairs.map((p) => p.b / p.a) : [];
  const none = { rounds: pairs.length, roundRatios, ratio: null, ci: null, verdict: 'insufficient data' as const, regression: false, spread: null, mde: null, roundsForTarget: null };
  if (!usable) return { ...none, note: 'a round gave a value <= 0 or not finite: the ratio is undefined' };
  if (pairs.length < o.minRounds) return { ...none, note: `fewer than ${o.minRounds} rounds (${pairs.length})` };
  const logs = roundRatios.map(Math.log);
  const m = mean(logs);
  const spread = sampleStandardDeviation(logs);
  const half = studentTQuantile((1 + o.level) / 2, logs.length - 1) * (spread / Math.sqrt(logs.length));
  const ci = { lower: Math.exp(m - half), upper: Math.exp(m + half), level: o.level };
  const mde = minimumDetectableRatio(spread, logs.length, o);
  const roundsForTarget = roundsToDetect(o.target, spread, o);
  const verdict = verdictOf(ci, o.threshold);
  // A 'same' from a run that could not have seen the target is "could not tell", and says so.
  const note = verdict.verdict === 'same' && mde !== null && mde > 1 + o.target ? `${verdict.note}; could not tell: ${couldNotTell(mde, o, roundsForTarget)}` : verdict.note;
  return { rounds: pairs.length, roundRatios, ratio: Math.exp(m), ci, ...verdict, note, spread, mde, roundsForTarget };
}

function couldNotTell(mde: number, o: PairedOptions, rounds: number | null): string {
  const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
  const need = rounds === null ? 'no number of rounds would at this spread' : `about ${rounds} rounds would at this spread`;
  return `this run sees a slowdown of ${pct(mde - 1)} or more (${pct(o.power)} power); to see ${pct(o.target)}, ${need}`;
}
