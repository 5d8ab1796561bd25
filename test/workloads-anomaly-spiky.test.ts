/**
 * anomaly-detection and spiky end to end on a real platform (process backend). The NFV chain identifies the victim
 * of an injected DDoS and emits nothing on clean traffic, its later stages running only on detection (Choice); a
 * malformed flow record fails at collect, and the platform keeps serving. spiky's function does its ~100 ms of work.
 */
import { describe, expect, test } from 'vitest';
import { deployAndValidate, validateDeployed } from '../dist/cli/commands/validate.js';
import { WORKLOADS } from '../dist/workloads/index.js';
import { useSuitePlatform } from './helpers/workload.js';

describe('anomaly-detection and spiky on the process backend', () => {
  const w = WORKLOADS['anomaly-detection'];
  const suite = useSuitePlatform({ deploy: () => w.app() });

  test('attacked: all five stages run and the victim is redirected; clean: only two stages run and nothing is emitted', async () => {
    const r = await validateDeployed(suite.client, w, { sizes: ['small', 'clean', 'medium'], seed: 11, workflow: 'main', runs: 1, app: 'anomaly-detection' });
    for (const input of r.inputs) expect(input.runs[0]!.verdict, input.size).toEqual({ ok: true });
    expect(r.inputs[0]!.runs[0]!.stages.map((s) => s.function)).toEqual(['collect', 'entropy-detector', 'heavy-detector', 'identify-victim', 'mitigate']);
    expect(r.inputs[1]!.runs[0]!.stages.map((s) => s.function)).toEqual(['collect', 'entropy-detector']);
  });

  test.each([1, 2, 3, 4, 5])('seed %i: the victim is found when attacked, nothing when clean', async (seed) => {
    const r = await validateDeployed(suite.client, w, { sizes: ['small', 'clean'], seed, workflow: 'main', runs: 1, app: 'anomaly-detection' });
    for (const input of r.inputs) expect(input.runs[0]!.verdict, `${input.size} seed ${seed}`).toEqual({ ok: true });
  });

  test('a malformed flow record fails at collect naming the record; the next execution succeeds', async () => {
    const bad = w.generateInput('malformed', 3);
    const e = await suite.client.execute('anomaly-detection', 'main', bad);
    expect(e.status).toBe('FAILED');
    expect(e.error).toBe('MalformedFlowRecord');
    expect(JSON.parse(e.cause!).errorMessage).toMatch(new RegExp(`^collect: flow record ${bad.truth.malformedIndex} is malformed: "dst" must be a dotted IPv4 address`));
    expect(w.validateFailure!(bad, { error: e.error, cause: e.cause })).toEqual({ ok: true });
    const good = w.generateInput('small', 3);
    const after = await suite.client.execute('anomaly-detection', 'main', good);
    expect(w.validateOutput(good, after.output)).toEqual({ ok: true });
  });

  test('spiky: renditions are valid, and a warm medium invocation computes for tens of milliseconds', async () => {
    const s = WORKLOADS.spiky;
    const r = await deployAndValidate(suite.client, s, s.app(), { sizes: ['medium'], seed: 1, workflow: 'main', runs: 3, app: 'spiky', replace: false, keep: false });
    expect(r.ok).toBe(true);
    const warm = r.inputs[0]!.runs[2]!.stages[0]!;
    expect(warm.temperature).toBe('warm');
    expect(warm.computeMs).toBeGreaterThan(20);
  });
});
