import { describe, expect, it } from 'vitest';
import { minimumDetectableRatio, roundsToDetect } from './power.js';

const o = { threshold: 0.05, level: 0.95, power: 0.8 };

describe('the paired gate\'s power', () => {
  it('gives the minimum detectable ratio (pinned: t_{0.975,7} + t_{0.8,7} = 3.26065 from scipy.stats.t.ppf)', () => {
    // exp(ln 1.05 + 3.2606538959 * 0.3 / sqrt(8)) = 1.483842098274627 (scipy, computed apart)
    expect(minimumDetectableRatio(0.3, 8, o)).toBeCloseTo(1.483842098274627, 9);
    // No spread: only the threshold is left to cross.
    expect(minimumDetectableRatio(0, 8, o)).toBeCloseTo(1.05, 12);
    expect(minimumDetectableRatio(0.3, 1, o)).toBeNull();
    expect(minimumDetectableRatio(Number.NaN, 8, o)).toBeNull();
  });

  it('more rounds, or less noise, see a smaller slowdown', () => {
    const at = (sd: number, r: number) => minimumDetectableRatio(sd, r, o)!;
    expect(at(0.3, 16)).toBeLessThan(at(0.3, 8));
    expect(at(0.1, 8)).toBeLessThan(at(0.3, 8));
  });

  it('gives the fewest rounds that reach a target, and none for a target at or under the threshold', () => {
    const r = roundsToDetect(0.1, 0.05, o)!;
    expect(r).toBe(12);
    expect(minimumDetectableRatio(0.05, r, o)!).toBeLessThanOrEqual(1.1);
    expect(minimumDetectableRatio(0.05, r - 1, o)!).toBeGreaterThan(1.1);
    expect(roundsToDetect(0.1, 0.3, o)).toBe(329);
    expect(roundsToDetect(0.05, 0.3, o)).toBeNull();
    expect(roundsToDetect(0.1, 0.3, o, 100)).toBeNull();
  });
});
