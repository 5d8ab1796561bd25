/**
 * `mfbench compare` tells headline series from descriptive ones. Two small synthetic throughput runs, written with the
 * runner's own writer (RunDirectory) and processed by the real processing step: the unloaded warm latency (headline,
 * 30 samples) gets a verdict; a sweep step of 8 requests and the warm-up's cold start are listed as descriptive, not
 * as insufficient data.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareRuns } from '../dist/report/compare/compare.js';
import { processRun } from '../dist/report/process.js';
import { RunDirectory } from '../dist/experiments/runner/run-dir.js';
import { EXPERIMENTS, findExperiment } from '../dist/experiments/runner/registry.js';
import { seededRng } from '../dist/report/stats/random.js';
import type { InvocationRecord, Temperature } from '../dist/platform/records.js';

const MAIN = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const UNLOADED = 30;
const SWEEP = 8;

function writeRun(root: string, name: string, seed: number): string {
  const config = { ...EXPERIMENTS.throughput.sizes.quick, warmup: 2, unloaded: UNLOADED, rates: [25] };
  const run = RunDirectory.create(root, { size: 'quick', seed, config: {}, workloads: ['noop-chain'], dir: join(root, name) });
  const rng = seededRng(seed);
  let t = 1_700_000_000_000;
  const record = (i: number, phase: string, rate: number, warmup: boolean, temperature: Temperature): void => {
    const latency = 5 * Math.exp(0.25 * Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng()));
    t += 40;
    const rec: InvocationRecord = {
      invocationId: `${name}-${i}`,
      executionId: `${name}-e${i}`,
      app: 'throughput',
      function: 'step1',
      state: 'Step1',
      temperature,
      sandboxId: 'sb-1',
      workerPid: 4242,
      workerOrigin: temperature === 'warm' ? 'existing' : 'pool',
      host: 'test',
      backend: 'process',
      t: { queued: t + 1, workerReady: t + 1, handlerStart: t + 1.5, handlerEnd: t + 2, published: t + 2.5 },
      coldStart: temperature === 'cold-sandbox' ? { sandboxStartMs: 300, codeLoadMs: 5 } : {},
      inputBytes: 10,
      outputBytes: 10,
      outcome: { state: 'ok' },
    };
    run.append({
      experiment: 'throughput',
      platform: 'microfunctions',
      backend: 'process',
      preset: 'grouped',
      variant: 'microfunctions/process/grouped',
      temperature,
      expectedTemperature: null,
      temperatureCheck: 'unchecked',
      warmup,
      outcome: 'ok',
      labels: { phase, rate, drift: false },
      call: {
        kind: 'execution',
        target: 'main',
        client: { intendedSend: t, actualSend: t, receive: t + latency },
        platform: { executionId: rec.executionId, t: null, records: [rec] },
        outcome: { state: 'ok' },
        requestBytes: 10,
      },
    });
  };
  let i = 0;
  for (let k = 0; k < config.warmup; k++) record(i++, 'unloaded', 0, true, k === 0 ? 'cold-sandbox' : 'warm');
  for (let k = 0; k < UNLOADED; k++) record(i++, 'unloaded', 0, false, 'warm');
  for (let k = 0; k < SWEEP; k++) record(i++, 'sweep', 25, false, 'warm');
  const at = new Date().toISOString();
  run.manifest.experiments.push({ name: 'throughput', figure: 'fig-throughput', size: 'quick', config: config as unknown as Record<string, unknown>, startedAt: at, endedAt: at, durationMs: 1, requests: i, loadAvg: { start: null, end: null }, status: 'complete' });
  run.manifest.status = 'complete';
  run.writeManifest();
  return run.dir;
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null, stdout, stderr });
    });
  });
}

describe('compare: headline and descriptive series', () => {
  let root: string;
  let a: string;
  let b: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'mf-descriptive-'));
    a = writeRun(root, 'run-a', 1);
    b = writeRun(root, 'run-b', 2);
    await processRun(a, findExperiment);
    await processRun(b, findExperiment);
  }, 120_000);

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('judges the headline series and lists the short descriptive one as descriptive', async () => {
    const report = await compareRuns(a, b);
    const unloaded = report.series.find((s) => s.key.labels.includes('"unloaded"') && s.key.temperature === 'warm')!;
    expect(unloaded).toMatchObject({ headline: true, verdict: 'same', regression: false });
    expect(unloaded.baseline.n).toBe(UNLOADED);
    const sweep = report.series.find((s) => s.key.labels.includes('"sweep"'))!;
    expect(sweep).toMatchObject({ headline: false, verdict: 'descriptive', regression: false, ci: null });
    expect(sweep.baseline.n).toBe(SWEEP);
    // The warm-up's cold start is a series of its own, with no sample outside warm-up: descriptive as well.
    const cold = report.series.find((s) => s.key.temperature === 'cold-sandbox')!;
    expect(cold).toMatchObject({ headline: false, verdict: 'descriptive' });
    expect(report.series.some((s) => s.verdict === 'insufficient data')).toBe(false);
    expect(report.pass).toBe(true);
  });

  it('says so on the command line', async () => {
    const r = await cli(['compare', a, b]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/sweep.*descriptive/);
    expect(r.stderr).toMatch(/compare: pass .*3 series: 1 headline, 0 of them with insufficient data; 2 descriptive/);
  });
});
