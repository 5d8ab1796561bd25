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

  it('says insufficient data for too few rounds or an undefined ratio, and refuses bad options', () => {
    expect(comparePaired(pairsOf([1.5, 1.5, 1.5, 1.5]))).toMatchObject({ verdict: 'insufficient data', ci: null, note: 'fewer than 5 rounds (4)' });
    expect(comparePaired([...pairsOf([1, 1, 1, 1]), { a: 0, b: 1 }])).toMatchObject({ verdict: 'insufficient data', ratio: null });
    expect(() => comparePaired(pairsOf([1, 1, 1, 1, 1]), { threshold: 0 })).toThrow(RangeError);
    expect(() => comparePaired(pairsOf([1, 1, 1, 1, 1]), { minRounds: 1 })).toThrow(RangeError);
  });
});
