/**
 * One run, several platforms: `mfbench run cold-start chain-length --platform microfunctions,openwhisk,openfaas`
 * against the embedded MicroFunctions and the OpenWhisk and OpenFaaS doubles (connected through their documented
 * environment variables), so that the report shows the platforms side by side. The OpenFaaS double runs real
 * containers: it joins when an engine answers, or when MFBENCH_REQUIRE_DOCKER=1 (then a missing engine fails).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectDocker } from '../dist/platform/sandbox/docker/engine.js';
import { OpenWhiskDouble } from './doubles/openwhisk/server.js';
import { startOpenFaasDouble, type OpenFaasDouble } from './doubles/openfaas/gateway.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const REQUIRED = process.env.MFBENCH_REQUIRE_DOCKER === '1';
const engine = await connectDocker().then(
  (docker) => ({ docker, problem: null as string | null }),
  (err: Error) => ({ docker: null, problem: err.message }),
);
const withOpenFaas = engine.docker !== null || REQUIRED;
if (!withOpenFaas) process.stderr.write(`side by side without OpenFaaS (its double needs Docker): ${engine.problem}\n`);

describe('one run across platforms', () => {
  let ow: OpenWhiskDouble;
  let of: OpenFaasDouble | null = null;
  let parent: string;
  let dir: string;
  let json: { status: string; experiments: Array<{ name: string; status: string }> };

  beforeAll(async () => {
    if (withOpenFaas && !engine.docker) throw new Error(`MFBENCH_REQUIRE_DOCKER=1 but no Docker engine: ${engine.problem}`);
    ow = await OpenWhiskDouble.start();
    if (engine.docker) of = await startOpenFaasDouble({ docker: engine.docker, user: 'admin', password: 'side-secret' });
    parent = await mkdtemp(join(tmpdir(), 'sidebyside-'));
    dir = join(parent, 'run');
    const platforms = ['microfunctions', 'openwhisk', ...(of ? ['openfaas'] : [])].join(',');
    const { stdout } = await run(process.execPath, [CLI, 'run', 'cold-start', 'chain-length', '--quick', '--platform', platforms, '--preset', 'grouped,per-function', '--out', dir, '--json'], {
      maxBuffer: 64 * 1024 * 1024,
      env: {
        ...process.env,
        MFBENCH_URL: '',
        MFBENCH_TOKEN: '',
        __OW_API_HOST: ow.url,
        __OW_API_KEY: ow.auth,
        ...(of ? { OPENFAAS_URL: of.url, OPENFAAS_USER: 'admin', OPENFAAS_PASSWORD: 'side-secret', OPENFAAS_FUNCTION_GATEWAY: of.internalUrl } : {}),
      },
    });
    json = JSON.parse(stdout);
  }, 600_000);

  afterAll(async () => {
    await ow?.close();
    await of?.close();
    if (parent) await rm(parent, { recursive: true, force: true });
  });

  test('every experiment completes for every variant, each platform with the dimensions it has', async () => {
    expect(json.status).toBe('complete');
    expect(json.experiments.map((e) => e.status)).toEqual(['complete', 'complete']);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    const variants = [...new Set(manifest.adapters.map((a: { variant: string }) => a.variant))].sort();
    expect(variants).toEqual(
      ['microfunctions/process/grouped', 'microfunctions/process/per-function', 'openwhisk/-/-', ...(of ? ['openfaas/-/-'] : [])].sort(),
    );
    expect(JSON.stringify(manifest)).not.toContain('side-secret');
  });

  test('the figures and their tables show the platforms side by side', async () => {
    const summary = await readFile(join(dir, 'csv', 'chain-length.summary.csv'), 'utf8');
    for (const v of ['microfunctions/process/grouped', 'microfunctions/process/per-function', 'openwhisk/-/-', ...(of ? ['openfaas/-/-'] : [])]) {
      expect(summary).toContain(v);
    }
    const spec = JSON.parse(await readFile(join(dir, 'figures', 'fig-cold-start.vl.json'), 'utf8'));
    expect(JSON.stringify(spec)).toContain('openwhisk/-/-');
    const html = await readFile(join(dir, 'index.html'), 'utf8');
    expect(html).toContain('fig-chain-length');
  });

  test('--url with several platforms is a usage error (exit 2) that says why', async () => {
    const err = await run(process.execPath, [CLI, 'run', 'cold-start', '--quick', '--platform', 'microfunctions,openwhisk', '--url', 'http://127.0.0.1:1'], { env: { ...process.env, MFBENCH_URL: '' } }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toMatch(/--url and --token name one platform/);
  });
});
