import { describe, expect, it } from 'vitest';
import { exactPercentile, exactPercentiles, histogramOf, mergeHistograms, MsHistogram } from './percentiles.js';
import { seededRng } from './random.js';

describe('exact percentiles (nearest rank)', () => {
  it('are pinned on a fixed sample', () => {
    const xs = [15, 20, 35, 40, 50];
    expect(exactPercentile(xs, 5)).toBe(15);
    expect(exactPercentile(xs, 30)).toBe(20);
    expect(exactPercentile(xs, 40)).toBe(20);
    expect(exactPercentile(xs, 50)).toBe(35);
    expect(exactPercentile(xs, 100)).toBe(50);
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(exactPercentiles(hundred, [50, 90, 99] as const)).toEqual({ 50: 50, 90: 90, 99: 99 });
    expect(exactPercentile([], 50)).toBeNaN();
    expect(() => exactPercentile(xs, 0)).toThrow(RangeError);
  });

  // A fixed sample, deliberately unsorted: sorted it is 1..10 with 10 values.
  const oneToTen = [7, 3, 10, 1, 9, 2, 8, 4, 6, 5];
  it.each([
    [10, 1],
    [11, 2],
    [50, 5],
    [51, 6],
    [90, 9],
    [91, 10],
    [99, 10],
    [100, 10],
  ])('p%d of 1..10 is %d', (p, expected) => {
    expect(exactPercentile(oneToTen, p)).toBe(expected);
  });

  it('handle one value and fractions, leave the input in its order, and reject p outside (0, 100]', () => {
    expect(exactPercentile([4.5], 99)).toBe(4.5);
    expect(exactPercentile([0.25, 0.125, 0.5], 50)).toBe(0.25);
    const copy = [...oneToTen];
    exactPercentiles(oneToTen, [50, 99]);
    expect(oneToTen).toEqual(copy);
    expect(() => exactPercentile(oneToTen, 101)).toThrow(RangeError);
    expect(() => exactPercentile(oneToTen, Number.NaN)).toThrow(RangeError);
  });
});

describe('histograms', () => {
  const rng = seededRng(7);
  // two "workers" with different latency distributions
  const a = Array.from({ length: 5000 }, () => 1 + rng() * 4);
  const b = Array.from({ length: 1000 }, () => 20 + rng() * 80);

  it('merged histograms give the percentiles of all samples, within 0.1%', () => {
    const merged = mergeHistograms([histogramOf(a), histogramOf(b)]);
    expect(merged.count).toBe(6000);
    for (const p of [50, 90, 99]) {
      const exact = exactPercentile([...a, ...b], p);
      expect(Math.abs(merged.percentile(p) - exact) / exact).toBeLessThan(0.001);
    }
  });

  it('averaging the workers percentiles would be wrong (the reason to merge)', () => {
    const avgP50 = (histogramOf(a).percentile(50) + histogramOf(b).percentile(50)) / 2;
    const trueP50 = exactPercentile([...a, ...b], 50);
    expect(trueP50).toBeLessThan(5);
    expect(avgP50).toBeGreaterThan(30);
  });

  it('round-trip through the compressed base64 encoding', () => {
    const h = histogramOf(b);
    const back = MsHistogram.fromBase64(h.toBase64());
    expect(back.count).toBe(h.count);
    expect(back.percentile(99)).toBe(h.percentile(99));
    expect(() => new MsHistogram().record(-1)).toThrow(RangeError);
  });
});
