/**
 * A workflow starts a session (docs/asl.md#platform-integrations) on real processes, under both placements of the
 * engine: in the sandbox (grouped) and on the host (per-function). `session:start` answers the running session, which
 * the client then talks to through the session API; `session:start.sync` waits until the session's functions exit; a
 * session that fails fails the Task with a Catch-able MF_SESSION_FAILED; the Task's TimeoutSeconds bounds the wait and
 * stops the session. Every wait is bounded and every session is stopped.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { alive, call, inlineFunction, testPlatform, waitFor } from './helpers/platform.js';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import { MicroFunctionsClient } from '../dist/platform/sdk/index.js';
import { ECHO } from './helpers/session-functions.js';

const APP = 'session-tasks';
const START = 'arn:mf:states:::session:start';
const SYNC = 'arn:mf:states:::session:start.sync';

/** Starts the session its input describes, then shapes the answer. */
const WORKFLOWS = {
  start: {
    StartAt: 'Start',
    States: {
      Start: {
        Type: 'Task',
        Resource: START,
        Parameters: { functions: [{ function: 'echo', alias: 'front', 'input.$': '$.greeting' }], policy: { onFailure: 'fail' } },
        ResultSelector: { 'id.$': '$.sessionId', 'status.$': '$.status', 'app.$': '$.app' },
        End: true,
      },
    },
  },
  sync: {
    StartAt: 'Run',
    States: {
      Run: {
        Type: 'Task',
        Resource: SYNC,
        Parameters: { 'functions.$': '$.functions' },
        Catch: [{ ErrorEquals: ['MF_SESSION_FAILED'], ResultPath: '$.failure', Next: 'Failed' }],
        End: true,
      },
      Failed: { Type: 'Pass', End: true },
    },
  },
  bounded: {
    StartAt: 'Run',
    States: { Run: { Type: 'Task', Resource: SYNC, TimeoutSeconds: 2, Parameters: { functions: [{ function: 'echo', alias: 'forever' }] }, End: true } },
  },
  bad: {
    StartAt: 'Run',
    States: { Run: { Type: 'Task', Resource: START, Parameters: { 'functions.$': '$.functions' }, End: true } },
  },
};

/** Returns after the given delay: a session whose functions exit on their own. */
const BRIEF = `export const handler = async (event, context) => { await new Promise((r) => setTimeout(r, event.ms ?? 300)); return 'done'; };`;
const THROWS = `export const handler = async () => { throw new Error('this session function gives up'); };`;

for (const preset of ['grouped', 'per-function'] as const) {
  describe(`session Tasks, ${preset} (engine ${preset === 'grouped' ? 'in the sandbox' : 'on the host'})`, () => {
    let p: PlatformHandle;
    let client: InstanceType<typeof MicroFunctionsClient>;

    beforeAll(async () => {
      p = await testPlatform({ preset, poolSize: 0 });
      client = new MicroFunctionsClient({ url: p.url, token: p.token });
      const deployed = await call(p, 'POST', '/apps', {
        name: APP,
        functions: [inlineFunction('echo', ECHO), inlineFunction('brief', BRIEF), inlineFunction('throws', THROWS)],
        workflows: WORKFLOWS,
      });
      expect(deployed.status).toBe(201);
    }, 60_000);

    afterAll(async () => {
      await p?.close();
    });

    test('session:start answers the running session of the execution\'s app; the client talks to it through the session API', async () => {
      const execution = await client.execute(APP, 'start', { greeting: { hello: 1 } });
      expect(execution.status).toBe('SUCCEEDED');
      const out = execution.output as { id: string; status: string; app: string };
      expect(out).toMatchObject({ status: 'RUNNING', app: APP });
      await client.sendToSession(APP, out.id, { cmd: 'echo', value: 42 }, 'front');
      const answers = await client.receiveFromSession(APP, out.id, { count: 1, timeoutMs: 15_000 });
      expect(answers).toEqual([{ from: 'echo.0', body: { echo: 42, by: 'echo.0', alias: 'front', from: 'client' } }]);
      const pid = (await client.getSession(APP, out.id)).instances[0]!.pid!;
      expect(alive(pid)).toBe(true);
      expect((await client.stopSession(APP, out.id)).status).toBe('STOPPED');
      await waitFor(() => !alive(pid), 10_000);
    }, 60_000);

    test('session:start.sync waits while the session runs, and answers its final state once its functions exit', async () => {
      const started = await client.execute(APP, 'sync', { functions: [{ function: 'echo', alias: 'front' }] }, { mode: 'async' });
      // The session is live while the Task waits: find it, talk to it, then tell it to exit.
      let sessionId = '';
      await waitFor(async () => {
        const live = (await client.listSessions(APP)).find((s) => s.status === 'RUNNING' && s.instances.some((i) => i.alias === 'front'));
        sessionId = live?.sessionId ?? '';
        return sessionId !== '';
      }, 20_000);
      await client.sendToSession(APP, sessionId, { cmd: 'echo', value: 'still here' }, 'front');
      expect((await client.receiveFromSession(APP, sessionId, { count: 1, timeoutMs: 15_000 }))[0]?.body).toMatchObject({ echo: 'still here' });
      expect((await client.getExecution(started.executionId)).status).toBe('RUNNING');
      await client.sendToSession(APP, sessionId, { cmd: 'exit' }, 'front');
      let execution = await client.getExecution(started.executionId);
      await waitFor(async () => (execution = await client.getExecution(started.executionId)).status !== 'RUNNING', 20_000);
      expect(execution.status).toBe('SUCCEEDED');
      expect(execution.output).toMatchObject({ sessionId, app: APP, status: 'COMPLETED' });
      expect((execution.output as { instances: Array<{ status: string }> }).instances.map((i) => i.status)).toEqual(['exited']);
    }, 60_000);

    test('session:start.sync of functions that return completes the Task with the COMPLETED state', async () => {
      const execution = await client.execute(APP, 'sync', { functions: [{ function: 'brief', count: 2, input: { ms: 200 } }] });
      expect(execution.status).toBe('SUCCEEDED');
      expect(execution.output).toMatchObject({ status: 'COMPLETED', app: APP });
      expect((execution.output as { instances: unknown[] }).instances).toHaveLength(2);
    }, 60_000);

    test('a session that fails fails the .sync Task with MF_SESSION_FAILED, which a Catch takes', async () => {
      const execution = await client.execute(APP, 'sync', { functions: [{ function: 'throws' }] });
      expect(execution.status).toBe('SUCCEEDED');
      const failure = (execution.output as { failure: { Error: string; Cause: string } }).failure;
      expect(failure.Error).toBe('MF_SESSION_FAILED');
      const cause = JSON.parse(failure.Cause) as { status: string; app: string; reason: string };
      expect(cause).toMatchObject({ status: 'FAILED', app: APP });
      expect(cause.reason).toMatch(/gives up|throws/);
    }, 60_000);

    test("the Task's TimeoutSeconds bounds the .sync wait and stops the session it waited for", async () => {
      const execution = await client.execute(APP, 'bounded', {});
      expect(execution).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
      const session = (await client.listSessions(APP)).find((s) => s.instances.some((i) => i.alias === 'forever'));
      expect(session).toBeDefined();
      await waitFor(async () => (await client.getSession(APP, session!.sessionId)).status !== 'RUNNING', 15_000);
      const final = await client.getSession(APP, session!.sessionId);
      expect(final.status).toBe('STOPPED');
      expect(final.reason).toMatch(/Task 'Run'/);
    }, 60_000);

    test('a start the session API would refuse fails the Task with that API\'s typed error', async () => {
      const unknown = await client.execute(APP, 'bad', { functions: [{ function: 'nope' }] });
      expect(unknown).toMatchObject({ status: 'FAILED', error: 'MF_FUNCTION_NOT_FOUND' });
      const malformed = await client.execute(APP, 'bad', { functions: 'echo' });
      expect(malformed).toMatchObject({ status: 'FAILED', error: 'MF_BAD_REQUEST' });
    }, 60_000);
  });
}

describe('deploying session Tasks', () => {
  let p: PlatformHandle;
  beforeAll(async () => {
    p = await testPlatform({ poolSize: 0 });
  });
  afterAll(async () => {
    await p?.close();
  });

  const deploy = (resource: string, parameters: unknown) =>
    call(p, 'POST', '/apps', {
      name: 'bad-session-task',
      functions: [inlineFunction('echo', ECHO)],
      workflows: { w: { StartAt: 'S', States: { S: { Type: 'Task', Resource: resource, Parameters: parameters, End: true } } } },
    });

  test('an unknown arn:mf: integration is refused at deploy, naming the known ones', async () => {
    const r = await deploy('arn:mf:states:::session:stop', { functions: [{ function: 'echo' }] });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('MF_ASL_INVALID');
    expect(r.body.error.message).toContain('arn:mf:states:::session:stop');
    expect(r.body.error.message).toContain('arn:mf:states:::session:start.sync');
  });

  test('a session function the app does not have is refused at deploy', async () => {
    const r = await deploy(START, { functions: [{ function: 'missing' }] });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('MF_ASL_INVALID');
    expect(r.body.error.message).toContain("function 'missing' is not a function of this app");
  });
});
