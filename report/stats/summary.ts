/**
 * Summaries of labelled samples (docs/conventions.md#8): failures and warm-up are counted apart and never mixed into the
 * statistics; everything else is mean ± Student-t CI, median ± Le Boudec CI, and exact nearest-rank p90/p99.
 */
import { DEFAULT_LEVEL, meanCI, medianCI, type Estimate } from './intervals.js';
import { exactPercentiles } from './percentiles.js';

/** One labelled sample: what a metric-stream line (report/compare/stream.ts) carries, minus its grouping keys. */
export interface LabelledSample {
  /** The measured value; null (or anything) for a failed sample is never used in statistics. */
  value: number | null;
  /** 'ok' or the failure kind ('error', 'timeout', 'crashed', 'not-sent', ...). */
  outcome: string;
  /** Warm-up samples are excluded from the statistics, but counted. */
  warmup?: boolean;
}

export interface SampleSummary {
  /** Samples used: outcome 'ok' and not warm-up. */
  n: number;
  /** Non-warm-up samples whose outcome is not 'ok', in total and per outcome. */
  failures: number;
  failuresByOutcome: Record<string, number>;
  /** Warm-up samples (any outcome), excluded from everything else. */
  warmup: number;
  mean: Estimate;
  median: Estimate;
  p90: number | null;
  p99: number | null;
  min: number | null;
  max: number | null;
  /** How p90/p99 were computed. */
  percentileMethod: 'exact-nearest-rank';
}

/** Splits samples into the values used, the failures and the warm-up, then summarizes the values. */
export function summarizeSamples(samples: Iterable<LabelledSample>, level = DEFAULT_LEVEL): SampleSummary {
  const values: number[] = [];
  const failuresByOutcome: Record<string, number> = {};
  let failures = 0;
  let warmup = 0;
  for (const s of samples) {
    if (s.warmup === true) warmup++;
    else if (s.outcome !== 'ok') {
      failures++;
      failuresByOutcome[s.outcome] = (failuresByOutcome[s.outcome] ?? 0) + 1;
    } else {
      if (typeof s.value !== 'number' || !Number.isFinite(s.value)) throw new RangeError(`an ok sample must have a finite value, got ${String(s.value)}`);
      values.push(s.value);
    }
  }
  return { ...summarizeValues(values, level), failures, failuresByOutcome, warmup };
}

/** The statistics part of a summary, over plain values (all assumed ok and past warm-up). */
export function summarizeValues(values: readonly number[], level = DEFAULT_LEVEL): Omit<SampleSummary, 'failures' | 'failuresByOutcome' | 'warmup'> {
  const n = values.length;
  const ps = n > 0 ? exactPercentiles(values, [90, 99] as const) : null;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return {
    n,
    mean: meanCI(values, level),
    median: medianCI(values, level),
    p90: ps === null ? null : ps[90],
    p99: ps === null ? null : ps[99],
    min: n > 0 ? min : null,
    max: n > 0 ? max : null,
    percentileMethod: 'exact-nearest-rank',
  };
}

/** A group's key: the values of the grouping fields, as strings ('' for an absent field). */
export type GroupKey = Record<string, string>;

/** The canonical string of a key (fields in the given order), for maps and stable sorting. */
export function keyString(key: GroupKey): string {
  return JSON.stringify(Object.entries(key));
}

/**
 * Groups samples by the given fields (e.g. ['experiment', 'platform', 'metric', 'temperature']) and summarizes
 * each group; groups come back sorted by key. A field that is an object (like `labels`) is part of the key as its
 * canonical JSON with sorted keys.
 */
export function summarizeGroups<R extends LabelledSample>(
  records: Iterable<R>,
  fields: readonly (keyof R & string)[],
  level = DEFAULT_LEVEL,
): { key: GroupKey; summary: SampleSummary }[] {
  const groups = new Map<string, { key: GroupKey; samples: R[] }>();
  for (const r of records) {
    const key = groupKeyOf(r, fields);
    const id = keyString(key);
    let g = groups.get(id);
    if (g === undefined) groups.set(id, (g = { key, samples: [] }));
    g.samples.push(r);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, g]) => ({ key: g.key, summary: summarizeSamples(g.samples, level) }));
}

export function groupKeyOf<R>(r: R, fields: readonly (keyof R & string)[]): GroupKey {
  const key: GroupKey = {};
  for (const f of fields) key[f] = fieldString(r[f]);
  return key;
}

function fieldString(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(Object.fromEntries(Object.entries(v as object).sort(([a], [b]) => (a < b ? -1 : 1))));
  return String(v);
}
