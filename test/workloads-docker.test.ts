/**
 * The workloads on the docker backend under both presets: every output passes its workload's own validator, so a
 * latency measured in containers is never measured on a function that silently did nothing. Skipped only when no
 * Docker engine answers and MFBENCH_REQUIRE_DOCKER is not '1' (CI sets it, so there it runs or fails).
 */
import { describe, expect, test } from 'vitest';
import { deployAndValidate } from '../dist/cli/commands/validate.js';
import { PRESET_NAMES } from '../dist/platform/config.js';
import { WORKLOADS } from '../dist/workloads/index.js';
import { dockerWithRuntimeImage, noteDockerSkipped, RUN_DOCKER_TESTS } from './helpers/docker.js';
import { useSuitePlatform } from './helpers/workload.js';

noteDockerSkipped('docker workload tests');

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

describe.runIf(RUN_DOCKER_TESTS).each(PRESET_NAMES)('workloads on the docker backend, preset %s', (preset) => {
  const suite = useSuitePlatform({ before: dockerWithRuntimeImage, config: { backend: 'docker', preset }, timeoutMs: 180_000 });

  test.each(CASES)('%s (%s %s): every output passes its validator, and it ran in containers', async (name, workflow, sizes) => {
    const w = WORKLOADS[name];
    expect(Object.keys(w.sizes)).toEqual(expect.arrayContaining([...sizes]));
    const r = await deployAndValidate(suite.client, w, w.app(), { sizes: [...sizes], seed: 3, workflow, runs: 1, app: name, replace: false, keep: true });
    for (const input of r.inputs) for (const run of input.runs) expect(run.verdict, `${name} ${input.size}`).toEqual({ ok: true });
    expect(r.ok).toBe(true);
    const app = await suite.client.getApp(name);
    expect(app.sandboxes.length).toBeGreaterThan(0);
    for (const s of app.sandboxes) {
      expect(s.backend).toBe('docker');
      expect((s as { containerId?: string }).containerId).toMatch(/^[0-9a-f]{64}$/);
    }
    // Grouped: one container for the app; per-function: one per function that ran.
    expect(new Set(app.sandboxes.map((x) => (x as { containerId?: string }).containerId)).size).toBe(app.sandboxes.length);
    if (preset === 'grouped') expect(app.sandboxes).toHaveLength(1);
    else expect(app.sandboxes.every((s) => s.functions.length === 1)).toBe(true);
    await suite.client.deleteApp(name);
  }, 240_000);
});
