/**
 * `mfbench run cold-start chain-length --platform openwhisk --quick` against the OpenWhisk double, through the real
 * CLI (a child process, as a researcher runs it): the same run directory as for MicroFunctions (manifest, raw.jsonl,
 * records.jsonl, CSV, summaries, figures, HTML report), and nothing left deployed afterwards.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawRecord } from '../dist/experiments/runner/types.js';
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
    const { stdout } = await run(process.execPath, [CLI, 'run', 'cold-start', 'chain-length', '--platform', 'openwhisk', '--quick', '--url', ow.url, '--token', ow.auth, '--out', dir, '--json'], {
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

  it('completes both experiments', () => {
    expect(json.status).toBe('complete');
    expect(json.experiments.map((e) => [e.name, e.status])).toEqual([
      ['cold-start', 'complete'],
      ['chain-length', 'complete'],
    ]);
  });

  it('writes the same files as for MicroFunctions', async () => {
    for (const f of ['manifest.json', 'raw.jsonl', 'records.jsonl', 'summary.json', 'index.html']) expect(existsSync(join(dir, f)), f).toBe(true);
    const figures = await readdir(join(dir, 'figures'));
    for (const id of ['fig-cold-start', 'fig-chain-length']) for (const ext of ['.vl.json', '.svg', '.png']) expect(figures).toContain(id + ext);
    const csv = await readdir(join(dir, 'csv'));
    expect(csv).toContain('cold-start.summary.csv');
    expect(csv).toContain('chain-length.summary.csv');
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
});
