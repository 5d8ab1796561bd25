/**
 * The regression gate: compares two runs series by series (experiment, platform, metric, temperature, labels) on
 * the median, with a bootstrap confidence interval of the ratio new/baseline. A series is a regression only when
 * the whole interval lies above 1 + threshold: slower beyond the threshold, with statistical significance.
 */
import { median as ssMedian } from 'simple-statistics';
import { summarizeSamples } from '../stats/summary.js';
import { bootstrapMedianRatio } from './bootstrap.js';
import { readMetricStream, type MetricStream } from './stream.js';
import type { MetricRecord } from '../types.js';

export interface CompareOptions {
  /** Relative change that matters: 0.10 = 10%. */
  threshold: number;
  /** Confidence level of the ratio's interval. */
  level: number;
  /** Bootstrap resamples. */
  resamples: number;
  /** Seed of the bootstrap (each series derives its own stream from it and its key). */
  seed: number;
  /** Fewest ok, non-warm-up samples per side for a verdict; below it: 'insufficient data'. */
  minSamples: number;
}

export const COMPARE_DEFAULTS: Readonly<CompareOptions> = Object.freeze({ threshold: 0.1, level: 0.95, resamples: 2000, seed: 1, minSamples: 20 });

/**
 * 'descriptive': a series its experiment did not declare headline, with too few samples for a verdict (or missing
 * from one run); shown, not judged. 'insufficient data' is kept for a headline series short of samples: a fault.
 */
export type Verdict = 'faster' | 'slower' | 'same' | 'insufficient data' | 'descriptive';

/** The series a sample belongs to. Labels are canonical JSON with sorted keys ('' when absent). */
export interface SeriesKey {
  experiment: string;
  platform: string;
  metric: string;
  temperature: string;
  labels: string;
}

export interface SideSummary {
  /** ok, non-warm-up samples. */
  n: number;
  median: number | null;
  failures: number;
  warmup: number;
}

export interface SeriesComparison {
  key: SeriesKey;
  /**
   * Declared headline by its experiment in either run (MetricRecord.headline). When neither run declares any
   * series (runs processed before the declaration existed), every series counts as headline, as it did then.
   */
  headline: boolean;
  baseline: SideSummary;
  candidate: SideSummary;
  /** median(new) / median(baseline), null when undefined. */
  ratio: number | null;
  ci: { lower: number; upper: number; level: number } | null;
  verdict: Verdict;
  /** True only for 'slower': the interval lies entirely above 1 + threshold. */
  regression: boolean;
  /** Why the verdict, in a few words. */
  note: string;
}

export interface RunRef {
  runDir: string;
  runId: string;
  startedAt: string;
  commit: string | null;
  dirty: boolean | null;
}

export interface ComparisonReport {
  baseline: RunRef;
  candidate: RunRef;
  options: CompareOptions;
  series: SeriesComparison[];
  /** Number of series with verdict 'slower'; the gate fails when > 0. */
  regressions: number;
  pass: boolean;
}

export function seriesKeyOf(r: MetricRecord): SeriesKey {
  const labels =
    r.labels === undefined || Object.keys(r.labels).length === 0
      ? ''
      : JSON.stringify(Object.fromEntries(Object.entries(r.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  return { experiment: r.experiment, platform: r.platform, metric: r.metric, temperature: r.temperature ?? '', labels };
}

export function seriesKeyString(k: SeriesKey): string {
  return [k.experiment, k.platform, k.metric, k.temperature, k.labels].join('\u0000');
}

/** Groups a stream's records by series. */
export function seriesOf(records: readonly MetricRecord[]): Map<string, { key: SeriesKey; records: MetricRecord[] }> {
  const out = new Map<string, { key: SeriesKey; records: MetricRecord[] }>();
  for (const r of records) {
    const key = seriesKeyOf(r);
    const id = seriesKeyString(key);
    let s = out.get(id);
    if (s === undefined) out.set(id, (s = { key, records: [] }));
    s.records.push(r);
  }
  return out;
}

/** The ok, non-warm-up values of a series. */
export function usableValues(records: readonly MetricRecord[]): number[] {
  return records.filter((r) => r.warmup !== true && r.outcome === 'ok').map((r) => r.value as number);
}

function side(records: readonly MetricRecord[]): { summary: SideSummary; values: number[] } {
  const values = usableValues(records);
  const s = summarizeSamples(records.map((r) => ({ value: r.value, outcome: r.outcome, ...(r.warmup !== undefined ? { warmup: r.warmup } : {}) })));
  return { summary: { n: values.length, median: values.length > 0 ? ssMedian(values) : null, failures: s.failures, warmup: s.warmup }, values };
}

/** FNV-1a, to derive a per-series seed so a series' interval does not depend on which other series exist. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function checkCompareOptions(o: CompareOptions): void {
  if (!(o.threshold >= 0 && o.threshold < 1)) throw new RangeError(`threshold must be in [0, 1), got ${o.threshold}`);
  if (!(o.level > 0 && o.level < 1)) throw new RangeError(`level must be in (0, 1), got ${o.level}`);
  if (!Number.isInteger(o.resamples) || o.resamples < 100) throw new RangeError(`resamples must be an integer >= 100, got ${o.resamples}`);
  if (!Number.isSafeInteger(o.seed)) throw new RangeError(`seed must be a safe integer, got ${o.seed}`);
  if (!Number.isInteger(o.minSamples) || o.minSamples < 2) throw new RangeError(`minSamples must be an integer >= 2, got ${o.minSamples}`);
}

/** Compares two samples of one series: the pure core of the gate. */
export function compareSamples(
  baseline: readonly number[],
  candidate: readonly number[],
  options: Partial<CompareOptions> = {},
  seriesId = '',
): Pick<SeriesComparison, 'ratio' | 'ci' | 'verdict' | 'regression' | 'note'> {
  const o = { ...COMPARE_DEFAULTS, ...options };
  checkCompareOptions(o);
  if (baseline.length < o.minSamples || candidate.length < o.minSamples) {
    return {
      ratio: baseline.length > 0 && candidate.length > 0 && ssMedian(baseline as number[]) > 0 ? ssMedian(candidate as number[]) / ssMedian(baseline as number[]) : null,
      ci: null,
      verdict: 'insufficient data',
      regression: false,
      note: `fewer than ${o.minSamples} ok samples (baseline ${baseline.length}, new ${candidate.length})`,
    };
  }
  const b = bootstrapMedianRatio(baseline, candidate, { level: o.level, resamples: o.resamples, seed: (o.seed ^ hash32(seriesId)) >>> 0 });
  if (b === null) return { ratio: null, ci: null, verdict: 'insufficient data', regression: false, note: 'ratio undefined: a baseline median is <= 0' };
  return { ratio: b.ratio, ci: { lower: b.lower, upper: b.upper, level: b.level }, ...verdictOf(b, o.threshold) };
}

/**
 * The verdict of a confidence interval for a ratio new/baseline against a relative threshold; shared by the gate on
 * two stored runs and by the paired A/B gate (docs/statistics.md).
 */
export function verdictOf(b: { lower: number; upper: number }, threshold: number): Pick<SeriesComparison, 'verdict' | 'regression' | 'note'> {
  const pct = `${Math.round(threshold * 1000) / 10}%`;
  if (b.lower > 1 + threshold) return { verdict: 'slower', regression: true, note: `slower by more than ${pct} (whole interval above ${1 + threshold})` };
  if (b.upper < 1 - threshold) return { verdict: 'faster', regression: false, note: `faster by more than ${pct} (whole interval below ${1 - threshold})` };
  let note: string;
  if (b.lower > 1) note = b.upper > 1 + threshold ? `slower, by an amount not yet resolved against ${pct}` : `slower, but by less than ${pct}`;
  else if (b.upper < 1) note = b.lower < 1 - threshold ? `faster, by an amount not yet resolved against ${pct}` : `faster, but by less than ${pct}`;
  else if (b.upper > 1 + threshold || b.lower < 1 - threshold) note = `no significant change, but the interval reaches past ±${pct}: inconclusive`;
  else note = `within ±${pct}`;
  return { verdict: 'same', regression: false, note };
}

function runRef(s: MetricStream): RunRef {
  return { runDir: s.runDir, runId: s.manifest.runId, startedAt: s.manifest.startedAt, commit: s.manifest.git?.commit ?? null, dirty: s.manifest.git?.dirty ?? null };
}

/** Compares every series present in either stream. */
export function compareStreams(baseline: MetricStream, candidate: MetricStream, options: Partial<CompareOptions> = {}): ComparisonReport {
  const o: CompareOptions = { ...COMPARE_DEFAULTS, ...options };
  checkCompareOptions(o);
  const b = seriesOf(baseline.records);
  const c = seriesOf(candidate.records);
  const ids = [...new Set([...b.keys(), ...c.keys()])].sort();
  const declared = baseline.records.some((r) => r.headline === true) || candidate.records.some((r) => r.headline === true);
  const series = ids.map((id): SeriesComparison => {
    const bs = b.get(id);
    const cs = c.get(id);
    const key = (bs ?? cs)!.key;
    const headline = !declared || [...(bs?.records ?? []), ...(cs?.records ?? [])].some((r) => r.headline === true);
    const bSide = side(bs?.records ?? []);
    const cSide = side(cs?.records ?? []);
    let verdict =
      bs === undefined
        ? { ratio: null, ci: null, verdict: 'insufficient data' as Verdict, regression: false, note: 'not in the baseline run' }
        : cs === undefined
          ? { ratio: null, ci: null, verdict: 'insufficient data' as Verdict, regression: false, note: 'not in the new run' }
          : compareSamples(bSide.values, cSide.values, o, id);
    if (!headline && verdict.verdict === 'insufficient data') verdict = { ...verdict, verdict: 'descriptive', note: `descriptive series: ${verdict.note}` };
    return { key, headline, baseline: bSide.summary, candidate: cSide.summary, ...verdict };
  });
  const regressions = series.filter((s) => s.regression).length;
  return { baseline: runRef(baseline), candidate: runRef(candidate), options: o, series, regressions, pass: regressions === 0 };
}

/** Reads two run directories and compares them. */
export async function compareRuns(baselineDir: string, candidateDir: string, options: Partial<CompareOptions> = {}): Promise<ComparisonReport> {
  const [b, c] = await Promise.all([readMetricStream(baselineDir), readMetricStream(candidateDir)]);
  return compareStreams(b, c, options);
}
