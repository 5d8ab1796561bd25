/**
 * The workloads on the docker backend under both presets: every output passes its workload's own validator, so a
 * latency measured in containers is never measured on a function that silently did nothing. Skipped only when no
 * Docker engine answers and MFBENCH_REQUIRE_DOCKER is not '1' (CI sets it, so there it runs or fails).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { deployAndValidate } from '../dist/cli/commands/validate.js';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import { PRESET_NAMES } from '../dist/platform/config.js';
import { MicroFunctionsClient } from '../dist/platform/sdk/client.js';
import { connectDocker } from '../dist/platform/sandbox/docker/engine.js';
import { buildRuntimeImage } from '../dist/platform/sandbox/docker/image.js';
import { WORKLOADS } from '../dist/workloads/index.js';
import { testPlatform } from './helpers/platform.js';

const REQUIRED = process.env.MFBENCH_REQUIRE_DOCKER === '1';
const engine = await connectDocker().then(
  (docker) => ({ docker, problem: null as string | null }),
  (err: Error) => ({ docker: null, problem: err.message }),
);
if (!engine.docker && !REQUIRED) process.stderr.write(`docker workload tests skipped: ${engine.problem} (MFBENCH_REQUIRE_DOCKER=1 makes this fail)\n`);

/** Every workload at its smallest size (and both paths of the NFV chain's Choice). */
const CASES = [
  ['hello', 'main', ['small']],
  ['noop-chain', 'main', ['tiny']],
  ['noop', 'main', ['small']],
  ['sleep', 'main', ['small']],
  ['cpu', 'main', ['small']],
  ['payload', 'main', ['small', 'large']],
  ['spiky', 'main', ['small']],
  ['anomaly-detection', 'main', ['small', 'clean']],
  ['image-pipeline', 'sequential', ['small']],
  ['image-pipeline', 'refarch', ['small']],
  ['face-recognition', 'main', ['small']],
] as const;

describe.skipIf(!engine.docker && !REQUIRED).each(PRESET_NAMES)('workloads on the docker backend, preset %s', (preset) => {
  let p: PlatformHandle;
  let client: MicroFunctionsClient;

  beforeAll(async () => {
    if (!engine.docker) throw new Error(`MFBENCH_REQUIRE_DOCKER=1 but no Docker engine answers: ${engine.problem}`);
    await buildRuntimeImage({ docker: engine.docker });
    p = await testPlatform({ backend: 'docker', preset });
    client = new MicroFunctionsClient({ url: p.url, token: p.token });
  }, 180_000);

  afterAll(async () => {
    await p?.close();
  });

  test.each(CASES)('%s (%s %s): every output passes its validator, and it ran in containers', async (name, workflow, sizes) => {
    const w = WORKLOADS[name];
    expect(Object.keys(w.sizes)).toEqual(expect.arrayContaining([...sizes]));
    const r = await deployAndValidate(client, w, w.app(), { sizes: [...sizes], seed: 3, workflow, runs: 1, app: name, replace: false, keep: true });
    for (const input of r.inputs) for (const run of input.runs) expect(run.verdict, `${name} ${input.size}`).toEqual({ ok: true });
    expect(r.ok).toBe(true);
    const app = await client.getApp(name);
    expect(app.sandboxes.length).toBeGreaterThan(0);
    for (const s of app.sandboxes) {
      expect(s.backend).toBe('docker');
      expect((s as { containerId?: string }).containerId).toMatch(/^[0-9a-f]{64}$/);
    }
    // Grouped: one container for the app; per-function: one per function that ran.
    expect(new Set(app.sandboxes.map((x) => (x as { containerId?: string }).containerId)).size).toBe(app.sandboxes.length);
    if (preset === 'grouped') expect(app.sandboxes).toHaveLength(1);
    else expect(app.sandboxes.every((s) => s.functions.length === 1)).toBe(true);
    await client.deleteApp(name);
  }, 240_000);
});
