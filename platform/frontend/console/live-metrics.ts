/**
 * Live rates from two scrapes of the platform's Prometheus metrics (`GET /metrics`, platform/frontend/metrics.ts):
 * invocations and errors per second, and the p50 and p99 of execution time over the interval, from the difference
 * of the histogram's buckets (percentiles of a window come from merged buckets, never from averaged percentiles).
 * Pure: metrics-view.ts polls and draws.
 */

export interface Scrape {
  /** Epoch milliseconds of the scrape. */
  at: number;
  invocations: number;
  /** Invocations whose outcome was not ok. */
  errors: number;
  /** Cumulative execution-time buckets summed over apps: upper bound in seconds -> count. */
  buckets: Map<number, number>;
  sandboxes: number;
}

export interface RatePoint {
  at: number;
  invocationsPerSecond: number;
  errorsPerSecond: number;
  /** Seconds; null when no execution finished in the interval. */
  p50: number | null;
  p99: number | null;
  sandboxes: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Reads the text exposition format (0.0.4) into the totals the console charts. */
export function readScrape(text: string, at: number): Scrape {
  const scrape: Scrape = { at, invocations: 0, errors: 0, buckets: new Map(), sandboxes: 0 };
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const [, name, labelText = '', valueText] = m;
    const value = Number(valueText);
    if (!Number.isFinite(value) && valueText !== '+Inf') continue;
    const labels: Record<string, string> = {};
    for (const l of labelText.matchAll(LABEL)) labels[l[1]!] = l[2]!;
    if (name === 'mf_invocations_total') {
      scrape.invocations += value;
      if (labels.outcome !== 'ok') scrape.errors += value;
    } else if (name === 'mf_execution_duration_seconds_bucket' && labels.le !== undefined) {
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      scrape.buckets.set(le, (scrape.buckets.get(le) ?? 0) + value);
    } else if (name === 'mf_sandboxes') {
      scrape.sandboxes = value;
    }
  }
  return scrape;
}

/** The rates between two scrapes (counters that went down, after a restart, count from zero). */
export function rateBetween(before: Scrape, after: Scrape): RatePoint {
  const seconds = Math.max(1e-3, (after.at - before.at) / 1000);
  const delta = (a: number, b: number): number => (a >= b ? a - b : a);
  const window = new Map<number, number>();
  for (const [le, count] of after.buckets) window.set(le, delta(count, before.buckets.get(le) ?? 0));
  return {
    at: after.at,
    invocationsPerSecond: delta(after.invocations, before.invocations) / seconds,
    errorsPerSecond: delta(after.errors, before.errors) / seconds,
    p50: bucketQuantile(window, 0.5),
    p99: bucketQuantile(window, 0.99),
    sandboxes: after.sandboxes,
  };
}

/**
 * The q-quantile of cumulative buckets, interpolated linearly inside the bucket that holds it (as Prometheus's
 * histogram_quantile does); a quantile in the +Inf bucket is the largest finite bound.
 */
export function bucketQuantile(buckets: ReadonlyMap<number, number>, q: number): number | null {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      if (le === Infinity) return lowerBound;
      const inBucket = count - lowerCount;
      return inBucket <= 0 ? le : lowerBound + ((le - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}
