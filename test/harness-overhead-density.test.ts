/**
 * End to end: pipeline-overhead and density in quick mode against the embedded platform for both presets (real
 * processes, real HTTP on port 0), then the run directory: records per request as the configs imply, compute sum <=
 * total for every measured execution, memory per idle function > 0 and larger for per-function than for grouped; and
 * the history chart (`mfbench history --out`) from the run, as SVG and PNG.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPERIMENTS } from '../dist/experiments/runner/registry.js';
import { computeSumMs } from '../dist/experiments/pipeline-overhead.js';
import { slopeCI } from '../dist/experiments/density.js';
import { e2eMs } from '../dist/experiments/runner/describe.js';
import type { RawRecord, HarnessManifest } from '../dist/report/run-dir.js';
import type { Row } from '../dist/report/types.js';
import { removeRun, runAndProcess } from './helpers/harness.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

describe('slopeCI', () => {
  it('fits a line exactly and gives its Student-t interval', () => {
    expect(slopeCI([[1, 3], [2, 5], [4, 9], [8, 17]])).toMatchObject({ slope: 2, intercept: 1, lo: 2, hi: 2, n: 4 });
    const s = slopeCI([[1, 1], [2, 3], [3, 2], [4, 5]]);
    // slope 1.1, residual SE sqrt(2.7 / 2), Sxx 5, t(0.975, 2) = 4.302653
    expect(s.slope).toBeCloseTo(1.1, 10);
    expect(s.hi! - s.slope!).toBeCloseTo(4.302653 * Math.sqrt(2.7 / 2 / 5), 4);
    expect(slopeCI([[1, 1], [1, 2]])).toMatchObject({ slope: null, lo: null });
  });
});

describe('mfbench run: pipeline-overhead and density, quick, embedded platform, both presets', () => {
  let parent: string;
  let dir: string;
  let manifest: HarnessManifest;
  let raw: RawRecord[];
  let summary: Record<string, { summary: Row[]; notes: string[] }>;

  beforeAll(async () => {
    ({ parent, dir, manifest, raw } = await runAndProcess('mfh-od-', {
      experiments: ['pipeline-overhead', 'density'],
      size: 'quick',
      seed: 3,
      variants: ['grouped', 'per-function'].map((preset) => ({ platform: 'microfunctions', backend: 'process', preset })),
    }));
    summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')).experiments;
  }, 600_000);

  afterAll(async () => {
    await removeRun(parent);
  });

  it('writes one raw line per request, as many as the configs imply', () => {
    const po = EXPERIMENTS['pipeline-overhead'].sizes.quick;
    const de = EXPERIMENTS.density.sizes.quick;
    const poRequests = 2 * po.pipelines.reduce((n, p) => n + (p.warmup ?? po.warmup) + (p.executions ?? po.executions), 0);
    // A concurrent batch whose sample missed a handler is measured again (label `attempt`): those add requests.
    const density = raw.filter((r) => r.experiment === 'density');
    const retried = density.filter((r) => Number(r.labels.attempt) > 0).length;
    const deRequests = 2 * de.rounds * (Math.max(...de.functionCounts) + 2 * de.concurrency.reduce((a, b) => a + b, 0));
    expect(raw.filter((r) => r.experiment === 'pipeline-overhead')).toHaveLength(poRequests);
    expect(density).toHaveLength(deRequests + retried);
    expect(manifest.experiments.map((e) => [e.name, e.status, e.requests])).toEqual([
      ['pipeline-overhead', 'complete', poRequests],
      ['density', 'complete', deRequests + retried],
    ]);
    expect(new Set(raw.map((r) => r.preset))).toEqual(new Set(['grouped', 'per-function']));
    expect(raw.every((r) => r.outcome === 'ok')).toBe(true);
  });

  it('pipeline-overhead: every execution ran all its stages, and compute <= total', () => {
    const measured = raw.filter((r) => r.experiment === 'pipeline-overhead' && !r.warmup);
    expect(measured.length).toBeGreaterThan(0);
    for (const r of measured) {
      expect(r.call.platform?.records).toHaveLength(Number(r.labels.stages));
      const compute = computeSumMs(r);
      expect(compute).toBeGreaterThan(0);
      expect(compute).toBeLessThanOrEqual(e2eMs(r));
    }
    const rows = summary['pipeline-overhead']!.summary;
    const quick = EXPERIMENTS['pipeline-overhead'].sizes.quick;
    expect(rows.map((s) => s.preset).sort()).toEqual(['grouped', 'grouped', 'per-function', 'per-function']);
    for (const s of rows.filter((x) => String(x.pipeline).startsWith('anomaly-detection'))) {
      expect(s.total_ms_n).toBe(quick.executions);
      expect(Number(s.overhead_ms_median)).toBeGreaterThan(0);
      expect(Number(s.overhead_share_median)).toBeGreaterThan(0);
      expect(Number(s.overhead_share_median)).toBeLessThan(1);
      expect(s.total_ms_medianLo).not.toBeNull(); // n = 30 > 20: the median has an interval
    }
    // image-pipeline runs a few times only (the ML stage deploys and runs; it is not measured in quick mode).
    for (const s of rows.filter((x) => String(x.pipeline).startsWith('image-pipeline'))) {
      expect(s.total_ms_n).toBe(quick.pipelines.find((p) => p.workload === 'image-pipeline')?.executions);
      expect(Number(s.overhead_ms_median)).toBeGreaterThan(0);
    }
  });

  it('density: memory per idle function > 0 (per-function above grouped), samples taken while executions were in flight', async () => {
    const rows = summary.density!.summary;
    const idle = (preset: string) => rows.find((s) => s.preset === preset && s.per === 'idle function')!;
    expect(Number(idle('grouped').pss_mb_slope)).toBeGreaterThan(0);
    expect(Number(idle('per-function').pss_mb_slope)).toBeGreaterThan(Number(idle('grouped').pss_mb_slope));
    const conc = rows.find((s) => s.preset === 'per-function' && s.per === 'concurrent execution')!;
    expect(Number(conc.pss_mb_slope)).toBeGreaterThan(0); // a sandbox per concurrent execution
    for (const s of rows) expect(s.samples).toBe(4); // one sample in the fit per k and per c
    const [header = '', ...lines] = (await readFile(join(dir, 'csv', 'density.samples.csv'), 'utf8')).trim().split('\n');
    const col = (name: string) => header.split(',').indexOf(name);
    const valid = lines.filter((l) => l.split(',')[col('valid')] === 'true');
    expect(valid).toHaveLength(2 * 2 * 4); // 2 presets x (4 k + 4 c)
    // A sample left out is a concurrent one that missed a handler, and it was measured again.
    for (const l of lines.filter((x) => !valid.includes(x))) expect(l.split(',')[col('why')]).toBe('not-in-flight');
  });

  it('charts the history of a metric from the run, as SVG and PNG', async () => {
    const svg = join(parent, 'h.svg');
    const png = join(parent, 'h.png');
    await run(process.execPath, [CLI, 'history', parent, '--metric', 'client_latency_ms', '--experiment', 'pipeline-overhead', '--out', svg]);
    await run(process.execPath, [CLI, 'history', parent, '--metric', 'client_latency_ms', '--experiment', 'pipeline-overhead', '--out', png]);
    const text = await readFile(svg, 'utf8');
    expect(text.startsWith('<svg')).toBe(true);
    expect(text).toContain('History of client_latency_ms');
    const m = /<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"/.exec(text)!;
    const meta = await sharp(await readFile(png)).metadata();
    expect(meta.width).toBe(Math.round(Number(m[1]) * 2));
    expect(meta.height).toBe(Math.round(Number(m[2]) * 2));
    await expect(run(process.execPath, [CLI, 'history', parent, '--metric', 'client_latency_ms', '--out', join(parent, 'h.txt')])).rejects.toMatchObject({ code: 2 });
  });
});
