import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMfError } from '../../platform/errors.js';
import { seededRng } from '../stats/random.js';
import { bootstrapMedianRatio, medianInPlace, selectInPlace } from './bootstrap.js';
import { compareRuns, compareSamples } from './compare.js';
import { historyOf } from './history.js';
import { parseMetricStream, readMetricStream } from './stream.js';

/** Seeded log-normal latencies around `medianMs` (σ = 0.25), like a warm invocation's client latency. */
function latencies(n: number, seed: number, medianMs = 5, factor = 1): number[] {
  const rng = seededRng(seed);
  return Array.from({ length: n }, () => {
    const z = Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    return medianMs * Math.exp(0.25 * z) * factor;
  });
}

async function writeRun(root: string, name: string, startedAt: string, commit: string, records: object[]): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  const manifest = { runId: name, kind: 'test', startedAt, git: { commit, dirty: false }, node: process.version, kernel: '', cpu: { model: '', count: 1 }, memoryBytes: 0, host: '', timer: '', config: {} };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  await writeFile(join(dir, 'records.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return dir;
}

const rec = (value: number, extra: object = {}) => ({ experiment: 'cold-start', platform: 'microfunctions/grouped', metric: 'client_latency_ms', temperature: 'warm', value, outcome: 'ok', ...extra });

describe('quickselect median', () => {
  it('agrees with sorting on random and tied data', () => {
    const rng = seededRng(3);
    for (const n of [1, 2, 3, 10, 101, 1000]) {
      for (const ties of [false, true]) {
        const xs = Array.from({ length: n }, () => (ties ? Math.floor(rng() * 5) : rng()));
        const sorted = [...xs].sort((a, b) => a - b);
        const med = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
        expect(medianInPlace(Float64Array.from(xs))).toBe(med);
        expect(selectInPlace(Float64Array.from(xs), 0)).toBe(sorted[0]);
      }
    }
  });
});

describe('bootstrap of the median ratio', () => {
  it('is deterministic in the seed and brackets the true ratio', () => {
    const base = latencies(300, 1);
    const cand = latencies(300, 2, 5, 1.5);
    const a = bootstrapMedianRatio(base, cand, { level: 0.95, resamples: 2000, seed: 9 });
    const b = bootstrapMedianRatio(base, cand, { level: 0.95, resamples: 2000, seed: 9 });
    expect(a).toEqual(b);
    expect(a!.lower).toBeLessThan(1.5);
    expect(a!.upper).toBeGreaterThan(1.5);
    expect(a!.lower).toBeLessThanOrEqual(a!.ratio);
    expect(a!.upper).toBeGreaterThanOrEqual(a!.ratio);
    expect(bootstrapMedianRatio([0, 0, 0], [1, 2, 3], { level: 0.95, resamples: 100, seed: 1 })).toBeNull();
  });
});

describe('compareSamples (the gate, on seeded samples)', () => {
  it('passes two samples of the same distribution, for every one of 20 seed pairs', () => {
    for (let s = 0; s < 20; s++) {
      const r = compareSamples(latencies(200, 100 + s), latencies(200, 200 + s));
      expect(r.regression, `seeds ${100 + s}/${200 + s}: ${r.note}`).toBe(false);
      expect(r.verdict).toBe('same');
    }
  });

  it('catches a 2x slowdown and sees a 2x speed-up', () => {
    const slow = compareSamples(latencies(200, 1), latencies(200, 2, 5, 2));
    expect(slow.verdict).toBe('slower');
    expect(slow.regression).toBe(true);
    expect(slow.ci!.lower).toBeGreaterThan(1.1);
    const fast = compareSamples(latencies(200, 1), latencies(200, 2, 5, 0.5));
    expect(fast.verdict).toBe('faster');
    expect(fast.regression).toBe(false);
  });

  it('does not flag a 3% slowdown with the 10% threshold, even when it is significant', () => {
    const r = compareSamples(latencies(5000, 1), latencies(5000, 2, 5, 1.03));
    expect(r.regression).toBe(false);
    expect(r.verdict).toBe('same');
    expect(r.ratio).toBeGreaterThan(1);
    // with 5000 samples a side the 3% shift is resolved: the interval excludes 1, but stays under 1.10
    expect(r.ci!.lower).toBeGreaterThan(1);
    expect(r.ci!.upper).toBeLessThan(1.1);
    expect(r.note).toMatch(/slower, but by less than 10%/);
    // and a threshold below the resolved shift (the interval starts at about 1.005) does flag it
    expect(compareSamples(latencies(5000, 1), latencies(5000, 2, 5, 1.03), { threshold: 0.001 }).regression).toBe(true);
  });

  it('gives "insufficient data" for tiny samples, which never fail the gate', () => {
    const r = compareSamples(latencies(5, 1), latencies(5, 2, 5, 3));
    expect(r.verdict).toBe('insufficient data');
    expect(r.regression).toBe(false);
    expect(r.ci).toBeNull();
    expect(r.note).toMatch(/fewer than 20/);
  });
});

describe('run directories and the metric stream', () => {
  it('compareRuns reads two run dirs; series are split by temperature and labels; failures and warm-up are counted apart', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mf-compare-'));
    const baseRecords = [
      ...latencies(100, 1).map((v) => rec(v)),
      ...latencies(100, 2, 50).map((v) => rec(v, { temperature: 'cold-worker' })),
      ...latencies(30, 3).map((v) => rec(v, { warmup: true })),
      rec(0, { outcome: 'error', value: null }),
    ];
    const newRecords = [
      ...latencies(100, 4).map((v) => rec(v)),
      ...latencies(100, 5, 100).map((v) => rec(v, { temperature: 'cold-worker' })), // 2x slower cold starts
      ...latencies(10, 6).map((v) => rec(v, { labels: { backend: 'docker' } })),
    ];
    const base = await writeRun(root, 'base', '2026-01-01T00:00:00.000Z', 'aaaa', baseRecords);
    const cand = await writeRun(root, 'new', '2026-01-02T00:00:00.000Z', 'bbbb', newRecords);
    const report = await compareRuns(base, cand);
    expect(report.pass).toBe(false);
    expect(report.regressions).toBe(1);
    const byKey = Object.fromEntries(report.series.map((s) => [`${s.key.temperature}|${s.key.labels}`, s]));
    expect(byKey['cold-worker|']).toMatchObject({ verdict: 'slower', regression: true });
    expect(byKey['warm|']).toMatchObject({ verdict: 'same', baseline: { n: 100, failures: 1, warmup: 30 }, candidate: { n: 100, failures: 0, warmup: 0 } });
    expect(byKey['warm|{"backend":"docker"}']).toMatchObject({ verdict: 'insufficient data', note: 'not in the baseline run' });
    expect(report.baseline.commit).toBe('aaaa');

    const h = await historyOf(root, { metric: 'client_latency_ms', temperature: 'cold-worker' });
    expect(h.points.map((p) => [p.runId, p.commit, p.n])).toEqual([
      ['base', 'aaaa', 100],
      ['new', 'bbbb', 100],
    ]);
    expect(h.points[1]!.median! / h.points[0]!.median!).toBeGreaterThan(1.8);
    expect(h.points[0]!.ci).not.toBeNull();
  });

  it('a bad line is an error that names the line, never skipped', async () => {
    expect(() => parseMetricStream('{"experiment":"e","platform":"p","metric":"m","value":1,"outcome":"ok"}\n{"experiment":"e"}\n')).toThrow(/line 2 .*"platform"/);
    expect(() => parseMetricStream('not json')).toThrow(/line 1 is not valid JSON/);
    expect(() => parseMetricStream('{"experiment":"e","platform":"p","metric":"m","value":null,"outcome":"ok"}')).toThrow(/finite number when outcome is "ok"/);
    expect(parseMetricStream('{"experiment":"e","platform":"p","metric":"m","value":null,"outcome":"timeout","extra":1}\n\n')).toHaveLength(1);
    const root = await mkdtemp(join(tmpdir(), 'mf-compare-'));
    await expect(readMetricStream(join(root, 'missing'))).rejects.toSatisfy((e) => isMfError(e, 'MF_CONFIG_INVALID') && /no such run directory/.test((e as Error).message));
    await expect(readMetricStream(root)).rejects.toThrow(/has no manifest.json/);
  });
});
