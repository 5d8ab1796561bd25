/**
 * End to end: a real platform on port 0, real sandbox agent and worker processes, real HTTP. A 5-step noop chain
 * is executed many times; every result is checked, and temperatures are checked against the identities (sandbox
 * id, worker pid) that actually ran each step.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { alive, call, chain, inlineFunction, testPlatform, waitFor } from './helpers/platform.js';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import type { InvocationRecord } from '../dist/platform/records.js';

const NOOP = `export const handler = async (event, context) => ({ ...event, steps: (event.steps ?? 0) + 1, last: context.functionName });`;
const STEPS = ['step1', 'step2', 'step3', 'step4', 'step5'];
/**
 * How far two processes' stamps may disagree (docs/architecture.md#timestamps): each fixes its epoch base from one
 * wall-clock reading at start; 1.2 ms was seen between an agent and its worker, more than the 1 ms allowed before.
 */
const CLOCK_SKEW_MS = 2;

describe('grouped sandboxing on the process backend', () => {
  let p: PlatformHandle;
  const seenPids = new Set<number>();

  beforeAll(async () => {
    p = await testPlatform();
    const deployed = await call(p, 'POST', '/apps', {
      name: 'chain5',
      functions: STEPS.map((s) => inlineFunction(s, NOOP)),
      workflows: { main: chain(STEPS) },
    });
    expect(deployed.status).toBe(201);
    expect(deployed.body.workflows).toEqual(['main']);
    expect(deployed.body.sandboxes).toEqual([]); // created on first use
  });

  afterAll(async () => {
    await p?.close();
  });

  test('the first execution is cold-sandbox then cold-worker, by identity', async () => {
    const r = await call(p, 'POST', '/apps/chain5/workflows/main/executions', { n: 1 });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('SUCCEEDED');
    expect(r.body.output).toEqual({ n: 1, steps: 5, last: 'step5' });
    const records: InvocationRecord[] = r.body.records;
    expect(records.map((x) => x.function)).toEqual(STEPS);
    expect(records.map((x) => x.state)).toEqual(['S1', 'S2', 'S3', 'S4', 'S5']);
    expect(records.map((x) => x.temperature)).toEqual(['cold-sandbox', 'cold-worker', 'cold-worker', 'cold-worker', 'cold-worker']);
    // One sandbox for the whole app, one distinct worker process per function.
    expect(new Set(records.map((x) => x.sandboxId)).size).toBe(1);
    const pids = records.map((x) => x.workerPid);
    expect(new Set(pids).size).toBe(5);
    for (const pid of pids) {
      expect(alive(pid)).toBe(true);
      seenPids.add(pid);
    }
    expect(records[0]!.coldStart.sandboxStartMs).toBeGreaterThan(0);
    expect(records[0]!.coldStart.sandboxCreateMs).toBeGreaterThan(0);
    expect(records[0]!.coldStart.sandboxCreateMs).toBeLessThan(records[0]!.coldStart.sandboxStartMs!);
    expect(records[1]!.coldStart.sandboxStartMs).toBeUndefined();
    for (const x of records) {
      expect(x.coldStart.codeLoadMs).toBeGreaterThanOrEqual(0);
      expect(['pool', 'spawn']).toContain(x.workerOrigin);
    }
    const app = await call(p, 'GET', '/apps/chain5');
    expect(app.body.sandboxes).toHaveLength(1);
    expect(app.body.sandboxes[0].id).toBe(records[0]!.sandboxId);
  });

  test('later executions are warm on the same sandbox and the same worker pids', async () => {
    const first = (await call(p, 'GET', '/apps/chain5')).body.sandboxes[0].id;
    for (let i = 0; i < 40; i++) {
      const r = await call(p, 'POST', '/apps/chain5/workflows/main/executions', { n: i });
      expect(r.body.status).toBe('SUCCEEDED');
      expect(r.body.output).toEqual({ n: i, steps: 5, last: 'step5' });
      const records: InvocationRecord[] = r.body.records;
      expect(records).toHaveLength(5);
      for (const x of records) {
        expect(x.temperature).toBe('warm');
        expect(x.workerOrigin).toBe('existing');
        expect(x.sandboxId).toBe(first);
        expect(seenPids.has(x.workerPid)).toBe(true);
        expect(x.coldStart).toEqual({});
        expect(x.outcome).toEqual({ state: 'ok' });
        // Timestamps are in causal order.
        expect(x.t.queued).toBeLessThanOrEqual(x.t.workerReady);
        // workerReady and published are the agent's stamps, handlerStart/End the worker's: two processes' clocks.
        expect(x.t.workerReady).toBeLessThanOrEqual(x.t.handlerStart + CLOCK_SKEW_MS);
        expect(x.t.handlerStart).toBeLessThanOrEqual(x.t.handlerEnd);
        expect(x.t.handlerEnd).toBeLessThanOrEqual(x.t.published + CLOCK_SKEW_MS);
        expect(x.inputBytes).toBeGreaterThan(0);
        expect(x.outputBytes).toBeGreaterThan(x.inputBytes - 1);
      }
      // Each step's output is the next step's input, handed on inside the sandbox: by the previous worker itself once
      // its handler ended (a warm pass-through chain: every hop after the first), else by the agent once it had the result.
      expect(records.map((x) => x.handedOver === true)).toEqual([false, true, true, true, true]);
      for (let k = 1; k < records.length; k++) {
        if (records[k]!.handedOver) expect(records[k]!.t.queued).toBe(records[k - 1]!.t.handlerEnd);
        else expect(records[k]!.t.queued).toBeGreaterThanOrEqual(records[k - 1]!.t.published - 1);
      }
      expect(r.body.t.received).toBeLessThanOrEqual(r.body.t.dispatched);
      expect(r.body.t.dispatched).toBeLessThanOrEqual(r.body.t.completed);
    }
  });

  test('concurrent executions all complete with their own results', async () => {
    const answers = await Promise.all(Array.from({ length: 25 }, (_, i) => call(p, 'POST', '/apps/chain5/workflows/main/executions', { id: i })));
    answers.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.body.output).toEqual({ id: i, steps: 5, last: 'step5' });
    });
  });

  test('async executions are kept and can be fetched with their records and history', async () => {
    const started = await call(p, 'POST', '/apps/chain5/workflows/main/executions?mode=async', { a: 1 });
    expect(started.status).toBe(202);
    const id = started.body.executionId as string;
    let view = await call(p, 'GET', `/executions/${id}`);
    for (let i = 0; i < 100 && view.body.status === 'RUNNING'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      view = await call(p, 'GET', `/executions/${id}`);
    }
    expect(view.body.status).toBe('SUCCEEDED');
    expect(view.body.output).toEqual({ a: 1, steps: 5, last: 'step5' });
    expect(view.body.records).toHaveLength(5);
    const history = await call(p, 'GET', `/executions/${id}/history`);
    expect(history.status).toBe(200);
    const entered = history.body.history.filter((e: { type: string }) => e.type === 'TaskStateEntered').map((e: { state: string }) => e.state);
    expect(entered).toEqual(['S1', 'S2', 'S3', 'S4', 'S5']);
  });

  test('records=false leaves the records out; a direct function invocation has one record', async () => {
    const r = await call(p, 'POST', '/apps/chain5/workflows/main/executions?records=false', { n: 2 });
    expect(r.body.records).toBeUndefined();
    expect(r.body.status).toBe('SUCCEEDED');
    const d = await call(p, 'POST', '/apps/chain5/functions/step3/invocations', { steps: 10 });
    expect(d.body.status).toBe('SUCCEEDED');
    expect(d.body.output).toEqual({ steps: 11, last: 'step3' });
    expect(d.body.records).toHaveLength(1);
    expect(d.body.records[0].temperature).toBe('warm');
    expect(d.body.records[0].state).toBeNull();
  });

  test('metrics count executions and invocations by temperature', async () => {
    const m = await call(p, 'GET', '/metrics');
    expect(m.status).toBe(200);
    expect(m.body).toMatch(/mf_executions_total\{app="chain5",workflow="main",status="SUCCEEDED"\} \d+/);
    expect(m.body).toMatch(/mf_invocations_total\{app="chain5",function="step1",temperature="cold-sandbox",outcome="ok"\} 1/);
    expect(m.body).toMatch(/mf_sandboxes 1/);
  });

  test('deleting the app stops its sandbox and its workers', async () => {
    const pids = [...seenPids];
    const agentPid = (await call(p, 'GET', '/apps/chain5')).body.sandboxes[0].agentPid as number;
    expect(alive(agentPid)).toBe(true);
    const del = await call(p, 'DELETE', '/apps/chain5');
    expect(del.status).toBe(200);
    await waitFor(() => !alive(agentPid) && pids.every((pid) => !alive(pid)));
    expect((await call(p, 'GET', '/apps/chain5')).body.error.code).toBe('MF_APP_NOT_FOUND');
  });
});

describe('worker policies', () => {
  test('with workerStart=deploy the first execution is warm on workers started at deploy', async () => {
    const p = await testPlatform({ workerStart: 'deploy' });
    try {
      const deployed = await call(p, 'POST', '/apps', { name: 'pre', functions: STEPS.slice(0, 2).map((s) => inlineFunction(s, NOOP)), workflows: { main: chain(STEPS.slice(0, 2)) } });
      expect(deployed.status).toBe(201);
      expect(deployed.body.sandboxes).toHaveLength(1);
      const r = await call(p, 'POST', '/apps/pre/workflows/main/executions', {});
      expect(r.body.records.map((x: InvocationRecord) => x.temperature)).toEqual(['warm', 'warm']);
    } finally {
      await p.close();
    }
  });

  test('with the pool off, cold workers are spawned; with it on they come from the pool', async () => {
    for (const [poolSize, origin] of [
      [0, 'spawn'],
      [2, 'pool'],
    ] as const) {
      const p = await testPlatform({ poolSize });
      try {
        await call(p, 'POST', '/apps', { name: 'one', functions: [inlineFunction('f', NOOP)], workflows: { main: chain(['f']) } });
        // The first execution creates the sandbox; give its pool time to boot before measuring a cold worker.
        await call(p, 'POST', '/apps/one/workflows/main/executions', {});
        await call(p, 'DELETE', '/apps/one');
        await call(p, 'POST', '/apps', { name: 'two', functions: [inlineFunction('g', NOOP), inlineFunction('h', NOOP)], workflows: { main: chain(['g']), second: chain(['h']) } });
        await call(p, 'POST', '/apps/two/workflows/main/executions', {});
        await new Promise((r) => setTimeout(r, 600));
        const r = await call(p, 'POST', '/apps/two/workflows/second/executions', {});
        const rec: InvocationRecord = r.body.records[0];
        expect(rec.temperature).toBe('cold-worker');
        expect(rec.workerOrigin).toBe(origin);
        if (origin === 'spawn') expect(rec.coldStart.runtimeBootMs).toBeGreaterThan(0);
        else expect(rec.coldStart.runtimeBootMs).toBeUndefined();
      } finally {
        await p.close();
      }
    }
  });
});
