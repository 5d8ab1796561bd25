/**
 * Bad input and faults: every case gets a clear, typed answer, loses nothing that was deployed, and leaves the
 * platform serving. Real processes are killed and real limits are hit.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { alive, call, chain, inlineFunction, testPlatform, waitFor } from './helpers/platform.js';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';

const FUNCTIONS = {
  ok: `export const handler = async (event) => ({ ok: true, event });`,
  thrower: `class ValidationError extends Error { constructor(m) { super(m); this.name = 'ValidationError'; } }
export const handler = async () => { throw new ValidationError('bad order 42'); };`,
  exiter: `export const handler = async () => { process.exit(3); };`,
  sleeper: `export const handler = async (event) => { await new Promise((r) => setTimeout(r, event.ms ?? 60000)); return { slept: event.ms }; };`,
  hog: `const keep = [];
export const handler = async () => { for (;;) { keep.push(Buffer.alloc(16 * 1024 * 1024, 1)); await new Promise((r) => setImmediate(r)); } };`,
  logger: `export const handler = async (event, context) => { console.log('hello from', context.functionName, event.tag); context.log.warn('careful'); return event.tag; };`,
};

describe('faults inside functions', () => {
  let p: PlatformHandle;

  beforeAll(async () => {
    p = await testPlatform();
    const deployed = await call(p, 'POST', '/apps', {
      name: 'faults',
      functions: [
        inlineFunction('ok', FUNCTIONS.ok),
        inlineFunction('thrower', FUNCTIONS.thrower),
        inlineFunction('exiter', FUNCTIONS.exiter),
        inlineFunction('sleeper', FUNCTIONS.sleeper, { timeoutSeconds: 1 }),
        inlineFunction('hog', FUNCTIONS.hog, { memoryMB: 128, timeoutSeconds: 20 }),
        inlineFunction('logger', FUNCTIONS.logger),
      ],
      workflows: Object.fromEntries(Object.keys(FUNCTIONS).map((f) => [f, chain([f])])),
    });
    expect(deployed.status).toBe(201);
  });

  afterAll(async () => {
    await p?.close();
  });

  const run = (wf: string, input: unknown = {}) => call(p, 'POST', `/apps/faults/workflows/${wf}/executions`, input);
  const stillServing = async () => {
    const r = await run('ok', { x: 1 });
    expect(r.body.status).toBe('SUCCEEDED');
    expect(r.body.output).toEqual({ ok: true, event: { x: 1 } });
  };

  test('a function that throws fails the execution with its error name and message', async () => {
    const r = await run('thrower');
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('FAILED');
    expect(r.body.error).toBe('ValidationError');
    const cause = JSON.parse(r.body.cause);
    expect(cause.errorType).toBe('ValidationError');
    expect(cause.errorMessage).toBe('bad order 42');
    expect(Array.isArray(cause.trace)).toBe(true);
    expect(r.body.records[0].outcome.state).toBe('error');
    // The worker survived a thrown error: the next call is warm on the same pid.
    const again = await run('thrower');
    expect(again.body.records[0].workerPid).toBe(r.body.records[0].workerPid);
    expect(again.body.records[0].temperature).toBe('warm');
    await stillServing();
  });

  test('a worker that exits mid-invocation fails it with MF_WORKER_EXITED; the next gets a fresh worker', async () => {
    const r = await run('exiter');
    expect(r.body.status).toBe('FAILED');
    expect(r.body.error).toBe('MF_WORKER_EXITED');
    expect(r.body.records[0].outcome.state).toBe('crashed');
    const pid = r.body.records[0].workerPid;
    const next = await run('exiter');
    expect(next.body.error).toBe('MF_WORKER_EXITED');
    expect(next.body.records[0].workerPid).not.toBe(pid);
    expect(next.body.records[0].temperature).toBe('cold-worker');
    await stillServing();
  });

  test('a worker killed from outside mid-invocation is recovered: the invocation runs again in a new worker', async () => {
    const warm = await run('sleeper', { ms: 1 });
    const pid: number = warm.body.records[0].workerPid;
    const pending = run('sleeper', { ms: 800 });
    await new Promise((r) => setTimeout(r, 150));
    process.kill(pid, 'SIGKILL');
    const r = await pending;
    expect(r.body.status).toBe('SUCCEEDED');
    expect(r.body.output).toEqual({ slept: 800 });
    // Two records: the attempt that died with its worker, and the one that completed in a fresh worker.
    expect(r.body.records.map((x: { outcome: { state: string } }) => x.outcome.state)).toEqual(['crashed', 'ok']);
    expect(r.body.records[1].workerPid).not.toBe(pid);
    expect(r.body.records[1].temperature).toBe('cold-worker');
  });

  test('a handler that never returns times out (States.Timeout) and its worker is replaced', async () => {
    const started = Date.now();
    const r = await run('sleeper', { ms: 60_000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.body.status).toBe('FAILED');
    expect(r.body.error).toBe('States.Timeout');
    expect(r.body.cause).toMatch(/timed out after 1 seconds/);
    expect(r.body.records[0].outcome.state).toBe('timeout');
    const pid = r.body.records[0].workerPid;
    await waitFor(() => !alive(pid)); // killed with SIGKILL when the timer fired

    await stillServing();
  });

  test('a worker that floods memory is killed at its limit with MF_FUNCTION_MEMORY_EXCEEDED', async () => {
    const r = await run('hog');
    expect(r.body.status).toBe('FAILED');
    expect(r.body.error).toBe('MF_FUNCTION_MEMORY_EXCEEDED');
    expect(r.body.cause).toMatch(/128 MB/);
    await stillServing();
  });

  test('log lines are kept per execution', async () => {
    const a = await run('logger', { tag: 'A' });
    const b = await run('logger', { tag: 'B' });
    expect(a.body.output).toBe('A');
    const logsA = await call(p, 'GET', `/apps/faults/logs?execution=${a.body.executionId}`);
    const messages = logsA.body.logs.map((l: { message: string }) => l.message);
    expect(messages.some((m: string) => m.includes('hello from logger A'))).toBe(true);
    expect(messages.some((m: string) => m.includes('careful'))).toBe(true);
    expect(messages.some((m: string) => m.includes(' B'))).toBe(false);
    const all = await call(p, 'GET', '/apps/faults/logs');
    expect(all.body.logs.some((l: { executionId: string }) => l.executionId === b.body.executionId)).toBe(true);
  });
});

describe('sandbox faults', () => {
  test('with recovery off, a killed worker fails the invocation and a killed sandbox the request (503 MF_SANDBOX_EXITED)', async () => {
    const p = await testPlatform({ recoveryAttempts: 0 });
    try {
      await call(p, 'POST', '/apps', { name: 'sb', functions: [inlineFunction('sleeper', FUNCTIONS.sleeper)], workflows: { main: chain(['sleeper']) } });
      const first = await call(p, 'POST', '/apps/sb/workflows/main/executions', { ms: 1 });
      const sandboxId = first.body.records[0].sandboxId;
      const workerPid = first.body.records[0].workerPid;

      const pendingWorker = call(p, 'POST', '/apps/sb/workflows/main/executions', { ms: 2000 });
      await new Promise((r) => setTimeout(r, 200));
      process.kill(workerPid, 'SIGKILL');
      const w = await pendingWorker;
      expect(w.body.status).toBe('FAILED');
      expect(w.body.error).toBe('MF_WORKER_EXITED');

      const agentPid = (await call(p, 'GET', '/apps/sb')).body.sandboxes[0].agentPid;
      const pending = call(p, 'POST', '/apps/sb/workflows/main/executions', { ms: 2000 });
      await new Promise((r) => setTimeout(r, 300));
      process.kill(agentPid, 'SIGKILL');
      const r = await pending;
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('MF_SANDBOX_EXITED');
      const next = await call(p, 'POST', '/apps/sb/workflows/main/executions', { ms: 1 });
      expect(next.body.status).toBe('SUCCEEDED');
      expect(next.body.records[0].sandboxId).not.toBe(sandboxId);
      expect(next.body.records[0].temperature).toBe('cold-sandbox');
    } finally {
      await p.close();
    }
  });

  test('a handler file without the export fails the invocation with MF_HANDLER_NOT_FOUND, a throwing module with MF_FUNCTION_INIT_FAILED', async () => {
    const p = await testPlatform();
    try {
      const deployed = await call(p, 'POST', '/apps', {
        name: 'broken',
        functions: [
          inlineFunction('noexport', 'export const other = 1;'),
          inlineFunction('initfail', "throw new Error('no config');"),
          inlineFunction('ok', FUNCTIONS.ok),
        ],
        workflows: { a: chain(['noexport']), b: chain(['initfail']) },
      });
      expect(deployed.status).toBe(201);
      const a = await call(p, 'POST', '/apps/broken/workflows/a/executions', {});
      expect(a.body.status).toBe('FAILED');
      expect(a.body.error).toBe('MF_HANDLER_NOT_FOUND');
      const b = await call(p, 'POST', '/apps/broken/workflows/b/executions', {});
      expect(b.body.error).toBe('MF_FUNCTION_INIT_FAILED');
      expect(b.body.cause).toContain('no config');
      const ok = await call(p, 'POST', '/apps/broken/functions/ok/invocations', { y: 2 });
      expect(ok.body.output).toEqual({ ok: true, event: { y: 2 } });
    } finally {
      await p.close();
    }
  });

  test('closing the platform leaves no sandbox or worker process behind', async () => {
    const p = await testPlatform();
    await call(p, 'POST', '/apps', { name: 'c', functions: [inlineFunction('ok', FUNCTIONS.ok)], workflows: { main: chain(['ok']) } });
    const r = await call(p, 'POST', '/apps/c/workflows/main/executions', {});
    const workerPid = r.body.records[0].workerPid;
    const agentPid = (await call(p, 'GET', '/apps/c')).body.sandboxes[0].agentPid;
    await p.close();
    await waitFor(() => !alive(workerPid) && !alive(agentPid));
    expect(alive(agentPid)).toBe(false);
  });
});

describe('bad requests', () => {
  let p: PlatformHandle;

  beforeAll(async () => {
    p = await testPlatform({ maxBodyBytes: 64 * 1024 });
    await call(p, 'POST', '/apps', { name: 'echo', functions: [inlineFunction('echo', 'export const handler = async (e) => e;')], workflows: { main: chain(['echo']) } });
  });

  afterAll(async () => {
    await p?.close();
  });

  test.each([
    ['unknown app', 'POST', '/apps/nope/workflows/main/executions', {}, 404, 'MF_APP_NOT_FOUND'],
    ['unknown workflow', 'POST', '/apps/echo/workflows/nope/executions', {}, 404, 'MF_WORKFLOW_NOT_FOUND'],
    ['unknown function', 'POST', '/apps/echo/functions/nope/invocations', {}, 404, 'MF_FUNCTION_NOT_FOUND'],
    ['unknown execution', 'GET', '/executions/00000000-0000-0000-0000-000000000000', undefined, 404, 'MF_EXECUTION_NOT_FOUND'],
    ['unknown route', 'GET', '/nothing/here', undefined, 404, 'MF_NOT_FOUND'],
    ['bad mode', 'POST', '/apps/echo/workflows/main/executions?mode=later', {}, 400, 'MF_BAD_REQUEST'],
  ])('%s -> %i %s', async (_name, method, path, body, status, code) => {
    const r = await call(p, method, path, body);
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    expect(r.body.error.message.length).toBeGreaterThan(10);
  });

  test('a malformed JSON body is 400 MF_BAD_REQUEST', async () => {
    const r = await call(p, 'POST', '/apps/echo/workflows/main/executions', undefined, { raw: '{"a": ' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('MF_BAD_REQUEST');
  });

  test('an oversized body is 413 MF_PAYLOAD_TOO_LARGE, and the platform keeps serving', async () => {
    const r = await call(p, 'POST', '/apps/echo/workflows/main/executions', { blob: 'x'.repeat(100 * 1024) });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('MF_PAYLOAD_TOO_LARGE');
    expect(r.body.error.details.limit).toBe(64 * 1024);
    const ok = await call(p, 'POST', '/apps/echo/workflows/main/executions', { small: true });
    expect(ok.body.output).toEqual({ small: true });
  });

  test('the management API needs the token; invocation is open by default', async () => {
    expect((await call(p, 'GET', '/apps', undefined, { token: null })).body.error.code).toBe('MF_UNAUTHORIZED');
    const wrong = await call(p, 'GET', '/apps', undefined, { token: 'wrong-token-xyz' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('MF_UNAUTHORIZED');
    expect((await call(p, 'POST', '/apps', { name: 'x', functions: [], workflows: {} }, { token: null })).status).toBe(401);
    expect((await call(p, 'GET', '/healthz', undefined, { token: null })).status).toBe(200);
    const open = await call(p, 'POST', '/apps/echo/workflows/main/executions', { a: 1 }, { token: null });
    expect(open.body.output).toEqual({ a: 1 });
  });

  test('with invocationAuth the invocation routes need the token too', async () => {
    const q = await testPlatform({ invocationAuth: true });
    try {
      await call(q, 'POST', '/apps', { name: 'echo', functions: [inlineFunction('echo', 'export const handler = async (e) => e;')], workflows: { main: chain(['echo']) } });
      expect((await call(q, 'POST', '/apps/echo/workflows/main/executions', {}, { token: null })).status).toBe(401);
      expect((await call(q, 'POST', '/apps/echo/workflows/main/executions', { b: 2 })).body.output).toEqual({ b: 2 });
    } finally {
      await q.close();
    }
  });
});

describe('bad deploys leave nothing half-deployed', () => {
  let p: PlatformHandle;

  beforeAll(async () => {
    p = await testPlatform();
  });

  afterAll(async () => {
    await p?.close();
  });

  const noop = inlineFunction('f', 'export const handler = async (e) => e;');

  test.each([
    ['a broken ASL definition', { name: 'a1', functions: [noop], workflows: { main: { StartAt: 'Missing', States: { S: { Type: 'Task', Resource: 'f', End: true } } } } }, 'MF_ASL_INVALID'],
    ['a Task naming an unknown function', { name: 'a2', functions: [noop], workflows: { main: chain(['ghost']) } }, 'MF_ASL_INVALID'],
    ['a missing handler file', { name: 'a3', functions: [{ ...noop, handler: 'main.handler' }], workflows: { main: chain(['f']) } }, 'MF_HANDLER_NOT_FOUND'],
    ['a bad app name', { name: 'no spaces', functions: [noop], workflows: {} }, 'MF_MANIFEST_INVALID'],
    ['duplicate functions', { name: 'a4', functions: [noop, noop], workflows: {} }, 'MF_MANIFEST_INVALID'],
    ['a path escaping the code folder', { name: 'a5', functions: [{ ...noop, code: { files: { '../x.mjs': 'eA==' } } }], workflows: {} }, 'MF_MANIFEST_INVALID'],
    ['a relative code dir', { name: 'a6', functions: [{ ...noop, code: { dir: 'relative/path' } }], workflows: {} }, 'MF_MANIFEST_INVALID'],
    ['a silly memory limit', { name: 'a7', functions: [{ ...noop, memoryMB: 1 }], workflows: {} }, 'MF_MANIFEST_INVALID'],
    ['packages that are not npm names', { name: 'a8', functions: [{ ...noop, packages: ['Not A Package'] }], workflows: {} }, 'MF_MANIFEST_INVALID'],
    ['not an object', [1, 2, 3], 'MF_MANIFEST_INVALID'],
  ])('%s is rejected with %s', async (_what, manifest, code) => {
    const r = await call(p, 'POST', '/apps', manifest);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe(code);
    const apps = await call(p, 'GET', '/apps');
    expect(apps.body.apps).toEqual([]);
  });

  test('the ASL error names the state', async () => {
    const r = await call(p, 'POST', '/apps', {
      name: 'named',
      functions: [noop],
      workflows: { main: { StartAt: 'A', States: { A: { Type: 'Task', Resource: 'f', Next: 'Nowhere' } } } },
    });
    expect(r.body.error.code).toBe('MF_ASL_INVALID');
    expect(r.body.error.message).toContain('A');
    expect(r.body.error.message).toContain('Nowhere');
  });

  test('deploying a name twice is 409 MF_APP_EXISTS and keeps the first app', async () => {
    const app = { name: 'twice', functions: [noop], workflows: { main: chain(['f']) } };
    expect((await call(p, 'POST', '/apps', app)).status).toBe(201);
    const again = await call(p, 'POST', '/apps', app);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('MF_APP_EXISTS');
    expect((await call(p, 'POST', '/apps/twice/workflows/main/executions', { z: 1 })).body.output).toEqual({ z: 1 });
  });
});
