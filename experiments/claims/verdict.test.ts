import { describe, expect, it } from 'vitest';
import { bootstrapMedians, combineVerdicts, exactVerdict, medianRatio, pairedRatio, ratioVerdict, VERDICTS, type RatioEvidence, type Verdict } from './verdict.js';

const ev = (ratio: number, lower: number | null, upper: number | null): RatioEvidence => ({ ratio, lower, upper, n: 30, method: 'test' });

describe('ratioVerdict: the interval against 1', () => {
  it.each<[string, RatioEvidence | null, Verdict]>([
    ['interval above 1', ev(1.8, 1.4, 2.3), 'reproduced'],
    ['interval just above 1', ev(1.02, 1.001, 1.05), 'reproduced'],
    ['interval below 1', ev(0.7, 0.6, 0.8), 'not reproduced'],
    ['interval across 1', ev(1.3, 0.9, 1.8), 'inconclusive'],
    ['interval touching 1 from above', ev(1.2, 1, 1.5), 'inconclusive'],
    ['point above 1 but no interval', ev(5, null, null), 'descriptive only'],
    ['point below 1 but no interval', ev(0.2, null, null), 'descriptive only'],
    ['no evidence', null, 'not measured'],
    ['an undefined ratio', ev(Number.NaN, null, null), 'not measured'],
  ])('%s', (_name, evidence, verdict) => {
    expect(ratioVerdict(evidence)).toBe(verdict);
  });
});

describe('exactVerdict: a model without sampling noise', () => {
  it.each<[boolean | null, Verdict]>([
    [true, 'reproduced'],
    [false, 'not reproduced'],
    [null, 'not measured'],
  ])('%s', (holds, verdict) => expect(exactVerdict(holds)).toBe(verdict));
});

describe('combineVerdicts: the rungs of a ladder', () => {
  it.each<[Verdict[], Verdict]>([
    [['reproduced', 'reproduced', 'reproduced'], 'reproduced'],
    [['reproduced', 'not reproduced', 'descriptive only'], 'not reproduced'],
    [['reproduced', 'not measured'], 'not measured'],
    [['reproduced', 'inconclusive', 'descriptive only'], 'inconclusive'],
    [['reproduced', 'descriptive only'], 'descriptive only'],
    [[], 'not measured'],
  ])('%j → %s', (parts, verdict) => expect(combineVerdicts(parts)).toBe(verdict));

  it('every verdict it returns is an allowed one', () => {
    for (const a of VERDICTS) for (const b of VERDICTS) expect(VERDICTS).toContain(combineVerdicts([a, b]));
  });
});

describe('the intervals behind the verdicts', () => {
  const ramp = (n: number, from: number, step: number): number[] => Array.from({ length: n }, (_, i) => from + i * step);

  it('two clearly separated samples of 30 give an interval above 1, the same for the same seed', () => {
    const a = ramp(30, 10, 0.1); // 10.0 .. 12.9
    const b = ramp(30, 20, 0.1); // 20.0 .. 22.9
    const e = medianRatio(a, b, 7);
    expect(e).not.toBeNull();
    expect(e!.ratio).toBeCloseTo(21.45 / 11.45, 10);
    expect(e!.lower!).toBeGreaterThan(1);
    expect(e!.upper!).toBeGreaterThanOrEqual(e!.ratio);
    expect(ratioVerdict(e)).toBe('reproduced');
    expect(medianRatio(a, b, 7)).toEqual(e);
    expect(ratioVerdict(medianRatio(b, a, 7))).toBe('not reproduced');
  });

  it('the same distribution on both sides leaves the verdict open', () => {
    const a = ramp(40, 10, 0.5);
    const b = [...a].reverse();
    expect(ratioVerdict(medianRatio(a, b, 3))).toBe('inconclusive');
  });

  it('20 values or fewer in any sample: the ratio, but no interval and no verdict', () => {
    const e = medianRatio(ramp(20, 10, 1), ramp(30, 100, 1), 1);
    expect(e).toMatchObject({ lower: null, upper: null, n: 20 });
    expect(e!.ratio).toBeCloseTo(114.5 / 19.5, 10);
    expect(ratioVerdict(e)).toBe('descriptive only');
  });

  it('an empty sample is not measured', () => {
    expect(medianRatio([], [1, 2, 3], 1)).toBeNull();
  });

  it('a statistic over several samples (the per-hop ratio) follows the medians', () => {
    // per hop: grouped (30 − 10) / 7, per-function (110 − 10) / 7: per-function is 5x grouped
    const e = bootstrapMedians([ramp(25, 9, 0.1), ramp(25, 29, 0.1), ramp(25, 9, 0.1), ramp(25, 109, 0.1)], ([g1, gL, p1, pL]) => (pL! - p1!) / (gL! - g1!), 11);
    expect(e!.ratio).toBeCloseTo(5, 6);
    expect(ratioVerdict(e)).toBe('reproduced');
  });

  it('paired ratios use the median interval of the report (n > 20)', () => {
    expect(ratioVerdict(pairedRatio(ramp(25, 1.5, 0.01)))).toBe('reproduced');
    expect(ratioVerdict(pairedRatio(ramp(10, 1.5, 0.01)))).toBe('descriptive only');
    expect(pairedRatio([Number.NaN])).toBeNull();
  });
});
