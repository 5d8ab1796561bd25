/**
 * Per-group descriptive statistics for the experiments' summary tables: median with its Le Boudec interval
 * (report/stats, n > 20 only; blank otherwise), percentiles, mean. Pure; rounding happens here once, to 4 decimals
 * (0.1 µs on milliseconds), so that CSVs are stable text.
 */
import { max, mean, min, quantileSorted } from 'simple-statistics';
import { medianCI } from '../../report/stats/intervals.js';
import type { MetricRecord, Row } from '../../report/types.js';
import type { RawRecord } from '../../report/run-dir.js';

export interface Description {
  n: number;
  median: number | null;
  /** Bounds of the 95% interval for the median (null when n <= 20: none is reported). */
  medianLo: number | null;
  medianHi: number | null;
  p90: number | null;
  p99: number | null;
  mean: number | null;
  min: number | null;
  max: number | null;
}

export function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

const r = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? null : round4(x));

export function describe(values: readonly number[]): Description {
  const n = values.length;
  if (n === 0) return { n, median: null, medianLo: null, medianHi: null, p90: null, p99: null, mean: null, min: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  const m = medianCI(sorted);
  return {
    n,
    median: r(m.value),
    medianLo: m.ci.available ? r(m.ci.lower) : null,
    medianHi: m.ci.available ? r(m.ci.upper) : null,
    p90: r(quantileSorted(sorted, 0.9)),
    p99: r(quantileSorted(sorted, 0.99)),
    mean: r(mean(sorted)),
    min: r(min(sorted)),
    max: r(max(sorted)),
  };
}

/** Prefixes a description's keys (`e2e_median`, ...), to spread into a row. */
export function prefixed(prefix: string, d: Description): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(d)) out[`${prefix}_${k}`] = v;
  return out;
}

/** Groups items by a key, keeping first-seen key order (so tables follow the order of the run). */
export function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/** Client end-to-end latency of a request: receive minus intended send (no coordinated omission). */
export function e2eMs(r: RawRecord): number {
  const { receive, intendedSend } = r.call.client;
  // A request never sent or never answered is stored with null times (JSON has no NaN): no latency.
  if (typeof receive !== 'number' || typeof intendedSend !== 'number') return Number.NaN;
  return receive - intendedSend;
}

/** Why a request is left out of a figure's statistics, or null when it counts (docs/conventions.md#8: kept, counted apart). */
export function exclusion(r: RawRecord): 'warmup' | 'failed' | 'wrong-temperature' | null {
  if (r.warmup) return 'warmup';
  if (r.outcome !== 'ok') return 'failed';
  if (r.temperatureCheck === 'mismatch') return 'wrong-temperature';
  return null;
}

/** Counts of excluded requests by reason, as a sentence for the report's notes. */
export function exclusionNote(experiment: string, raw: readonly RawRecord[]): string {
  const counts = { warmup: 0, failed: 0, 'wrong-temperature': 0 };
  for (const rec of raw) {
    const why = exclusion(rec);
    if (why !== null) counts[why]++;
  }
  const kept = raw.length - counts.warmup - counts.failed - counts['wrong-temperature'];
  return `${experiment}: ${raw.length} requests recorded; ${kept} in the statistics; kept but left out: ${counts.warmup} warm-up, ${counts.failed} failed or invalid, ${counts['wrong-temperature']} whose temperature the records did not confirm.`;
}

/**
 * The common fields of a request's metric-stream lines. `outcome` is the call's outcome, or `wrong-temperature`
 * when the records did not confirm the temperature the experiment aimed for.
 */
export function metricBase(r: RawRecord, groupLabels: Record<string, string | number | boolean> = {}): Omit<MetricRecord, 'metric' | 'value'> {
  const outcome = r.outcome === 'ok' && r.temperatureCheck === 'mismatch' ? 'wrong-temperature' : r.outcome;
  const base: Omit<MetricRecord, 'metric' | 'value'> = {
    experiment: r.experiment,
    platform: `${r.platform}/${r.preset}`,
    outcome,
    warmup: r.warmup,
    t: r.call.client.intendedSend,
    labels: { backend: r.backend, ...groupLabels },
  };
  const temperature = r.expectedTemperature ?? r.temperature;
  if (temperature !== null) base.temperature = temperature;
  return base;
}

/** Labels that tell variants of one platform/preset apart beyond the backend (e.g. the pool size when set). */
export function variantLabels(r: RawRecord): Record<string, string | number | boolean> {
  const m = /\/pool(\d+)$/.exec(r.variant);
  return m ? { poolSize: Number(m[1]) } : {};
}

/**
 * p99 of the send skew (actual − intended send time, ms) of requests sent open-loop: how late the load generator was.
 * Records never sent (NaN actual send) are left out; null when none was sent.
 */
export function sendSkewP99(rows: readonly RawRecord[]): number | null {
  return describe(rows.map((r) => r.call.client.actualSend - r.call.client.intendedSend).filter(Number.isFinite)).p99;
}
