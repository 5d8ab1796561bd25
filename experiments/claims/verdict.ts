/**
 * Whether a claim's direction reproduced: pure rules over a measured ratio and its interval (docs/experiments.md#claims).
 * Every claim is put as "this ratio is above 1" (e.g. per-function / grouped per-hop latency), so one rule judges all:
 * the interval above 1 reproduces it, below 1 refutes it, across 1 leaves it open; without an interval (too few
 * samples) the number is reported but not judged. The machine is noisy and shared, so the verdict rests on the
 * interval, never on the point estimate alone.
 */
import { medianInPlace } from '../../report/compare/bootstrap.js';
import { medianCI, MEDIAN_CI_MIN_N } from '../../report/stats/intervals.js';
import { seededRng } from '../../report/stats/random.js';

export const VERDICTS = ['reproduced', 'not reproduced', 'inconclusive', 'descriptive only', 'not measured', 'not configured'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** A measured ratio that the claim expects above 1; `lower`/`upper` null when the samples do not support an interval. */
export interface RatioEvidence {
  ratio: number;
  lower: number | null;
  upper: number | null;
  /** The smallest sample behind it (for the table). */
  n: number;
  /** How the interval was made, or why there is none. */
  method: string;
}

export function ratioVerdict(e: RatioEvidence | null): Verdict {
  if (e === null || !Number.isFinite(e.ratio)) return 'not measured';
  if (e.lower === null || e.upper === null) return 'descriptive only';
  if (e.lower > 1) return 'reproduced';
  if (e.upper < 1) return 'not reproduced';
  return 'inconclusive';
}

/** A claim that holds or not without sampling noise (a model over price tables). */
export function exactVerdict(holds: boolean | null): Verdict {
  return holds === null ? 'not measured' : holds ? 'reproduced' : 'not reproduced';
}

/**
 * One verdict for a claim made of several comparisons (the rungs of a ladder): any refuted rung refutes it; a rung
 * not measured leaves it unmeasured; then an open rung leaves it open, an unjudged one descriptive; all reproduced
 * reproduces it.
 */
export function combineVerdicts(parts: readonly Verdict[]): Verdict {
  if (parts.length === 0) return 'not measured';
  for (const v of ['not reproduced', 'not configured', 'not measured', 'inconclusive', 'descriptive only'] as const) if (parts.includes(v)) return v;
  return 'reproduced';
}

export const RESAMPLES = 2000;

/**
 * A seeded percentile bootstrap of `statistic` over the medians of several independent samples (each resampled with
 * replacement; Efron & Tibshirani 1993, ch. 13). No interval when a sample has fewer than MEDIAN_CI_MIN_N values: the
 * report gives median intervals for n > 20 only, and a claim is judged on the same footing.
 */
export function bootstrapMedians(samples: readonly (readonly number[])[], statistic: (medians: number[]) => number, seed: number, level = 0.95): RatioEvidence | null {
  if (samples.some((s) => s.length === 0)) return null;
  const ratio = statistic(samples.map((s) => medianInPlace(Float64Array.from(s))));
  const n = Math.min(...samples.map((s) => s.length));
  if (n < MEDIAN_CI_MIN_N) return { ratio, lower: null, upper: null, n, method: `n = ${n} <= 20: no interval` };
  const rng = seededRng(seed);
  const bufs = samples.map((s) => new Float64Array(s.length));
  const stats: number[] = [];
  for (let r = 0; r < RESAMPLES; r++) {
    const medians = samples.map((s, i) => {
      const buf = bufs[i] as Float64Array;
      for (let k = 0; k < s.length; k++) buf[k] = s[Math.floor(rng() * s.length)] as number;
      return medianInPlace(buf);
    });
    const v = statistic(medians);
    if (Number.isFinite(v)) stats.push(v);
  }
  // A statistic undefined in many resamples (a difference of medians near 0 as a denominator) has no honest interval.
  if (stats.length < RESAMPLES * 0.99) return { ratio, lower: null, upper: null, n, method: 'bootstrap: the statistic is undefined in too many resamples' };
  stats.sort((a, b) => a - b);
  const alpha = 1 - level;
  const at = (p: number): number => stats[Math.min(stats.length - 1, Math.max(0, Math.ceil(p * stats.length) - 1))] as number;
  return { ratio, lower: at(alpha / 2), upper: at(1 - alpha / 2), n, method: `percentile bootstrap of medians, ${RESAMPLES} resamples` };
}

/** median(candidate) / median(baseline) with its bootstrap interval. */
export function medianRatio(baseline: readonly number[], candidate: readonly number[], seed: number): RatioEvidence | null {
  return bootstrapMedians([baseline, candidate], ([b, c]) => (c as number) / (b as number), seed);
}

/** The median of per-item ratios (paired, e.g. total / compute of one execution) with Le Boudec's interval. */
export function pairedRatio(ratios: readonly number[]): RatioEvidence | null {
  const finite = ratios.filter(Number.isFinite);
  if (finite.length === 0) return null;
  const m = medianCI(finite);
  return m.ci.available
    ? { ratio: m.value, lower: m.ci.lower, upper: m.ci.upper, n: m.n, method: 'median of per-execution ratios, Le Boudec interval' }
    : { ratio: m.value, lower: null, upper: null, n: m.n, method: m.ci.reason };
}
