/**
 * What callers and workflows can consume (docs/limits.md), on a real platform: result sizes, the execution store's
 * byte bound and its spill files, the transition cap, the execution time limit, StopExecution on both placements,
 * a runaway loop beside a normal execution, and a 100,000-item Map. Every bound answers with a typed error and
 * leaves the platform serving.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MicroFunctionsClient } from '../dist/platform/sdk/index.js';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import { call, chain, inlineFunction, testPlatform, waitFor } from './helpers/platform.js';

const FUNCTIONS = {
  echo: `export const handler = async (event) => event;`,
  big: `export const handler = async (event) => 'x'.repeat(event.bytes);`,
};

/** A Pass/Choice loop that never ends on its own. */
const LOOP = {
  StartAt: 'Count',
  States: {
    Count: { Type: 'Pass', Parameters: { 'n.$': 'States.MathAdd($.n, 1)' }, Next: 'Again' },
    Again: { Type: 'Choice', Choices: [{ Variable: '$.n', NumericLessThan: -1, Next: 'Done' }], Default: 'Count' },
    Done: { Type: 'Succeed' },
  },
};

/** The same loop inside a Catch-all: a limit must not be caught. */
const CAUGHT_LOOP = {
  StartAt: 'Inner',
  States: {
    Inner: {
      Type: 'Parallel',
      Branches: [LOOP],
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }],
      End: true,
    },
    Caught: { Type: 'Succeed' },
  },
};

const WAIT = { StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 120, End: true } } };

const MAP = {
  StartAt: 'M',
  States: {
    M: { Type: 'Map', ItemsPath: '$.items', ItemProcessor: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } }, End: true },
  },
};

/** Doubles its input into an output larger than the input (two branches of the same value). */
const DOUBLE = {
  StartAt: 'Both',
  States: { Both: { Type: 'Parallel', Branches: [{ StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }, { StartAt: 'B', States: { B: { Type: 'Pass', End: true } } }], End: true } },
};

function app(name: string) {
  return {
    name,
    functions: [inlineFunction('echo', FUNCTIONS.echo), inlineFunction('big', FUNCTIONS.big)],
    workflows: { echo: chain(['echo']), big: chain(['big']), loop: LOOP, caught: CAUGHT_LOOP, wait: WAIT, map: MAP, double: DOUBLE },
  };
}

describe('results and the execution store', () => {
  let p: PlatformHandle;
  const MAX_RESULT = 64 * 1024;
  const STORE_BYTES = 40_000;

  beforeAll(async () => {
    p = await testPlatform({ maxResultBytes: MAX_RESULT, maxStoredExecutionBytes: STORE_BYTES });
    expect((await call(p, 'POST', '/apps', app('bounds'))).status).toBe(201);
  });
  afterAll(async () => {
    await p?.close();
  });

  test('a function result over maxResultBytes fails the execution and the direct invocation with MF_RESULT_TOO_LARGE', async () => {
    const r = await call(p, 'POST', '/apps/bounds/workflows/big/executions', { bytes: MAX_RESULT + 1 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'FAILED', error: 'MF_RESULT_TOO_LARGE' });
    expect(r.body.cause).toContain(String(MAX_RESULT));
    expect(r.body.records[0].outcome).toMatchObject({ state: 'error', error: 'MF_RESULT_TOO_LARGE' });
    const direct = await call(p, 'POST', '/apps/bounds/functions/big/invocations', { bytes: MAX_RESULT + 1 });
    expect(direct.body).toMatchObject({ status: 'FAILED', error: 'MF_RESULT_TOO_LARGE' });
    // Just under the limit is fine.
    const fine = await call(p, 'POST', '/apps/bounds/workflows/big/executions', { bytes: MAX_RESULT - 100 });
    expect(fine.body.status).toBe('SUCCEEDED');
  });

  test("an execution's output over maxResultBytes fails it, even when every state's own value was small", async () => {
    const half = 'y'.repeat(MAX_RESULT / 2 + 100);
    const r = await call(p, 'POST', '/apps/bounds/workflows/double/executions', { half });
    expect(r.body).toMatchObject({ status: 'FAILED', error: 'MF_RESULT_TOO_LARGE' });
    const stored = await call(p, 'GET', `/executions/${r.body.executionId}`);
    expect(stored.body.status).toBe('FAILED');
    expect(stored.body.output).toBeUndefined();
  });

  test('finished executions beyond the byte bound are dropped from memory and read back whole from their files on GET', async () => {
    const ids: string[] = [];
    const payload = 'z'.repeat(4000);
    for (let i = 0; i < 30; i++) {
      const r = await call(p, 'POST', '/apps/bounds/workflows/echo/executions', { i, payload });
      expect(r.body.status).toBe('SUCCEEDED');
      ids.push(r.body.executionId);
    }
    const store = p.platform.parts.executions;
    expect(store.bytesInMemory).toBeLessThanOrEqual(STORE_BYTES);
    const spillDir = join(p.dataDir, 'executions');
    const logText = async () => (await Promise.all((await readdir(spillDir).catch(() => [] as string[])).map((f) => readFile(join(spillDir, f), 'latin1')))).join('');
    await waitFor(async () => (await logText()).includes(`+ ${ids.at(-1)} `), 10_000);
    expect(await logText()).toContain(`+ ${ids[0]} `); // the execution log holds the oldest, to be read back
    // The oldest comes back from disk, exactly as it was answered.
    const first = await call(p, 'GET', `/executions/${ids[0]}`);
    expect(first.body).toMatchObject({ executionId: ids[0], status: 'SUCCEEDED', output: { i: 0, payload } });
    expect(first.body.records).toHaveLength(1);
    // Its history stayed in the sandbox, which bounds it by the same bytes and dropped the oldest (visibly).
    const history = await call(p, 'GET', `/executions/${ids[0]}/history`);
    expect(history.status).toBe(410);
    expect(history.body.error.code).toBe('MF_HISTORY_EVICTED');
    const newest = await call(p, 'GET', `/executions/${ids.at(-1)}/history`);
    expect(newest.body.history.map((e: { type: string }) => e.type)).toContain('ExecutionSucceeded');
    const noRecords = await call(p, 'GET', `/executions/${ids[0]}?records=false`);
    expect(noRecords.body.records).toBeUndefined();
    expect(noRecords.body.output).toEqual({ i: 0, payload });
    const last = await call(p, 'GET', `/executions/${ids.at(-1)}`);
    expect(last.body.output).toEqual({ i: 29, payload });
  });
});

describe('bounded workflows', () => {
  let p: PlatformHandle;

  beforeAll(async () => {
    p = await testPlatform({ maxTransitions: 2000 });
    expect((await call(p, 'POST', '/apps', app('wf'))).status).toBe(201);
  });
  afterAll(async () => {
    await p?.close();
  });

  test('a Pass/Choice loop stops at maxTransitions with States.Runtime, which no Catch can catch', async () => {
    const r = await call(p, 'POST', '/apps/wf/workflows/loop/executions', { n: 0 });
    expect(r.body).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(r.body.cause).toContain('2000 state transitions');
    const caught = await call(p, 'POST', '/apps/wf/workflows/caught/executions', { n: 0 });
    expect(caught.body).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    const history = await call(p, 'GET', `/executions/${r.body.executionId}/history`);
    expect(history.body.history.at(-1).type).toBe('ExecutionFailed');
  });

  test('a Map of 100,000 items fails with the typed limit, never MF_INTERNAL', async () => {
    const items = Array.from({ length: 100_000 }, (_, i) => i);
    const r = await call(p, 'POST', '/apps/wf/workflows/map/executions', { items });
    expect(r.body).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(r.body.cause).toContain('maxTransitions');
  });
});

describe('a Map of 100,000 items within the limits', () => {
  test('completes, with its whole history', async () => {
    const p = await testPlatform({ maxTransitions: 1_000_000 });
    try {
      expect((await call(p, 'POST', '/apps', app('bigmap'))).status).toBe(201);
      const items = Array.from({ length: 100_000 }, (_, i) => i);
      const r = await call(p, 'POST', '/apps/bigmap/workflows/map/executions?records=false', { items });
      expect(r.body.status).toBe('SUCCEEDED');
      expect(r.body.output).toHaveLength(100_000);
      expect(r.body.output[99_999]).toBe(99_999);
      const history = await call(p, 'GET', `/executions/${r.body.executionId}/history`);
      expect(history.body.history.filter((e: { type: string }) => e.type === 'MapIterationSucceeded')).toHaveLength(100_000);
    } finally {
      await p.close();
    }
  }, 180_000);
});

describe('the execution time limit', () => {
  test('an execution running past maxExecutionSeconds ends States.Timeout (ExecutionTimedOut)', async () => {
    const p = await testPlatform({ maxExecutionSeconds: 1 });
    try {
      expect((await call(p, 'POST', '/apps', app('slow'))).status).toBe(201);
      const r = await call(p, 'POST', '/apps/slow/workflows/wait/executions', {});
      expect(r.body).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
      expect(r.body.cause).toContain('maxExecutionSeconds');
      // Bound generously: the Wait alone is 120 s.
      expect(r.body.t.completed - r.body.t.received).toBeLessThan(60_000);
      const history = await call(p, 'GET', `/executions/${r.body.executionId}/history`);
      expect(history.body.history.at(-1).type).toBe('ExecutionTimedOut');
    } finally {
      await p.close();
    }
  });
});

describe.each([
  ['grouped (engine in the sandbox)', { preset: 'grouped' as const }],
  ['per-function (engine on the host)', { preset: 'per-function' as const }],
])('StopExecution, %s', (_label, preset) => {
  let p: PlatformHandle;
  let client: MicroFunctionsClient;

  beforeAll(async () => {
    // One execution at a time per app: a stopped execution that kept its slot would block the next one.
    p = await testPlatform({ ...preset, maxTransitions: 1_000_000_000, workerConcurrency: 1, maxWorkersPerFunction: 1, maxSandboxesPerApp: 1, maxSandboxesPerFunction: 1 });
    client = new MicroFunctionsClient({ url: p.url, token: p.token });
    expect((await call(p, 'POST', '/apps', app('stops'))).status).toBe(201);
  });
  afterAll(async () => {
    await p?.close();
  });

  test('a waiting execution ends ABORTED with the given error and cause; stopping again changes nothing', async () => {
    const { executionId } = await client.execute('stops', 'wait', {}, { mode: 'async' });
    await waitFor(async () => (await client.getExecution(executionId)).t.dispatched > 0, 20_000);
    const stopped = await client.stopExecution(executionId, { error: 'Operator', cause: 'no longer needed' });
    expect(stopped).toMatchObject({ executionId, status: 'ABORTED', error: 'Operator', cause: 'no longer needed' });
    expect((await client.getExecution(executionId)).status).toBe('ABORTED');
    const again = await client.stopExecution(executionId, { error: 'Other' });
    expect(again).toMatchObject({ status: 'ABORTED', error: 'Operator' });
  });

  test('a runaway loop is stopped in its engine: the slot it held serves the next execution', async () => {
    const { executionId } = await client.execute('stops', 'loop', { n: 0 }, { mode: 'async' });
    await waitFor(async () => (await client.getExecution(executionId)).t.dispatched > 0, 20_000);
    const stopped = await client.stopExecution(executionId);
    expect(stopped).toMatchObject({ status: 'ABORTED', error: null, cause: null });
    const next = await client.execute('stops', 'echo', { after: 'stop' });
    expect(next).toMatchObject({ status: 'SUCCEEDED', output: { after: 'stop' } });
  });

  test('unknown ids are 404, bad fields 400, and stop needs the token', async () => {
    expect((await call(p, 'POST', '/executions/nope/stop', {})).body.error.code).toBe('MF_EXECUTION_NOT_FOUND');
    const { executionId } = await client.execute('stops', 'echo', {}, { mode: 'async' });
    expect((await call(p, 'POST', `/executions/${executionId}/stop`, { error: 42 })).status).toBe(400);
    expect((await call(p, 'POST', `/executions/${executionId}/stop`, { error: 'x'.repeat(257) })).status).toBe(400);
    expect((await call(p, 'POST', `/executions/${executionId}/stop`, {}, { token: null })).status).toBe(401);
  });
});

describe('a runaway loop does not starve its app', () => {
  test('a normal execution of the same app answers while a Pass/Choice loop runs beside it', async () => {
    const p = await testPlatform({ maxTransitions: 1_000_000_000 });
    try {
      expect((await call(p, 'POST', '/apps', app('busy'))).status).toBe(201);
      // Warm the sandbox, so the loop and the normal execution share one agent.
      expect((await call(p, 'POST', '/apps/busy/workflows/echo/executions', {})).body.status).toBe('SUCCEEDED');
      const loop = await call(p, 'POST', '/apps/busy/workflows/loop/executions?mode=async', { n: 0 });
      expect(loop.status).toBe(202);
      const started = Date.now();
      const normal = await call(p, 'POST', '/apps/busy/workflows/echo/executions', { beside: 'loop' });
      const tookMs = Date.now() - started;
      console.log(`normal execution beside a runaway loop answered in ${tookMs} ms`);
      expect(normal.body).toMatchObject({ status: 'SUCCEEDED', output: { beside: 'loop' } });
      expect(new Set([normal.body.records[0].sandboxId])).toEqual(new Set(p.platform.getApp('busy').sandboxes.map((s) => s.id)));
      expect(tookMs).toBeLessThan(30_000);
      expect((await call(p, 'GET', `/executions/${loop.body.executionId}`)).body.status).toBe('RUNNING');
      expect((await call(p, 'POST', `/executions/${loop.body.executionId}/stop`, {})).body.status).toBe('ABORTED');
    } finally {
      await p.close();
    }
  });
});
