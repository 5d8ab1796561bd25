/**
 * One run, several platforms: `mfbench run cold-start chain-length pipeline-overhead --platform
 * microfunctions,openwhisk,openfaas`
 * against the embedded MicroFunctions and the OpenWhisk and OpenFaaS doubles (connected through their documented
 * environment variables), so that the report shows the platforms side by side. Both need Docker: the OpenFaaS double
 * runs real containers, and on OpenWhisk image-pipeline's tag-objects is a blackbox action whose image is built and
 * run on the engine; the run happens when an engine answers, or when MFBENCH_REQUIRE_DOCKER=1 (then a missing engine
 * fails).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { noteDockerSkipped, requireDocker, RUN_DOCKER_TESTS } from './helpers/docker.js';
import { OpenWhiskDouble } from './doubles/openwhisk/server.js';
import { startOpenFaasDouble, type OpenFaasDouble } from './doubles/openfaas/gateway.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const withOpenFaas = RUN_DOCKER_TESTS;
noteDockerSkipped('the side-by-side run (the OpenFaaS double and OpenWhisk blackbox actions need Docker)');

describe.runIf(RUN_DOCKER_TESTS)('one run across platforms', () => {
  let ow: OpenWhiskDouble;
  let of: OpenFaasDouble | null = null;
  let parent: string;
  let dir: string;
  let json: { status: string; experiments: Array<{ name: string; status: string }> };

  beforeAll(async () => {
    // tag-objects asks for 1024 MB: the double allows it, as a deployment running ML actions must.
    ow = await OpenWhiskDouble.start({ docker: requireDocker(), limits: { maxMemory: 2048 } });
    const bridge = networkInterfaces().docker0?.find((a) => a.family === 'IPv4')?.address ?? '172.17.0.1';
    if (withOpenFaas) of = await startOpenFaasDouble({ docker: requireDocker(), user: 'admin', password: 'side-secret' });
    parent = await mkdtemp(join(tmpdir(), 'sidebyside-'));
    dir = join(parent, 'run');
    const platforms = ['microfunctions', 'openwhisk', ...(of ? ['openfaas'] : [])].join(',');
    const { stdout } = await run(process.execPath, [CLI, 'run', 'cold-start', 'chain-length', 'pipeline-overhead', '--quick', '--platform', platforms, '--preset', 'grouped,per-function', '--out', dir, '--json'], {
      maxBuffer: 64 * 1024 * 1024,
      env: {
        ...process.env,
        MFBENCH_URL: '',
        MFBENCH_TOKEN: '',
        __OW_API_HOST: ow.url,
        __OW_API_KEY: ow.auth,
        // OpenFaaS replicas are containers on the Docker bridge: the storage service listens where they reach it.
        ...(of
          ? { OPENFAAS_URL: of.url, OPENFAAS_USER: 'admin', OPENFAAS_PASSWORD: 'side-secret', OPENFAAS_FUNCTION_GATEWAY: of.internalUrl, MFBENCH_STORAGE_LISTEN: `${new URL(of.internalUrl).hostname}:0` }
          : { MFBENCH_STORAGE_LISTEN: `${bridge}:0` }),
      },
    });
    json = JSON.parse(stdout);
  }, 900_000);

  afterAll(async () => {
    await ow?.close();
    await of?.close();
    if (parent) await rm(parent, { recursive: true, force: true });
  });

  test('every experiment completes for every variant, each platform with the dimensions it has', async () => {
    expect(json.status).toBe('complete');
    expect(json.experiments.map((e) => e.status)).toEqual(['complete', 'complete', 'complete']);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    const variants = [...new Set(manifest.adapters.map((a: { variant: string }) => a.variant))].sort();
    expect(variants).toEqual(
      ['microfunctions/process/grouped', 'microfunctions/process/per-function', 'openwhisk/-/-', ...(of ? ['openfaas/-/-'] : [])].sort(),
    );
    expect(JSON.stringify(manifest)).not.toContain('side-secret');
  });

  test('the figures and their tables show the platforms side by side', async () => {
    for (const experiment of ['chain-length', 'pipeline-overhead']) {
      const summary = await readFile(join(dir, 'csv', `${experiment}.summary.csv`), 'utf8');
      for (const v of ['microfunctions/process/grouped', 'microfunctions/process/per-function', 'openwhisk/-/-', ...(of ? ['openfaas/-/-'] : [])]) {
        expect(summary, experiment).toContain(v);
      }
    }
    const spec = JSON.parse(await readFile(join(dir, 'figures', 'fig-cold-start.vl.json'), 'utf8'));
    expect(JSON.stringify(spec)).toContain('openwhisk/-/-');
    const html = await readFile(join(dir, 'index.html'), 'utf8');
    expect(html).toContain('fig-chain-length');
    expect(html).toContain('fig-pipeline-overhead');
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
