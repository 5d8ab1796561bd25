/**
 * `mfbench run cold-start chain-length pipeline-overhead --platform openwhisk --quick` against the OpenWhisk double,
 * through the real CLI (a child process, as a researcher runs it): the same run directory as for MicroFunctions
 * (manifest, raw.jsonl, records.jsonl, CSV, summaries, figures, HTML report), and nothing left deployed afterwards.
 * pipeline-overhead runs anomaly-detection, whose stages pass data through context.storage: here through the
 * adapter's storage service, and through a conductor action, since the workflow has Choice states.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawRecord } from '../dist/report/run-dir.js';
import { OpenWhiskDouble } from './doubles/openwhisk/server.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

describe('mfbench run --platform openwhisk (quick) against the OpenWhisk double', () => {
  let ow: OpenWhiskDouble;
  let parent: string;
  let dir: string;
  let json: { status: string; experiments: Array<{ name: string; status: string; requests: number }> };
  let raw: RawRecord[];

  beforeAll(async () => {
    ow = await OpenWhiskDouble.start();
    parent = await mkdtemp(join(tmpdir(), 'owcli-'));
    dir = join(parent, 'run');
    const { stdout } = await run(process.execPath, [CLI, 'run', 'cold-start', 'chain-length', 'pipeline-overhead', '--platform', 'openwhisk', '--quick', '--url', ow.url, '--token', ow.auth, '--out', dir, '--json'], {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, MFBENCH_URL: '', MFBENCH_TOKEN: '' },
    });
    json = JSON.parse(stdout);
    raw = (await readFile(join(dir, 'raw.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  }, 300_000);

  afterAll(async () => {
    await ow?.close();
    if (parent) await rm(parent, { recursive: true, force: true });
  });

  it('completes the three experiments', () => {
    expect(json.status).toBe('complete');
    expect(json.experiments.map((e) => [e.name, e.status])).toEqual([
      ['cold-start', 'complete'],
      ['chain-length', 'complete'],
      ['pipeline-overhead', 'complete'],
    ]);
  });

  it('writes the same files as for MicroFunctions', async () => {
    for (const f of ['manifest.json', 'raw.jsonl', 'records.jsonl', 'summary.json', 'index.html']) expect(existsSync(join(dir, f)), f).toBe(true);
    const figures = await readdir(join(dir, 'figures'));
    for (const id of ['fig-cold-start', 'fig-chain-length', 'fig-pipeline-overhead']) for (const ext of ['.vl.json', '.svg', '.png']) expect(figures).toContain(id + ext);
    const csv = await readdir(join(dir, 'csv'));
    expect(csv).toContain('cold-start.summary.csv');
    expect(csv).toContain('chain-length.summary.csv');
    expect(csv).toContain('pipeline-overhead.summary.csv');
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.adapters[0].resolved).toMatchObject({ platform: 'openwhisk', apihost: ow.url, kind: 'nodejs:20' });
    expect(JSON.stringify(manifest)).not.toContain(ow.auth);
  });

  it('records temperatures from initTime: every round starts cold after enforceColdStart, then warm', () => {
    const cs = raw.filter((r) => r.experiment === 'cold-start');
    expect(cs.every((r) => r.platform === 'openwhisk' && r.outcome === 'ok')).toBe(true);
    const step1 = cs.filter((r) => r.labels.function === 'step1');
    const firstOfRound = new Map<unknown, RawRecord>();
    for (const r of step1) if (!firstOfRound.has(r.labels.round)) firstOfRound.set(r.labels.round, r);
    for (const r of firstOfRound.values()) expect(r.temperature).toBe('cold-sandbox');
    const warm = cs.filter((r) => r.expectedTemperature === 'warm');
    expect(warm.length).toBeGreaterThan(0);
    expect(warm.every((r) => r.temperature === 'warm' && r.temperatureCheck === 'ok')).toBe(true);
    // OpenWhisk has no cold-worker level: each function has its own containers, so step2.. are cold-sandbox, labelled.
    const cw = cs.filter((r) => r.expectedTemperature === 'cold-worker');
    expect(cw.every((r) => r.temperature === 'cold-sandbox' && r.temperatureCheck === 'mismatch')).toBe(true);
  });

  it('records every sequence component of chain-length, and leaves nothing deployed', () => {
    const cl = raw.filter((r) => r.experiment === 'chain-length');
    expect(cl.every((r) => r.outcome === 'ok')).toBe(true);
    for (const r of cl) expect(r.call.platform!.records).toHaveLength(Number(r.labels.length));
    expect(ow.listing()).toEqual({ packages: [], actions: [] });
  });

  it('runs anomaly-detection with context.storage through the conductor: five Task records, the conductor steps apart', async () => {
    const po = raw.filter((r) => r.experiment === 'pipeline-overhead');
    expect(po.length).toBe(33);
    for (const r of po) {
      expect(r.outcome, JSON.stringify(r.call.outcome)).toBe('ok');
      const records = r.call.platform!.records;
      const tasks = records.filter((x) => x.state !== null);
      // The attacked input runs every stage; the later stages read the samples that collect stored.
      expect(tasks.map((x) => x.function)).toEqual(['collect', 'entropy-detector', 'heavy-detector', 'identify-victim', 'mitigate']);
      expect(records.filter((x) => x.function === 'wf.main').length).toBeGreaterThan(tasks.length);
    }
    const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8'));
    const rows = summary.experiments['pipeline-overhead'].summary;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ stages: 5, excluded: 3 });
    expect(rows[0].overhead_ms_median).toBeGreaterThan(0);
  });
});
