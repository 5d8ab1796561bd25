/**
 * How small a slowdown the paired A/B gate can see (docs/statistics.md#what-a-run-can-tell-apart). The gate calls B
 * slower when the lower end of its t interval on the mean per-round log ratio lies above ln(1 + threshold). For a true
 * log ratio δ, rounds R and a per-round spread s, that happens with probability `power` when
 *
 *     δ ≥ ln(1 + threshold) + (t_{(1+level)/2, R-1} + t_{power, R-1}) · s / √R
 *
 * (the usual power of a one-sample t test, Cohen 1988, ch. 2, with the gate's threshold as the null). The spread is
 * the run's own: the sample standard deviation of its per-round log ratios, so the answer says what *this* run could
 * tell apart. The same inequality solved for R gives the rounds a target effect needs at that spread (with s known
 * from a first run, this is Stein's two-stage design: the first stage sets the size of the second).
 */
import { studentTQuantile } from '../stats/distributions.js';

export interface PowerOptions {
  /** The gate's threshold: a slowdown must exceed it to be called slower. */
  threshold: number;
  /** Confidence level of the gate's interval. */
  level: number;
  /** Probability of calling a slowdown of the reported size slower. */
  power: number;
}

export const POWER_DEFAULTS: Readonly<Omit<PowerOptions, 'threshold' | 'level'>> = Object.freeze({ power: 0.8 });

/**
 * The minimum detectable slowdown of a run, as a ratio (1.3 = 30% slower): the smallest that R rounds with log-ratio
 * spread `sd` call slower with the given power. Null below 2 rounds (no spread to judge by).
 */
export function minimumDetectableRatio(sd: number, rounds: number, o: PowerOptions): number | null {
  if (!(rounds >= 2) || !Number.isFinite(sd) || sd < 0) return null;
  const df = rounds - 1;
  const t = studentTQuantile((1 + o.level) / 2, df) + studentTQuantile(o.power, df);
  return Math.exp(Math.log(1 + o.threshold) + (t * sd) / Math.sqrt(rounds));
}

/**
 * The fewest rounds at which a slowdown of `effect` (0.1 = 10%) is called slower with the given power, at log-ratio
 * spread `sd`; null when no number of rounds reaches it within `maxRounds` (an effect at or under the threshold
 * never does).
 */
export function roundsToDetect(effect: number, sd: number, o: PowerOptions, maxRounds = 100_000): number | null {
  if (!(effect > o.threshold) || !Number.isFinite(sd) || sd < 0) return null;
  const fits = (r: number) => (minimumDetectableRatio(sd, r, o) ?? Infinity) <= 1 + effect;
  if (!fits(maxRounds)) return null;
  // The detectable ratio only falls as rounds grow: the first round count that fits, by bisection.
  let lo = 2;
  let hi = maxRounds;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
