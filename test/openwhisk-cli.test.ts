/**
 * `mfbench run cold-start chain-length pipeline-overhead --platform openwhisk --quick` against the OpenWhisk double,
 * through the real CLI (a child process, as a researcher runs it): the same run directory as for MicroFunctions
 * (manifest, raw.jsonl, records.jsonl, CSV, summaries, figures, HTML report), and nothing left deployed afterwards.
 * pipeline-overhead runs anomaly-detection, whose stages pass data through context.storage: here through the
 * adapter's storage service, and through a conductor action, since the workflow has Choice states. It also runs
 * image-pipeline, whose tag-objects is too large for a zip action: a blackbox action, whose image the adapter builds on
 * this host's Docker engine and the double runs as a container (so the containers reach the storage service on the
 * Docker bridge, and the double allows the 1024 MB tag-objects asks for).
 *
 * Needs a Docker engine; skipped without one unless MFBENCH_REQUIRE_DOCKER=1 (then it fails).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawRecord } from '../dist/report/run-dir.js';
import { OpenWhiskDouble, OW_DOUBLE_LABEL } from './doubles/openwhisk/server.js';
import { noteDockerSkipped, requireDocker, RUN_DOCKER_TESTS } from './helpers/docker.js';

noteDockerSkipped('openwhisk CLI test');

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

describe.runIf(RUN_DOCKER_TESTS)('mfbench run --platform openwhisk (quick) against the OpenWhisk double', () => {
  const docker = requireDocker();
  const instance = `blackbox-cli-${randomBytes(3).toString('hex')}`;
  const bridge = networkInterfaces().docker0?.find((a) => a.family === 'IPv4')?.address ?? '172.17.0.1';
  let ow: OpenWhiskDouble;
  let parent: string;
  let dir: string;
  let json: { status: string; experiments: Array<{ name: string; status: string; requests: number }> };
  let raw: RawRecord[];

  beforeAll(async () => {
    ow = await OpenWhiskDouble.start({ docker, instance, limits: { maxMemory: 2048 } });
    parent = await mkdtemp(join(tmpdir(), 'owcli-'));
    dir = join(parent, 'run');
    const { stdout } = await run(process.execPath, [CLI, 'run', 'cold-start', 'chain-length', 'pipeline-overhead', '--platform', 'openwhisk', '--quick', '--url', ow.url, '--token', ow.auth, '--out', dir, '--json'], {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, MFBENCH_URL: '', MFBENCH_TOKEN: '', MFBENCH_STORAGE_LISTEN: `${bridge}:0` },
    });
    json = JSON.parse(stdout);
    raw = (await readFile(join(dir, 'raw.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  }, 900_000);

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
    expect(raw.filter((r) => r.experiment === 'pipeline-overhead').length).toBe(33 + 4);
    const po = raw.filter((r) => r.experiment === 'pipeline-overhead' && r.labels.workload === 'anomaly-detection');
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
    expect(rows).toHaveLength(2);
    const anomaly = rows.find((x: { pipeline: string }) => x.pipeline.startsWith('anomaly-detection'));
    expect(anomaly).toMatchObject({ stages: 5, excluded: 3 });
    expect(anomaly.overhead_ms_median).toBeGreaterThan(0);
  });

  it('runs image-pipeline, tag-objects as a blackbox action in a container, and leaves no container or image', async () => {
    const ip = raw.filter((r) => r.experiment === 'pipeline-overhead' && r.labels.workload === 'image-pipeline');
    expect(ip).toHaveLength(4);
    for (const r of ip) {
      expect(r.outcome, JSON.stringify(r.call.outcome)).toBe('ok');
      // ResultPath makes the workflow a conductor action: its own steps are records without a state.
      const tasks = r.call.platform!.records.filter((x) => x.state !== null);
      expect(tasks.map((x) => x.function)).toEqual(['ingest', 'extract-metadata', 'verify-transform', 'tag-objects', 'thumbnail', 'store-result']);
    }
    expect(ip.map((r) => r.call.platform!.records.find((x) => x.function === 'tag-objects')!.temperature)).toEqual(['cold-sandbox', 'warm', 'warm', 'warm']);
    expect(await docker.listContainers({ all: true, filters: { label: [`${OW_DOUBLE_LABEL}=${instance}`] } })).toEqual([]);
    const images = await docker.listImages({ filters: { label: ['mfbench.app=overhead-image-pipeline', 'mfbench.image=openwhisk-blackbox'] } });
    expect(images.filter((i) => (i.RepoTags ?? []).some((t) => t.startsWith('mfbench-ow-blackbox-overhead-image-pipeline-tag-objects:')))).toEqual([]);
  });
});
