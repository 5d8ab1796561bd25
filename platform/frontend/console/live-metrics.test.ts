import { describe, expect, it } from 'vitest';
import { bucketQuantile, rateBetween, readScrape } from './live-metrics.js';

const text = (ok: number, failed: number, buckets: [string, number][], sandboxes = 1): string => [
  '# HELP mf_invocations_total Function invocations.',
  '# TYPE mf_invocations_total counter',
  `mf_invocations_total{app="a",function="f",temperature="warm",outcome="ok"} ${ok}`,
  `mf_invocations_total{app="a",function="f",temperature="warm",outcome="error"} ${failed}`,
  '# TYPE mf_execution_duration_seconds histogram',
  ...buckets.map(([le, n]) => `mf_execution_duration_seconds_bucket{le="${le}",app="a"} ${n}`),
  `mf_execution_duration_seconds_count{app="a"} ${buckets.at(-1)?.[1] ?? 0}`,
  `mf_sandboxes ${sandboxes}`,
  '',
].join('\n');

describe('live metrics', () => {
  it('reads the counters, the histogram buckets and the sandboxes from the exposition text', () => {
    const s = readScrape(text(7, 3, [['0.01', 4], ['0.1', 9], ['+Inf', 10]], 2), 5000);
    expect(s).toMatchObject({ at: 5000, invocations: 10, errors: 3, sandboxes: 2 });
    expect([...s.buckets]).toEqual([[0.01, 4], [0.1, 9], [Infinity, 10]]);
  });

  it('rates over the interval, and percentiles from the difference of the buckets', () => {
    const before = readScrape(text(10, 0, [['0.01', 10], ['0.1', 10], ['+Inf', 10]]), 0);
    const after = readScrape(text(30, 2, [['0.01', 10], ['0.1', 110], ['+Inf', 110]]), 2000);
    const r = rateBetween(before, after);
    expect(r.invocationsPerSecond).toBe(11);
    expect(r.errorsPerSecond).toBe(1);
    // All 100 executions of the interval fell in (0.01, 0.1]: p50 is halfway through that bucket.
    expect(r.p50).toBeCloseTo(0.055, 10);
    expect(r.p99).toBeCloseTo(0.01 + 0.09 * 0.99, 10);
  });

  it('no execution in the interval: no percentile; a counter that went down counts from zero', () => {
    const before = readScrape(text(50, 0, [['+Inf', 5]]), 0);
    const after = readScrape(text(4, 0, [['+Inf', 5]]), 1000);
    expect(rateBetween(before, after)).toMatchObject({ invocationsPerSecond: 4, p50: null, p99: null });
  });

  it('a quantile in the +Inf bucket is the largest finite bound', () => {
    expect(bucketQuantile(new Map([[1, 0], [Infinity, 4]]), 0.5)).toBe(1);
    expect(bucketQuantile(new Map(), 0.5)).toBeNull();
  });
});
