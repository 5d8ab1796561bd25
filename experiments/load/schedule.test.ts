import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMfError } from '../../platform/errors.js';
import { constant, customSchedule, meanRate, poisson, readSchedule, scheduleHash, spikes, step, writeSchedule } from './schedule.js';

const PINNED_SEED7 = ['2.170972', '6.649981', '25.010043'];
const countIn = (offsets: number[], a: number, b: number) => offsets.filter((o) => o >= a && o < b).length;

describe('schedule generators', () => {
  it('constant: evenly spaced, exact count and rate', () => {
    const s = constant(200, 5000);
    expect(s.offsetsMs).toHaveLength(1000);
    expect(s.offsetsMs[0]).toBe(0);
    expect(s.offsetsMs[1]).toBe(5);
    expect(s.offsetsMs[999]).toBe(4995);
    expect(meanRate(s)).toBe(200);
    expect(constant(3, 1000).offsetsMs).toEqual([0, 1000 / 3, 2000 / 3]);
  });

  it('poisson: deterministic in the seed, count within 4 sd of rate·duration, exponential gaps', () => {
    const a = poisson(100, 60_000, 7);
    expect(poisson(100, 60_000, 7).offsetsMs).toEqual(a.offsetsMs);
    expect(poisson(100, 60_000, 8).offsetsMs).not.toEqual(a.offsetsMs);
    expect(scheduleHash(poisson(100, 60_000, 7))).toBe(scheduleHash(a));
    // N ~ Poisson(6000): sd ≈ 77.5
    expect(Math.abs(a.offsetsMs.length - 6000)).toBeLessThan(4 * 77.5);
    const gaps = a.offsetsMs.slice(1).map((o, i) => o - (a.offsetsMs[i] as number));
    const meanGap = gaps.reduce((x, y) => x + y, 0) / gaps.length;
    expect(meanGap).toBeCloseTo(10, 0);
    // exponential: the share of gaps above the mean is e^-1 ≈ 0.368
    expect(gaps.filter((g) => g > 10).length / gaps.length).toBeCloseTo(Math.exp(-1), 1);
    for (const o of a.offsetsMs) expect(o).toBeLessThan(60_000);
    // pinned: the offsets of seed 7 must not change between versions, or old schedules would not replay identically
    expect(a.offsetsMs.slice(0, 3).map((x) => x.toFixed(6))).toEqual(PINNED_SEED7);
  });

  it('step: each step at its own rate', () => {
    const s = step([10, 50, 0, 20], 2000);
    expect(s.durationMs).toBe(8000);
    expect([countIn(s.offsetsMs, 0, 2000), countIn(s.offsetsMs, 2000, 4000), countIn(s.offsetsMs, 4000, 6000), countIn(s.offsetsMs, 6000, 8000)]).toEqual([20, 100, 0, 40]);
    expect(s.phases).toHaveLength(4);
  });

  it('spikes: base rate plus spikes of the given height, width and count', () => {
    const s = spikes(10, 200, 1000, 3, 30_000);
    expect(s.phases.map((p) => [p.startMs, p.endMs])).toEqual([
      [4500, 5500],
      [14500, 15500],
      [24500, 25500],
    ]);
    expect(s.offsetsMs).toHaveLength(10 * 30 + 3 * 200);
    expect(countIn(s.offsetsMs, 4500, 5500)).toBe(10 + 200);
    expect(countIn(s.offsetsMs, 0, 4500)).toBe(45);
    const seeded = spikes(10, 200, 1000, 3, 30_000, 5);
    expect(spikes(10, 200, 1000, 3, 30_000, 5)).toEqual(seeded);
    expect(Math.abs(countIn(seeded.offsetsMs, 14500, 15500) - 210)).toBeLessThan(4 * Math.sqrt(210));
    expect(() => spikes(10, 200, 20_000, 3, 30_000)).toThrow(/do not fit/);
  });

  it('refuses bad parameters with MF_CONFIG_INVALID', () => {
    for (const f of [() => constant(0, 1000), () => constant(10, -1), () => poisson(10, 1000, 1.5), () => step([], 100), () => customSchedule('x', [-1])]) {
      expect(f).toThrow(expect.objectContaining({ code: 'MF_CONFIG_INVALID' }));
    }
  });
});

describe('schedule files', () => {
  it('write then read gives the identical schedule (bit for bit offsets)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mf-sched-'));
    const s = spikes(5, 100, 500, 2, 10_000, 11);
    const path = join(dir, 's.json');
    await writeSchedule(path, s);
    const back = await readSchedule(path);
    expect(back).toEqual(s);
    expect(back.offsetsMs.every((o, i) => Object.is(o, s.offsetsMs[i]))).toBe(true);
    expect(scheduleHash(back)).toBe(scheduleHash(s));
  });

  it('a damaged file is refused with the reason', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mf-sched-'));
    const path = join(dir, 's.json');
    await writeSchedule(path, constant(10, 1000));
    const v = JSON.parse(await readFile(path, 'utf8'));
    v.offsetsMs[3] = -1;
    await writeFile(path, JSON.stringify(v));
    await expect(readSchedule(path)).rejects.toSatisfy((e) => isMfError(e, 'MF_CONFIG_INVALID') && /offsetsMs\[3\]/.test((e as Error).message));
    await writeFile(path, '{');
    await expect(readSchedule(path)).rejects.toThrow(/not valid JSON/);
  });
});
