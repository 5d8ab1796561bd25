/**
 * `mfbench run cold-start --platform openfaas --quick` against the OpenFaaS gateway double, through the real CLI (a
 * child process, as a researcher runs it): gateway URL and credentials by --url / --token, the gateway as function
 * containers see it by OPENFAAS_FUNCTION_GATEWAY. The same run directory as for MicroFunctions comes out, the
 * temperatures are confirmed by container identity, and nothing is left deployed or running afterwards.
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
import type { RawRecord } from '../dist/experiments/runner/types.js';
import { connectDocker, type Docker } from '../dist/platform/sandbox/docker/engine.js';
import { DOUBLE_LABEL, startOpenFaasDouble, type OpenFaasDouble } from './doubles/openfaas/gateway.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const REQUIRED = process.env.MFBENCH_REQUIRE_DOCKER === '1';
const engine = await connectDocker().then(
  (docker) => ({ docker, problem: null as string | null }),
  (err: Error) => ({ docker: null, problem: err.message }),
);
if (!engine.docker && !REQUIRED) process.stderr.write(`openfaas CLI test skipped: ${engine.problem}\n`);

// Runs when an engine answers, or when Docker is required (then a missing engine fails, not skips).
describe.runIf(engine.docker !== null || REQUIRED)('mfbench run cold-start --platform openfaas (quick) against the gateway double', () => {
  if (!engine.docker) throw new Error(`MFBENCH_REQUIRE_DOCKER=1 but no Docker engine: ${engine.problem}`);
  const docker = engine.docker;
  let gw: OpenFaasDouble;
  let parent: string;
  let dir: string;
  let json: { status: string; experiments: Array<{ name: string; status: string; requests: number }> };
  let raw: RawRecord[];

  beforeAll(async () => {
    gw = await startOpenFaasDouble({ docker, user: 'admin', password: 'cli-secret' });
    parent = await mkdtemp(join(tmpdir(), 'ofcli-'));
    dir = join(parent, 'run');
    const { stdout } = await run(process.execPath, [CLI, 'run', 'cold-start', '--platform', 'openfaas', '--quick', '--url', gw.url, '--token', 'admin:cli-secret', '--out', dir, '--json'], {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, MFBENCH_URL: '', MFBENCH_TOKEN: '', OPENFAAS_URL: '', OPENFAAS_USER: '', OPENFAAS_PASSWORD: '', OPENFAAS_FUNCTION_GATEWAY: gw.internalUrl },
    });
    json = JSON.parse(stdout);
    raw = (await readFile(join(dir, 'raw.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as RawRecord);
  }, 240_000);

  afterAll(async () => {
    await gw?.close();
    if (parent) await rm(parent, { recursive: true, force: true });
  });

  test('the run succeeds and writes the same files as for MicroFunctions', async () => {
    expect(json.status).toBe('complete');
    expect(json.experiments).toEqual([expect.objectContaining({ name: 'cold-start', status: 'complete', requests: 6 * 24 })]);
    for (const f of ['manifest.json', 'raw.jsonl', 'records.jsonl', 'summary.json', 'index.html', 'figures/fig-cold-start.svg', 'figures/fig-cold-start.png']) expect(existsSync(join(dir, f)), f).toBe(true);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    const resolved = manifest.adapters[0].resolved;
    expect(resolved).toMatchObject({ platform: 'openfaas', url: gw.url, auth: true, coldStart: 'auto' });
    expect(JSON.stringify(manifest)).not.toContain('cli-secret');
  });

  test('temperatures are confirmed by container identity: step1 cold after every enforceColdStart, then warm in the same container', () => {
    expect(raw.every((r) => r.outcome === 'ok')).toBe(true);
    const measured = raw.filter((r) => !r.warmup);
    const cold = measured.filter((r) => r.expectedTemperature === 'cold-sandbox');
    expect(cold).toHaveLength(5);
    expect(cold.every((r) => r.temperatureCheck === 'ok' && r.temperature === 'cold-sandbox')).toBe(true);
    expect(new Set(cold.map((r) => r.call.platform?.records[0]?.sandboxId)).size).toBe(5);
    const warm = measured.filter((r) => r.expectedTemperature === 'warm');
    expect(warm.every((r) => r.temperatureCheck === 'ok' && r.temperature === 'warm')).toBe(true);
    // OpenFaaS has no cold-worker level: step2.. run in their own, new containers, and the check says so.
    const coldWorker = measured.filter((r) => r.expectedTemperature === 'cold-worker');
    expect(coldWorker.every((r) => r.temperatureCheck === 'mismatch' && r.temperature === 'cold-sandbox')).toBe(true);
  });

  test('nothing is left deployed or running', async () => {
    expect(gw.functions()).toEqual([]);
    expect(await docker.listContainers({ all: true, filters: { label: [`${DOUBLE_LABEL}=${gw.instance}`] } })).toEqual([]);
    expect((await docker.listImages({ filters: { reference: ['mfbench-fn-cold-start'] } })).length).toBe(0);
  });
});
