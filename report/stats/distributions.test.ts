import { describe, expect, it } from 'vitest';
import { binomialCdf, lnGamma, normalCdf, normalQuantile, regularizedBeta, studentTCdf, studentTQuantile } from './distributions.js';

describe('Student-t quantiles', () => {
  it('match the closed forms for 1 and 2 degrees of freedom to 1e-9', () => {
    // df = 1 is the Cauchy distribution: t_p = tan(π(p − ½)); df = 2: t_p = (2p − 1) / √(2p(1 − p)).
    for (const p of [0.6, 0.9, 0.95, 0.975, 0.995, 0.9995]) {
      expect(studentTQuantile(p, 1)).toBeCloseTo(Math.tan(Math.PI * (p - 0.5)), 9);
      expect(studentTQuantile(p, 2)).toBeCloseTo((2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 9);
    }
  });

  it('match a published t table (two-sided 95%, 99%, one-sided 95%) to its 3 decimals', () => {
    // e.g. NIST/SEMATECH e-Handbook of Statistical Methods, table 1.3.6.7.2 (upper critical values of t).
    const table: [number, number, number][] = [
      [0.975, 3, 3.182], [0.975, 5, 2.571], [0.975, 10, 2.228], [0.975, 20, 2.086], [0.975, 30, 2.042], [0.975, 100, 1.984],
      [0.995, 10, 3.169], [0.995, 30, 2.75], [0.95, 20, 1.725], [0.95, 60, 1.671], [0.9995, 1, 636.619],
    ];
    for (const [p, df, t] of table) expect(studentTQuantile(p, df)).toBeCloseTo(t, 3);
  });

  it('is symmetric, inverts the CDF and tends to the normal quantile', () => {
    expect(studentTQuantile(0.025, 7)).toBeCloseTo(-studentTQuantile(0.975, 7), 12);
    expect(studentTCdf(studentTQuantile(0.9, 4.5), 4.5)).toBeCloseTo(0.9, 12);
    expect(studentTQuantile(0.5, 3)).toBe(0);
    expect(studentTQuantile(0.975, 1e7)).toBeCloseTo(normalQuantile(0.975), 5);
    expect(() => studentTQuantile(1, 3)).toThrow(RangeError);
    expect(() => studentTQuantile(0.9, 0)).toThrow(RangeError);
  });
});

describe('normal distribution', () => {
  it('quantiles to 1e-9', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 9);
    expect(normalQuantile(0.995)).toBeCloseTo(2.575829303548901, 9);
    expect(normalQuantile(0.05)).toBeCloseTo(-1.6448536269514722, 9);
    expect(normalCdf(1)).toBeCloseTo(0.8413447460685429, 12);
  });
});

describe('special functions', () => {
  it('log-gamma, incomplete beta and binomial CDF on exact values', () => {
    expect(lnGamma(1)).toBeCloseTo(0, 13);
    expect(lnGamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(lnGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13);
    expect(regularizedBeta(0.5, 3.7, 3.7)).toBeCloseTo(0.5, 13);
    expect(regularizedBeta(0.3, 1, 1)).toBeCloseTo(0.3, 13);
    expect(regularizedBeta(0.3, 4, 1)).toBeCloseTo(0.3 ** 4, 13);
    // P(X <= 5), X ~ Bin(20, 1/2) = (1 + 20 + 190 + 1140 + 4845 + 15504) / 2^20
    expect(binomialCdf(5, 20)).toBeCloseTo(21700 / 1048576, 14);
    expect(binomialCdf(-1, 20)).toBe(0);
    expect(binomialCdf(20, 20)).toBe(1);
  });
});
