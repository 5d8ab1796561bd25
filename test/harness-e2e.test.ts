/**
 * End to end: the cold-start and chain-length experiments in quick mode against the embedded platform (real
 * processes, real HTTP on port 0), then the run directory: manifest fields, one raw line per request, the
 * temperature ladder confirmed by sandbox ids and worker pids, and `mfbench report <run-dir>` regenerating the CSV
 * byte for byte.
 */
import { execFile } from 'node:child_process';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPERIMENTS } from '../dist/experiments/runner/registry.js';
import type { RawRecord, HarnessManifest } from '../dist/report/run-dir.js';
import { meanHopMs } from '../dist/report/hops.js';
import { removeRun, runAndProcess } from './helpers/harness.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

describe('mfbench run: cold-start and chain-length, quick, embedded platform', () => {
  let parent: string;
  let dir: string;
  let manifest: HarnessManifest;
  let raw: RawRecord[];

  beforeAll(async () => {
    ({ parent, dir, manifest, raw } = await runAndProcess('mfh-', {
      experiments: ['cold-start', 'chain-length'],
      size: 'quick',
      seed: 7,
      variants: [{ platform: 'microfunctions', backend: 'process', preset: 'grouped' }],
    }));
  }, 240_000);

  afterAll(async () => {
    await removeRun(parent);
  });

  it('writes a manifest that says where the numbers came from', () => {
    expect(manifest.kind).toBe('mfbench-run');
    expect(manifest.status).toBe('complete');
    expect(manifest.seed).toBe(7);
    expect(manifest.size).toBe('quick');
    expect(manifest.git.commit === null || /^[0-9a-f]{40}$/.test(manifest.git.commit)).toBe(true);
    expect(manifest.cpu.count).toBeGreaterThan(0);
    expect(manifest.node).toBe(process.version);
    expect(manifest.endedAt).not.toBeNull();
    expect(manifest.workloads.map((w) => w.name)).toEqual(['noop-chain']);
    expect(manifest.workloads[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    // keepHistory false: the embedded platform of an experiment records no execution history unless asked to.
    expect(manifest.adapters[0]!.resolved).toMatchObject({ platform: 'microfunctions', mode: 'embedded', backend: 'process', preset: 'grouped', keepHistory: false });
    for (const a of manifest.adapters) expect(Object.keys(a.options)).not.toContain('token'); // no secrets in the manifest
    const names = manifest.experiments.map((e) => e.name);
    expect(names).toEqual(['cold-start', 'chain-length']);
    for (const e of manifest.experiments) {
      expect(e.status).toBe('complete');
      expect(e.config).toEqual(EXPERIMENTS[e.name as keyof typeof EXPERIMENTS].sizes.quick);
      expect(e.durationMs).toBeGreaterThan(0);
    }
  });

  it('writes one raw line per request, as many as the configs imply', () => {
    const cs = EXPERIMENTS['cold-start'].sizes.quick;
    const cl = EXPERIMENTS['chain-length'].sizes.quick;
    const coldStartRequests = (cs.rounds + 1) * (1 + cs.coldWorkersPerRound + cs.warmPerRound);
    const chainRequests = cl.lengths.length * (cl.warmup + cl.executions);
    expect(raw.filter((r) => r.experiment === 'cold-start')).toHaveLength(coldStartRequests);
    expect(raw.filter((r) => r.experiment === 'chain-length')).toHaveLength(chainRequests);
    expect(manifest.experiments.map((e) => e.requests)).toEqual([coldStartRequests, chainRequests]);
    expect(raw.map((r) => r.seq)).toEqual(raw.map((_, i) => i));
    for (const r of raw) {
      expect(r.outcome).toBe('ok');
      expect(r.call.client.receive).toBeGreaterThan(r.call.client.actualSend);
      expect(r.call.client.intendedSend).toBeLessThanOrEqual(r.call.client.actualSend);
    }
    // A chain of L functions yields L platform records per execution.
    for (const r of raw.filter((x) => x.experiment === 'chain-length')) expect(r.call.platform!.records).toHaveLength(Number(r.labels.length));
  });

  it('the cold-start ladder has all three temperatures, confirmed by sandbox ids and worker pids', () => {
    const cs = raw.filter((r) => r.experiment === 'cold-start');
    const measured = cs.filter((r) => !r.warmup);
    const byT = (t: string) => measured.filter((r) => r.expectedTemperature === t);
    const { rounds, coldWorkersPerRound, warmPerRound } = EXPERIMENTS['cold-start'].sizes.quick;
    expect(byT('cold-sandbox')).toHaveLength(rounds);
    expect(byT('cold-worker')).toHaveLength(rounds * coldWorkersPerRound);
    expect(byT('warm')).toHaveLength(rounds * warmPerRound);
    for (const r of cs) {
      expect(r.temperatureCheck).toBe('ok');
      expect(r.temperature).toBe(r.expectedTemperature);
    }
    // Independently of the experiment's own check: every cold-sandbox names a sandbox and pid never seen before, every
    // cold-worker a new pid in an existing sandbox, every warm request a pid seen before in the same sandbox.
    const sandboxes = new Set<string>();
    const pids = new Set<number>();
    for (const r of cs) {
      const rec = r.call.platform!.records[0]!;
      if (r.expectedTemperature === 'cold-sandbox') {
        expect(sandboxes.has(rec.sandboxId)).toBe(false);
        expect(pids.has(rec.workerPid)).toBe(false);
        expect(rec.coldStart.sandboxStartMs).toBeGreaterThan(0);
      } else if (r.expectedTemperature === 'cold-worker') {
        expect(sandboxes.has(rec.sandboxId)).toBe(true);
        expect(pids.has(rec.workerPid)).toBe(false);
      } else {
        expect(pids.has(rec.workerPid)).toBe(true);
      }
      sandboxes.add(rec.sandboxId);
      pids.add(rec.workerPid);
    }
    expect(sandboxes.size).toBe(rounds + 1);
  });

  it('processes into the metric stream, CSV, figures and an HTML report', async () => {
    const files = await readdir(join(dir, 'csv'));
    expect(files).toEqual(expect.arrayContaining(['cold-start.summary.csv', 'chain-length.summary.csv']));
    const summary = await readFile(join(dir, 'csv', 'cold-start.summary.csv'), 'utf8');
    expect(summary.split('\n')[0]).toMatch(/^variant,temperature,e2e_ms_n,e2e_ms_median/);
    expect(summary).toContain('cold-sandbox');
    const stream = (await readFile(join(dir, 'records.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(stream.filter((m) => m.metric === 'client_latency_ms')).toHaveLength(raw.length);
    // chain-length's per-hop figure is the one hop definition (report/hops.ts), one per execution with a hop.
    const chains = raw.filter((r) => r.experiment === 'chain-length');
    const hops = stream.filter((m) => m.experiment === 'chain-length' && m.metric === 'hop_ms');
    expect(hops).toHaveLength(chains.filter((r) => Number(r.labels.length) > 1).length);
    const expected = chains.flatMap((r) => (Number(r.labels.length) > 1 ? [Math.round(meanHopMs(r.call.platform!.records)! * 1e4) / 1e4] : []));
    expect(hops.map((m) => m.value)).toEqual(expected);
    for (const v of expected) expect(v).toBeGreaterThan(0);
    const html = await readFile(join(dir, 'index.html'), 'utf8');
    expect(html).toContain(manifest.runId);
    expect(html).toContain('figures/fig-cold-start.png');
    expect(html.match(/<svg/g)?.length).toBeGreaterThanOrEqual(2);
  });

  it('mfbench report <run-dir> regenerates identical CSV from the stored records', async () => {
    const csvDir = join(dir, 'csv');
    const names = (await readdir(csvDir)).sort();
    const before = await Promise.all(names.map((n) => readFile(join(csvDir, n), 'utf8')));
    const stream = await readFile(join(dir, 'records.jsonl'), 'utf8');
    await rm(csvDir, { recursive: true });
    const { stdout } = await run(process.execPath, [CLI, 'report', dir]);
    expect(stdout.trim()).toBe(join(dir, 'index.html'));
    expect((await readdir(csvDir)).sort()).toEqual(names);
    const after = await Promise.all(names.map((n) => readFile(join(csvDir, n), 'utf8')));
    expect(after).toEqual(before);
    expect(await readFile(join(dir, 'records.jsonl'), 'utf8')).toBe(stream);
  }, 60_000);
});
