import { describe, expect, it } from 'vitest';
import { seededRng } from './random.js';
import { summarizeGroups, summarizeSamples } from './summary.js';
import { windowSummaries } from './windows.js';

describe('summaries', () => {
  it('count failures and warm-up apart and keep them out of the statistics', () => {
    const samples = [
      ...Array.from({ length: 30 }, (_, i) => ({ value: i + 1, outcome: 'ok' })),
      { value: 1000, outcome: 'ok', warmup: true },
      { value: null, outcome: 'error', warmup: true },
      { value: 5000, outcome: 'timeout' },
      { value: null, outcome: 'error' },
      { value: null, outcome: 'error' },
    ];
    const s = summarizeSamples(samples);
    expect(s.n).toBe(30);
    expect(s.warmup).toBe(2);
    expect(s.failures).toBe(3);
    expect(s.failuresByOutcome).toEqual({ timeout: 1, error: 2 });
    expect(s.median.value).toBe(15.5);
    expect(s.median.ci).toMatchObject({ available: true, lower: 10, upper: 21 });
    expect(s.mean.value).toBe(15.5);
    expect(s.p90).toBe(27);
    expect(s.p99).toBe(30);
    expect([s.min, s.max]).toEqual([1, 30]);
  });

  it('refuses an ok sample without a value', () => {
    expect(() => summarizeSamples([{ value: null, outcome: 'ok' }])).toThrow(RangeError);
  });

  it('group by the given fields, labels included canonically', () => {
    const recs = [
      { experiment: 'e', platform: 'p1', value: 1, outcome: 'ok', labels: { b: 1, a: 'x' } },
      { experiment: 'e', platform: 'p1', value: 3, outcome: 'ok', labels: { a: 'x', b: 1 } },
      { experiment: 'e', platform: 'p2', value: 2, outcome: 'ok', labels: { a: 'x', b: 1 } },
    ];
    const g = summarizeGroups(recs, ['experiment', 'platform', 'labels']);
    expect(g.map((x) => [x.key.platform, x.key.labels, x.summary.n, x.summary.median.value])).toEqual([
      ['p1', '{"a":"x","b":1}', 2, 2],
      ['p2', '{"a":"x","b":1}', 1, 2],
    ]);
  });
});

describe('per-window summaries', () => {
  it('are pinned on a fixed timed sample, including an empty window', () => {
    const t0 = 1_000_000;
    const samples = [
      ...Array.from({ length: 10 }, (_, i) => ({ t: t0 + i * 10, value: i + 1, outcome: 'ok' })), // window 0: 1..10
      { t: t0 + 150, value: null, outcome: 'error' }, // window 1: one error only
      ...Array.from({ length: 100 }, (_, i) => ({ t: t0 + 300 + i, value: 100 - i, outcome: 'ok' })), // window 3
      { t: t0 + 301, value: 9999, outcome: 'ok', warmup: true },
    ];
    const w = windowSummaries(samples, { windowMs: 100, t0 });
    expect(w.map((x) => [x.offsetMs, x.count, x.ok, x.errors, x.warmup, x.p50, x.p90, x.p99, x.max])).toEqual([
      [0, 10, 10, 0, 0, 5, 9, 10, 10],
      [100, 1, 0, 1, 0, null, null, null, null],
      [200, 0, 0, 0, 0, null, null, null, null],
      [300, 100, 100, 0, 1, 50, 90, 99, 100],
    ]);
    expect(windowSummaries([], { windowMs: 10 })).toEqual([]);
    expect(() => windowSummaries(samples, { windowMs: 0 })).toThrow(RangeError);
  });
});

describe('seeded random numbers', () => {
  it('are deterministic in the seed and pinned', () => {
    const a = seededRng(42);
    const b = seededRng(42);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(seededRng(43)()).not.toBe(xs[0]);
    const r = seededRng(1);
    let sum = 0;
    for (let i = 0; i < 100_000; i++) sum += r();
    expect(sum / 100_000).toBeCloseTo(0.5, 2);
    expect(() => seededRng(1.5)).toThrow(RangeError);
  });
});
