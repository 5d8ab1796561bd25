/**
 * The two presets and the switches behind them, checked by identity (sandbox ids, worker pids) and by what
 * actually went through the global bus, on the process backend.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import type { UserConfig } from '../dist/platform/config.js';
import type { InvocationRecord } from '../dist/platform/records.js';
import { call, chain, inlineFunction, testPlatform, waitFor } from './helpers/platform.js';
import { dockerWithRuntimeImage, noteDockerSkipped, RUN_DOCKER_TESTS } from './helpers/docker.js';

// The same suite on every backend: docker joins when an engine answers, or when MFBENCH_REQUIRE_DOCKER=1 (then a
// missing engine fails instead of skipping).
const BACKENDS_UNDER_TEST = RUN_DOCKER_TESTS ? (['process', 'docker'] as const) : (['process'] as const);
noteDockerSkipped('presets on the docker backend');

const STEP = `export const handler = async (event, context) => {
  if (event.ms) await new Promise((r) => setTimeout(r, event.ms));
  return { ...event, steps: [...(event.steps ?? []), context.functionName] };
};`;
const STEPS = ['s1', 's2', 's3', 's4', 's5'];
const APP = { name: 'p', functions: STEPS.map((s) => inlineFunction(s, STEP)), workflows: { main: chain(STEPS) } };

let p: PlatformHandle | null = null;
afterEach(async () => {
  await p?.close();
  p = null;
});

describe.each(BACKENDS_UNDER_TEST)('on the %s backend', (backend) => {
  beforeAll(async () => {
    if (backend !== 'docker') return;
    await dockerWithRuntimeImage();
  }, 180_000);

  async function start(config: UserConfig): Promise<PlatformHandle> {
    p = await testPlatform({ ...config, backend });
    expect((await call(p, 'POST', '/apps', APP)).status).toBe(201);
    return p;
  }

  /** On docker, the distinct containers behind the app's sandboxes (one per sandbox). */
  async function containers(q: PlatformHandle): Promise<number | null> {
    if (backend !== 'docker') return null;
    const app = (await call(q, 'GET', '/apps/p')).body;
    return new Set(app.sandboxes.map((s: { containerId: string }) => s.containerId)).size;
  }

  const execute = (q: PlatformHandle, input: Record<string, unknown> = {}) => call(q, 'POST', '/apps/p/workflows/main/executions', input);

  /** Lines of the bus journal of one topic (the platform keeps the bus in its data folder, across runs). */
  function busLines(q: PlatformHandle, topic: string): string[] {
    const file = join(q.dataDir, 'bus', 'topics', `${topic}.jsonl`);
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  }

  describe('the per-function preset (container-per-function baseline)', () => {
    test('one sandbox per function; every hop goes through the global bus; the first execution is cold everywhere', async () => {
      const q = await start({ preset: 'per-function' });
      const first = await execute(q, { n: 1 });
      expect(first.body.status).toBe('SUCCEEDED');
      expect(first.body.output).toEqual({ n: 1, steps: STEPS });
      const records: InvocationRecord[] = first.body.records;
      expect(records.map((r) => r.function)).toEqual(STEPS);
      expect(new Set(records.map((r) => r.sandboxId)).size).toBe(5);
      expect(records.map((r) => r.temperature)).toEqual(STEPS.map(() => 'cold-sandbox'));
      const app = (await call(q, 'GET', '/apps/p')).body;
      expect(app.sandboxes.map((s: { functions: string[] }) => s.functions)).toEqual(expect.arrayContaining(STEPS.map((s) => [s])));
      expect(app.sandboxes).toHaveLength(5);
      if (backend === 'docker') expect(await containers(q)).toBe(5);

      const second = await execute(q, { n: 2 });
      expect(second.body.records.map((r: InvocationRecord) => r.temperature)).toEqual(STEPS.map(() => 'warm'));
      // Each hop was published to the bus and its result came back through it.
      expect(busLines(q, 'hops')).toHaveLength(10);
      expect(busLines(q, 'hop-results')).toHaveLength(10);
      expect(JSON.parse(busLines(q, 'hops')[0]!).p.fn).toBe('s1');
    });

    test('concurrent executions get more sandboxes of a function, one execution at a time in each', async () => {
      const q = await start({ preset: 'per-function' });
      const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => execute(q, { i, ms: 150 })));
      for (const [i, r] of answers.entries()) expect(r.body.output).toEqual({ i, ms: 150, steps: STEPS });
      const s1 = answers.map((r) => (r.body.records as InvocationRecord[])[0]!);
      const s1Sandboxes = new Set(s1.map((r) => r.sandboxId));
      // Four at once need four sandboxes of s1. One of them may still serve two of the four in turn: a sandbox that
      // was ready early, freed before the last one's start (container starts differ by seconds on a busy machine).
      const app = (await call(q, 'GET', '/apps/p')).body;
      expect(app.sandboxes.filter((s: { functions: string[] }) => s.functions[0] === 's1').length).toBeGreaterThanOrEqual(s1Sandboxes.size);
      expect(s1Sandboxes.size).toBeGreaterThanOrEqual(3);
      // One execution at a time in each: no two s1 invocations on one sandbox overlap.
      for (const id of s1Sandboxes) {
        const on = s1.filter((r) => r.sandboxId === id).sort((a, b) => a.t.handlerStart - b.t.handlerStart);
        for (let k = 1; k < on.length; k++) expect(on[k]!.t.handlerStart).toBeGreaterThanOrEqual(on[k - 1]!.t.handlerEnd);
      }
      if (backend === 'docker') expect(await containers(q)).toBe(app.sandboxes.length);
    });
  });

  describe('the grouped preset (SAND)', () => {
    test('one sandbox per app under concurrency; a busy function gets more workers inside it', async () => {
      const q = await start({ preset: 'grouped', workerConcurrency: 2, maxWorkersPerFunction: 3 });
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => execute(q, { i, ms: 200 })));
      for (const [i, r] of answers.entries()) expect(r.body.output).toEqual({ i, ms: 200, steps: STEPS });
      const records = answers.flatMap((r) => r.body.records as InvocationRecord[]);
      expect(new Set(records.map((r) => r.sandboxId)).size).toBe(1);
      const s1Workers = new Set(records.filter((r) => r.function === 's1').map((r) => r.workerPid));
      expect(s1Workers.size).toBe(3); // 6 concurrent at 2 per worker
      expect((await call(q, 'GET', '/apps/p')).body.sandboxes).toHaveLength(1);
      if (backend === 'docker') expect(await containers(q)).toBe(1);
      // Hops stayed on the local bus: nothing went through the global bus but (maybe) checkpoints.
      expect(busLines(q, 'hops')).toHaveLength(0);
    });

    test("when a sandbox's workers are all busy, the app gets another sandbox holding all its functions", async () => {
      const q = await start({ preset: 'grouped', workerConcurrency: 1, maxWorkersPerFunction: 1, maxSandboxesPerApp: 3 });
      const answers = await Promise.all(Array.from({ length: 3 }, (_, i) => execute(q, { i, ms: 300 })));
      for (const [i, r] of answers.entries()) expect(r.body.output).toEqual({ i, ms: 300, steps: STEPS });
      // Each execution ran all its steps in one sandbox, and the three ran in three sandboxes of the app.
      for (const r of answers) expect(new Set((r.body.records as InvocationRecord[]).map((x) => x.sandboxId)).size).toBe(1);
      expect(new Set(answers.map((r) => (r.body.records as InvocationRecord[])[0]!.sandboxId)).size).toBe(3);
      const app = (await call(q, 'GET', '/apps/p')).body;
      expect(app.sandboxes).toHaveLength(3);
      for (const s of app.sandboxes) expect(s.functions).toEqual(STEPS);
      if (backend === 'docker') expect(await containers(q)).toBe(3);
    });

    test('ablation: grouped sandboxing with the global bus runs the workflow on the host, hops through the bus', async () => {
      const q = await start({ preset: 'grouped', busMode: 'global' });
      const r = await execute(q, { n: 3 });
      expect(r.body.output).toEqual({ n: 3, steps: STEPS });
      expect(new Set((r.body.records as InvocationRecord[]).map((x) => x.sandboxId)).size).toBe(1);
      expect(busLines(q, 'hops')).toHaveLength(5);
    });
  });

  describe('keep-alive and reclaim', () => {
    test('an idle sandbox is reclaimed after keep-alive, and the next execution starts cold', async () => {
      const q = await start({ keepAliveSeconds: 1 });
      const first = (await execute(q)).body.records[0];
      expect(first.temperature).toBe('cold-sandbox');
      // Within keep-alive the sandbox is reused. Its S1 worker may be warm or, when the rest of the first execution
      // took longer than the 1 s keep-alive on a busy machine, already reclaimed (cold-worker): either way, no new sandbox.
      const second = (await execute(q)).body.records[0];
      expect(second.sandboxId).toBe(first.sandboxId);
      expect(['warm', 'cold-worker']).toContain(second.temperature);
      await waitFor(async () => (await call(q, 'GET', '/apps/p')).body.sandboxes.length === 0, 10_000);
      expect((await execute(q)).body.records[0].temperature).toBe('cold-sandbox');
    });

    test('POST /apps/{app}/reclaim empties the app, so the next execution starts cold', async () => {
      const q = await start({ preset: 'per-function' });
      await execute(q);
      const reclaimed = await call(q, 'POST', '/apps/p/reclaim');
      expect(reclaimed.body).toEqual({ reclaimed: 5 });
      expect((await call(q, 'GET', '/apps/p')).body.sandboxes).toEqual([]);
      const r = await execute(q);
      expect(r.body.records.map((x: InvocationRecord) => x.temperature)).toEqual(STEPS.map(() => 'cold-sandbox'));
      expect((await call(q, 'POST', '/apps/nope/reclaim')).body.error.code).toBe('MF_APP_NOT_FOUND');
    });
  });

});

describe('policy switches are checked', () => {
  test.each<[UserConfig, string]>([
    [{ preset: 'serverful' as never }, 'preset'],
    [{ sandboxing: 'per-app' as never }, 'sandboxing'],
    [{ busMode: 'kafka' as never }, 'busMode'],
    [{ workerConcurrency: 0 }, 'workerConcurrency'],
    [{ keepAliveSeconds: -1 }, 'keepAliveSeconds'],
    [{ maxSandboxesPerApp: 0 }, 'maxSandboxesPerApp'],
    [{ recoveryAttempts: 99 }, 'recoveryAttempts'],
  ])('%o is rejected, naming %s', async (config, option) => {
    await expect(testPlatform(config)).rejects.toMatchObject({ code: 'MF_CONFIG_INVALID', details: { option } });
  });
});
