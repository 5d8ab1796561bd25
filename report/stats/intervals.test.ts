import { describe, expect, it } from 'vitest';
import { exactMedianRanks, LE_BOUDEC_TABLE_95, leBoudecRanks, meanCI, medianCI, medianIntervalCoverage } from './intervals.js';

const oneToN = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('mean with a Student-t interval', () => {
  it('is pinned on 1..10 (R: t.test(1:10) gives 3.334149 7.665851)', () => {
    const m = meanCI([7, 3, 1, 10, 5, 2, 8, 4, 9, 6]);
    expect(m.value).toBe(5.5);
    expect(m.n).toBe(10);
    if (!m.ci.available) throw new Error('expected an interval');
    expect(m.ci.lower).toBeCloseTo(3.334149, 6);
    expect(m.ci.upper).toBeCloseTo(7.665851, 6);
    expect(m.ci.level).toBe(0.95);
  });

  it('takes another level (99%: R gives 2.388519 8.611481)', () => {
    const m = meanCI(oneToN(10), 0.99);
    if (!m.ci.available) throw new Error('expected an interval');
    expect(m.ci.lower).toBeCloseTo(2.388519, 6);
    expect(m.ci.upper).toBeCloseTo(8.611481, 6);
  });

  it('says why there is no interval for n < 2, and refuses bad input', () => {
    expect(meanCI([4]).ci).toMatchObject({ available: false, reason: expect.stringContaining('n < 2') });
    expect(meanCI([]).ci).toMatchObject({ available: false, reason: 'no samples' });
    expect(() => meanCI([1, NaN])).toThrow(RangeError);
    expect(() => meanCI([1, 2], 1.5)).toThrow(RangeError);
  });
});

describe('median with the Le Boudec interval', () => {
  it('every Table A.1 entry (0.95) has exact binomial coverage >= 0.95', () => {
    expect(Object.keys(LE_BOUDEC_TABLE_95)).toHaveLength(65);
    for (const [n, [j, k]] of Object.entries(LE_BOUDEC_TABLE_95)) {
      expect(medianIntervalCoverage(Number(n), j, k), `n=${n}`).toBeGreaterThanOrEqual(0.95);
    }
  });

  it('the exact coverage matches published values (Table A.7 of a standard text: n=17 [5,13] 95.1%, n=18 [5,14] 96.9%, n=20 [6,15] 95.9%)', () => {
    expect(medianIntervalCoverage(17, 5, 13)).toBeCloseTo(0.951, 3);
    expect(medianIntervalCoverage(18, 5, 14)).toBeCloseTo(0.969, 3);
    expect(medianIntervalCoverage(20, 6, 15)).toBeCloseTo(0.959, 3);
    expect(medianIntervalCoverage(14, 3, 12)).toBeCloseTo(0.987, 3);
  });

  it('uses the table up to n = 70 and the normal approximation above', () => {
    expect(leBoudecRanks(30)).toEqual({ j: 10, k: 21, source: 'table' });
    expect(leBoudecRanks(70)).toEqual({ j: 27, k: 44, source: 'table' });
    // n = 71: ⌊35.5 − 0.98·√71⌋ = ⌊27.24⌋ = 27, ⌈36.5 + 8.26⌉ = 45
    expect(leBoudecRanks(71)).toEqual({ j: 27, k: 45, source: 'normal-approximation' });
    // n = 100: ⌊50 − 9.8⌋ = 40, ⌈51 + 9.8⌉ = 61
    expect(leBoudecRanks(100)).toEqual({ j: 40, k: 61, source: 'normal-approximation' });
    // 0.99 at n = 100: 1.29·10 = 12.9 -> [37, 64]
    expect(leBoudecRanks(100, 0.99)).toEqual({ j: 37, k: 64, source: 'normal-approximation' });
    // a level the book does not tabulate, n <= 70: the narrowest exact pair
    const r = leBoudecRanks(40, 0.9);
    expect(r?.source).toBe('exact-binomial');
    expect(medianIntervalCoverage(40, r!.j, r!.k)).toBeGreaterThanOrEqual(0.9);
    expect(exactMedianRanks(40, 0.9)).toEqual([r!.j, r!.k]);
  });

  it('is pinned on fixed samples', () => {
    const shuffled30 = [17, 3, 29, 11, 24, 6, 20, 1, 27, 14, 9, 22, 30, 5, 16, 12, 26, 2, 19, 8, 25, 13, 28, 4, 21, 10, 18, 7, 23, 15];
    const m30 = medianCI(shuffled30);
    expect(m30.value).toBe(15.5);
    expect(m30.ci).toMatchObject({ available: true, lower: 10, upper: 21 });
    const m100 = medianCI(oneToN(100).map((x) => x * 0.5));
    expect(m100.value).toBe(25.25);
    expect(m100.ci).toMatchObject({ available: true, lower: 20, upper: 30.5 });
  });

  it('is unavailable for n <= 20, with the reason', () => {
    const m = medianCI(oneToN(20));
    expect(m.value).toBe(10.5);
    expect(m.ci.available).toBe(false);
    if (!m.ci.available) expect(m.ci.reason).toMatch(/n = 20 <= 20/);
    expect(medianCI(oneToN(21)).ci).toMatchObject({ available: true, lower: 6, upper: 16 });
  });
});
