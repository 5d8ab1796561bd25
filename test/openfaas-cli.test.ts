/**
 * `mfbench run cold-start chain-length pipeline-overhead --platform openfaas --quick` against the OpenFaaS gateway
 * double, through the real CLI (a child process, as a researcher runs it): gateway URL and credentials by --url /
 * --token, the gateway as function containers see it by OPENFAAS_FUNCTION_GATEWAY, and the storage service where the
 * containers reach it (the Docker bridge) by MFBENCH_STORAGE_LISTEN. The same run directory as for MicroFunctions
 * comes out, the temperatures are confirmed by container identity, anomaly-detection passes its data through
 * context.storage, and nothing is left deployed or running afterwards.
 *
 * Needs a Docker engine; skipped without one unless MFBENCH_REQUIRE_DOCKER=1 (then it fails).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RawRecord } from '../dist/report/run-dir.js';
import { noteDockerSkipped, requireDocker, RUN_DOCKER_TESTS } from './helpers/docker.js';
import { DOUBLE_LABEL, startOpenFaasDouble, type OpenFaasDouble } from './doubles/openfaas/gateway.js';
import { EXPERIMENTS } from '../dist/experiments/runner/registry.js';

noteDockerSkipped('openfaas CLI test');

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

const CS = EXPERIMENTS['cold-start'].sizes.quick;

describe.runIf(RUN_DOCKER_TESTS)('mfbench run cold-start --platform openfaas (quick) against the gateway double', () => {
  const docker = requireDocker();
  let gw: OpenFaasDouble;
  let parent: string;
  let dir: string;
  let json: { status: string; experiments: Array<{ name: string; status: string; requests: number }> };
  let raw: RawRecord[];
  const APPS = ['cold-start', 'chain-1', 'chain-8', 'overhead-anomaly-detection', 'overhead-image-pipeline'];
  /** Image ids of the apps' names present before the run: another run's leftovers on a shared engine are not ours. */
  const imagesBefore = new Set<string>();
  const imagesOf = async (app: string) => (await docker.listImages({ filters: { reference: [`mfbench-fn-${app}`] } })).map((i) => i.Id);

  beforeAll(async () => {
    for (const app of APPS) for (const id of await imagesOf(app)) imagesBefore.add(id);
    gw = await startOpenFaasDouble({ docker, user: 'admin', password: 'cli-secret' });
    parent = await mkdtemp(join(tmpdir(), 'ofcli-'));
    dir = join(parent, 'run');
    const { stdout } = await run(process.execPath, [CLI, 'run', 'cold-start', 'chain-length', 'pipeline-overhead', '--platform', 'openfaas', '--quick', '--url', gw.url, '--token', 'admin:cli-secret', '--out', dir, '--json'], {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, MFBENCH_URL: '', MFBENCH_TOKEN: '', OPENFAAS_URL: '', OPENFAAS_USER: '', OPENFAAS_PASSWORD: '', OPENFAAS_FUNCTION_GATEWAY: gw.internalUrl, MFBENCH_STORAGE_LISTEN: `${new URL(gw.internalUrl).hostname}:0` },
    });
    json = JSON.parse(stdout);
    raw = (await readFile(join(dir, 'raw.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as RawRecord);
  }, 720_000);

  afterAll(async () => {
    await gw?.close();
    if (parent) await rm(parent, { recursive: true, force: true });
  });

  test('the run succeeds and writes the same files as for MicroFunctions', async () => {
    expect(json.status).toBe('complete');
    expect(json.experiments).toEqual([
      // OpenFaaS has no cold-worker level: the warm-up round shows it, and the measured rounds skip the rung.
      expect.objectContaining({ name: 'cold-start', status: 'complete', requests: 1 + 1 + CS.warmPerRound + CS.rounds * (1 + CS.warmPerRound) }),
      expect.objectContaining({ name: 'chain-length', status: 'complete' }),
      expect.objectContaining({ name: 'pipeline-overhead', status: 'complete', requests: 33 + 4 }),
    ]);
    for (const f of ['manifest.json', 'raw.jsonl', 'records.jsonl', 'summary.json', 'index.html']) expect(existsSync(join(dir, f)), f).toBe(true);
    for (const id of ['fig-cold-start', 'fig-chain-length', 'fig-pipeline-overhead']) for (const ext of ['.svg', '.png']) expect(existsSync(join(dir, 'figures', id + ext)), id + ext).toBe(true);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    const resolved = manifest.adapters[0].resolved;
    expect(resolved).toMatchObject({ platform: 'openfaas', url: gw.url, auth: true, coldStart: 'auto' });
    expect(JSON.stringify(manifest)).not.toContain('cli-secret');
  });

  test('temperatures are confirmed by container identity: step1 cold after every enforceColdStart, then warm in the same container', () => {
    expect(raw.every((r) => r.outcome === 'ok')).toBe(true);
    const measured = raw.filter((r) => r.experiment === 'cold-start' && !r.warmup);
    const cold = measured.filter((r) => r.expectedTemperature === 'cold-sandbox');
    expect(cold).toHaveLength(CS.rounds);
    expect(cold.every((r) => r.temperatureCheck === 'ok' && r.temperature === 'cold-sandbox')).toBe(true);
    expect(new Set(cold.map((r) => r.call.platform?.records[0]?.sandboxId)).size).toBe(CS.rounds);
    const warm = measured.filter((r) => r.expectedTemperature === 'warm');
    expect(warm.every((r) => r.temperatureCheck === 'ok' && r.temperature === 'warm')).toBe(true);
    // OpenFaaS has no cold-worker level: step2 ran in its own, new container in the warm-up round, the check says
    // so, and the measured rounds skipped the rung.
    const coldWorker = raw.filter((r) => r.experiment === 'cold-start' && r.expectedTemperature === 'cold-worker');
    expect(coldWorker.length).toBeGreaterThan(0);
    expect(coldWorker.every((r) => r.warmup && r.temperatureCheck === 'mismatch' && r.temperature === 'cold-sandbox')).toBe(true);
  });

  test('chain-length: every Task of every chain is a record, the orchestrator calls apart', () => {
    const cl = raw.filter((r) => r.experiment === 'chain-length');
    expect(cl.length).toBeGreaterThan(0);
    for (const r of cl) expect(r.call.platform!.records.filter((x) => x.state !== null)).toHaveLength(Number(r.labels.length));
  });

  test('pipeline-overhead: anomaly-detection and image-pipeline run every stage, their data passing through context.storage', async () => {
    const ip = raw.filter((r) => r.experiment === 'pipeline-overhead' && r.labels.workload === 'image-pipeline');
    expect(ip).toHaveLength(4);
    for (const r of ip) expect(r.call.platform!.records.filter((x) => x.state !== null).map((x) => x.function)).toEqual(['ingest', 'extract-metadata', 'verify-transform', 'tag-objects', 'thumbnail', 'store-result']);
    const po = raw.filter((r) => r.experiment === 'pipeline-overhead' && r.labels.workload === 'anomaly-detection');
    expect(po).toHaveLength(33);
    for (const r of po) {
      expect(r.call.platform!.records.map((x) => x.function)).toEqual(['collect', 'entropy-detector', 'heavy-detector', 'identify-victim', 'mitigate']);
    }
    const rows = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')).experiments['pipeline-overhead'].summary;
    expect(rows).toEqual([expect.objectContaining({ pipeline: 'anomaly-detection (small)', stages: 5, excluded: 3 }), expect.objectContaining({ pipeline: 'image-pipeline/sequential (small)', stages: 6, excluded: 1 })]);
    for (const row of rows) expect(row.overhead_ms_median).toBeGreaterThan(0);
  });

  test('nothing is left deployed or running', async () => {
    expect(gw.functions()).toEqual([]);
    expect(await docker.listContainers({ all: true, filters: { label: [`${DOUBLE_LABEL}=${gw.instance}`] } })).toEqual([]);
    for (const app of APPS) expect((await imagesOf(app)).filter((id) => !imagesBefore.has(id)), app).toEqual([]);
  });
});
