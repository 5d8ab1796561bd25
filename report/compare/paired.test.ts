import { describe, expect, it } from 'vitest';
import { comparePaired } from './paired.js';

const pairsOf = (ratios: number[], a = 2) => ratios.map((r) => ({ a, b: a * r }));

describe('comparePaired: the paired A/B gate', () => {
  it('gives the geometric mean ratio and a Student-t interval on the log ratios (pinned to values computed apart)', () => {
    // ln ratios' mean and sd, t_{0.975, 4} = 2.776445 (NIST table: 2.776): exp(mean ± t·sd/√5).
    const r = comparePaired(pairsOf([1.1, 1.2, 1.0, 1.15, 1.05]), { threshold: 0.05 });
    expect(r.ratio).toBeCloseTo(1.097721610541996, 9);
    expect(r.ci!.lower).toBeCloseTo(1.0037630371063282, 9);
    expect(r.ci!.upper).toBeCloseTo(1.2004753011474651, 9);
    expect(r.verdict).toBe('same');
    expect(r.note).toMatch(/slower, by an amount not yet resolved against 5%/);
    expect(r.roundRatios).toHaveLength(5);
  });

  it('calls a steady 11% slowdown slower at a 5% threshold, and the same pairs reversed faster', () => {
    const ratios = [1.12, 1.1, 1.11, 1.09, 1.13, 1.1];
    const r = comparePaired(pairsOf(ratios), { threshold: 0.05 });
    expect(r.ratio).toBeCloseTo(1.108252072678248, 9);
    expect(r.ci!.lower).toBeCloseTo(1.0929396809310852, 9);
    expect(r.ci!.upper).toBeCloseTo(1.1237789953323858, 9);
    expect(r).toMatchObject({ verdict: 'slower', regression: true });
    const back = comparePaired(pairsOf(ratios).map(({ a, b }) => ({ a: b, b: a })), { threshold: 0.05 });
    expect(back).toMatchObject({ verdict: 'faster', regression: false });
    expect(back.ci!.upper).toBeCloseTo(1 / 1.0929396809310852, 9);
  });

  it('pairs: a machine that slows both sides alike in some rounds gives no verdict', () => {
    const noisy = [1, 3, 1.5, 0.8, 2.2, 1.1].map((load) => ({ a: 10 * load, b: 10 * load * 1.01 }));
    const r = comparePaired(noisy, { threshold: 0.05 });
    expect(r.verdict).toBe('same');
    expect(r.ci!.lower).toBeCloseTo(1.01, 9);
    expect(r.note).toMatch(/slower, but by less than 5%/);
  });

  it('reports what the run could tell apart: its spread, the smallest slowdown it would catch, the rounds for the target', () => {
    const ratios = [1.1, 1.2, 1.0, 1.15, 1.05];
    const r = comparePaired(pairsOf(ratios), { threshold: 0.05 });
    const logs = ratios.map(Math.log);
    const m = logs.reduce((a, b) => a + b, 0) / 5;
    expect(r.spread).toBeCloseTo(Math.sqrt(logs.reduce((s, x) => s + (x - m) ** 2, 0) / 4), 12);
    // t_{0.975,4} + t_{0.8,4} = 2.776445 + 0.940965 (scipy.stats.t.ppf)
    expect(r.mde).toBeCloseTo(Math.exp(Math.log(1.05) + (2.7764451051977934 + 0.9409645772351816) * r.spread! / Math.sqrt(5)), 6);
    expect(r.roundsForTarget).toBeGreaterThan(5);
    // 'same' from a run that could not have seen a 10% slowdown says so.
    expect(r.verdict).toBe('same');
    expect(r.note).toMatch(/could not tell: this run sees a slowdown of [\d.]+% or more \(80% power\); to see 10%, about \d+ rounds would at this spread/);
    const steady = comparePaired(pairsOf([1.01, 1, 0.99, 1, 1.01, 0.99]), { threshold: 0.05 });
    expect(steady.mde!).toBeLessThan(1.1);
    expect(steady.note).not.toMatch(/could not tell/);
    expect(() => comparePaired(pairsOf([1, 1, 1, 1, 1]), { target: 0.05 })).toThrow(RangeError);
    expect(() => comparePaired(pairsOf([1, 1, 1, 1, 1]), { power: 1 })).toThrow(RangeError);
  });

  it('says insufficient data for too few rounds or an undefined ratio, and refuses bad options', () => {
    expect(comparePaired(pairsOf([1.5, 1.5, 1.5, 1.5]))).toMatchObject({ verdict: 'insufficient data', ci: null, note: 'fewer than 5 rounds (4)' });
    expect(comparePaired([...pairsOf([1, 1, 1, 1]), { a: 0, b: 1 }])).toMatchObject({ verdict: 'insufficient data', ratio: null });
    expect(() => comparePaired(pairsOf([1, 1, 1, 1, 1]), { threshold: 0 })).toThrow(RangeError);
    expect(() => comparePaired(pairsOf([1, 1, 1, 1, 1]), { minRounds: 1 })).toThrow(RangeError);
  });
});
