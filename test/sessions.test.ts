/**
 * Sessions end to end on the process backend (docs/sessions.md): long-running session functions in one sandbox,
 * messages both ways, data pipes between two workers, the failure policy, the limits, and stops that leave no
 * process behind. Every wait is bounded, and every test stops what it started.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { alive, call, inlineFunction, testPlatform, waitFor } from './helpers/platform.js';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import { MicroFunctionsClient } from '../dist/platform/sdk/index.js';
import { ECHO, HOG, RECEIVER, SENDER } from './helpers/session-functions.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

let p: PlatformHandle;
const APP = 'sessions';

beforeAll(async () => {
  p = await testPlatform();
  const deployed = await call(p, 'POST', '/apps', {
    name: APP,
    functions: [
      inlineFunction('echo', ECHO),
      inlineFunction('sender', SENDER),
      inlineFunction('receiver', RECEIVER),
      inlineFunction('hog', HOG, { memoryMB: 128 }),
      inlineFunction('broken', `throw new Error('broken at load');`),
    ],
    workflows: {},
  });
  expect(deployed.status).toBe(201);
});

afterAll(async () => {
  await p?.close();
});

const start = (body: unknown) => call(p, 'POST', `/apps/${APP}/sessions`, body);
const send = (id: string, message: unknown, target?: unknown) => call(p, 'POST', `/apps/${APP}/sessions/${id}/messages`, { ...(target !== undefined ? { target } : {}), message });
const state = (id: string) => call(p, 'GET', `/apps/${APP}/sessions/${id}`);
const stop = (id: string) => call(p, 'DELETE', `/apps/${APP}/sessions/${id}`);

/** Reads messages sent to "client" until `n` have come, within a bounded time. */
async function receive(id: string, n: number, timeoutMs = 15_000): Promise<any[]> {
  const got: any[] = [];
  const end = Date.now() + timeoutMs;
  while (got.length < n && Date.now() < end) {
    const r = await call(p, 'GET', `/apps/${APP}/sessions/${id}/messages?timeoutMs=1000`);
    expect(r.status).toBe(200);
    for (const m of r.body.messages) got.push(m);
  }
  return got;
}

function pids(s: any): number[] {
  return s.instances.map((i: any) => i.pid).filter((pid: number | null) => pid !== null);
}

describe('session functions', () => {
  test('start, messages both ways, fan-out by function name and to all, state, stop with no process left', async () => {
    const started = await start({ functions: [{ function: 'echo', alias: 'front' }, { function: 'echo', count: 2 }] });
    expect(started.status).toBe(201);
    const s = started.body;
    expect(s.status).toBe('RUNNING');
    expect(s.instances.map((i: any) => i.id)).toEqual(['echo.0', 'echo.1', 'echo.2']);
    expect(s.instances.every((i: any) => i.status === 'running')).toBe(true);
    const workerPids = pids(s);
    expect(workerPids).toHaveLength(3);
    for (const pid of workerPids) expect(alive(pid)).toBe(true);

    // One instance by alias, then every instance of the function, then the whole session.
    expect((await send(s.sessionId, { cmd: 'echo', value: 1 }, 'front')).status).toBe(202);
    const one = await receive(s.sessionId, 1);
    expect(one[0]).toEqual({ from: 'echo.0', body: { echo: 1, by: 'echo.0', alias: 'front', from: 'client' } });
    await send(s.sessionId, { cmd: 'echo', value: 2 }, { function: 'echo' });
    const three = await receive(s.sessionId, 3);
    expect(three.map((m) => m.body.by).sort()).toEqual(['echo.0', 'echo.1', 'echo.2']);
    await send(s.sessionId, { cmd: 'echo', value: 3 });
    expect((await receive(s.sessionId, 3)).map((m) => m.body.echo)).toEqual([3, 3, 3]);

    // Between functions: echo.1 asks echo.2 (by instance id) to echo to the client; ordering per sender holds.
    for (let i = 0; i < 20; i++) await send(s.sessionId, { cmd: 'relay', target: 'echo.2', value: i }, 'echo.1');
    const relayed = await receive(s.sessionId, 20);
    expect(relayed.map((m) => m.body.echo)).toEqual([...Array(20).keys()]);
    expect(relayed.every((m) => m.body.from === 'echo.1' && m.body.by === 'echo.2')).toBe(true);

    // setAlias from inside the function makes the instance reachable by that name.
    await send(s.sessionId, { cmd: 'alias', alias: 'renamed' }, 'echo.2');
    await waitFor(async () => (await state(s.sessionId)).body.instances[2].alias === 'renamed', 10_000);
    await send(s.sessionId, { cmd: 'echo', value: 'r' }, 'renamed');
    expect((await receive(s.sessionId, 1))[0].body).toMatchObject({ by: 'echo.2', alias: 'renamed' });

    const listed = await call(p, 'GET', `/apps/${APP}/sessions`);
    expect(listed.body.sessions.map((x: any) => x.sessionId)).toContain(s.sessionId);

    const stopped = await stop(s.sessionId);
    expect(stopped.status).toBe(200);
    expect(stopped.body.status).toBe('STOPPED');
    expect(stopped.body.instances.every((i: any) => i.status === 'stopped')).toBe(true);
    for (const pid of workerPids) expect(alive(pid)).toBe(false);

    // Records: every message the client read, with its three timestamps in order within the agent's clock.
    const records = (await call(p, 'GET', `/apps/${APP}/sessions/${s.sessionId}/records`)).body.records;
    const toClient = records.filter((r: any) => r.kind === 'message' && r.to === 'client');
    expect(toClient).toHaveLength(1 + 3 + 3 + 20 + 1);
    expect(toClient.every((r: any) => r.bytes > 0 && r.t.delivered >= r.t.routed)).toBe(true);
    expect(records.filter((r: any) => r.kind === 'message' && r.to !== 'client').length).toBeGreaterThanOrEqual(1 + 3 + 3 + 20 + 20 + 1 + 1);
    expect(records.filter((r: any) => r.kind === 'lifecycle' && r.event === 'started')).toHaveLength(3);

    // An ended session refuses messages with a stable code and keeps its state.
    const late = await send(s.sessionId, { cmd: 'echo' });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('MF_SESSION_ENDED');
  });

  test('an instance that returns has exited; when all have, the session is COMPLETED', async () => {
    const s = (await start({ functions: [{ function: 'echo' }] })).body;
    const [pid] = pids(s);
    await send(s.sessionId, { cmd: 'exit' });
    await waitFor(async () => (await state(s.sessionId)).body.status === 'COMPLETED', 10_000);
    const done = (await state(s.sessionId)).body;
    expect(done.instances[0].status).toBe('exited');
    await waitFor(() => !alive(pid!), 5000);
  });

  test('a session that completes while the list is read is listed once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await start({ functions: [{ function: 'echo' }] })).body.sessionId);
    // Each session ends while lists are in flight: a listing must never show one id twice.
    const lists: string[][] = [];
    const listing = (async () => {
      const end = Date.now() + 10_000;
      while (Date.now() < end) {
        const r = await call(p, 'GET', `/apps/${APP}/sessions`);
        const mine = r.body.sessions.filter((x: any) => ids.includes(x.sessionId));
        lists.push(mine.map((x: any) => x.sessionId));
        if (mine.length === ids.length && mine.every((x: any) => x.status === 'COMPLETED')) return;
      }
    })();
    for (const id of ids) await send(id, { cmd: 'exit' });
    await listing;
    expect(lists.length).toBeGreaterThan(1);
    for (const l of lists) expect(new Set(l).size, JSON.stringify(l)).toBe(l.length);
    expect(lists.at(-1)!.sort()).toEqual([...ids].sort());
  });

  test('restart policy: a throwing or crashing instance is restarted, keeps its id, and messages sent meanwhile arrive', async () => {
    const s = (await start({ functions: [{ function: 'echo', alias: 'e' }], policy: { onFailure: 'restart', maxRestarts: 2 } })).body;
    const [first] = pids(s);
    await send(s.sessionId, { cmd: 'crash' }, 'e');
    // Sent while the instance dies and restarts: buffered and delivered to the new worker, in order.
    await send(s.sessionId, { cmd: 'echo', value: 'after-crash-1' }, 'e');
    await send(s.sessionId, { cmd: 'echo', value: 'after-crash-2' }, 'e');
    const got = await receive(s.sessionId, 2);
    expect(got.map((m) => m.body.echo)).toEqual(['after-crash-1', 'after-crash-2']);
    const after = (await state(s.sessionId)).body;
    expect(after.instances[0].restarts).toBe(1);
    expect(after.instances[0].pid).not.toBe(first);
    expect(alive(first!)).toBe(false);

    await send(s.sessionId, { cmd: 'throw' }, 'e');
    await waitFor(async () => (await state(s.sessionId)).body.instances[0].restarts === 2, 10_000);
    // Past maxRestarts the session fails and says why.
    await send(s.sessionId, { cmd: 'throw' }, 'e');
    await waitFor(async () => (await state(s.sessionId)).body.status === 'FAILED', 10_000);
    const failed = (await state(s.sessionId)).body;
    expect(failed.reason).toContain('asked to throw');
    const refused = await send(s.sessionId, { cmd: 'echo' }, 'e');
    expect(refused.body.error.code).toBe('MF_SESSION_ENDED');
    expect(refused.body.error.details.status).toBe('FAILED');
    const records = (await call(p, 'GET', `/apps/${APP}/sessions/${s.sessionId}/records`)).body.records;
    expect(records.filter((r: any) => r.kind === 'lifecycle' && r.event === 'restarted')).toHaveLength(2);
  });

  test('fail policy: a crash fails the session at once and stops the other instances', async () => {
    const s = (await start({ functions: [{ function: 'echo', alias: 'a' }, { function: 'echo', alias: 'b' }] })).body;
    const all = pids(s);
    await send(s.sessionId, { cmd: 'crash' }, 'a');
    await waitFor(async () => (await state(s.sessionId)).body.status === 'FAILED', 10_000);
    const failed = (await state(s.sessionId)).body;
    expect(failed.reason).toMatch(/echo\.0 failed/);
    expect(failed.instances.map((i: any) => i.status)).toEqual(['failed', 'stopped']);
    await waitFor(() => all.every((pid) => !alive(pid)), 5000);
  });

  test('a missed heartbeat fails the instance; memory over the limit too', async () => {
    const s = (await start({ functions: [{ function: 'echo' }], policy: { heartbeatSeconds: 1 } })).body;
    await send(s.sessionId, { cmd: 'silent' });
    await waitFor(async () => (await state(s.sessionId)).body.status === 'FAILED', 15_000);
    expect((await state(s.sessionId)).body.reason).toContain('heartbeat');

    const h = (await start({ functions: [{ function: 'hog' }] })).body;
    await waitFor(async () => (await state(h.sessionId)).body.status === 'FAILED', 20_000);
    expect((await state(h.sessionId)).body.reason).toContain('memory limit of 128 MB');
    await waitFor(() => pids(h).every((pid) => !alive(pid)), 5000);
  });

  test('maximum lifetime and idle timeout stop the session with a reason and a record', async () => {
    const a = (await start({ functions: [{ function: 'echo' }], policy: { maxLifetimeSeconds: 1 } })).body;
    const b = (await start({ functions: [{ function: 'echo' }], policy: { idleTimeoutSeconds: 1 } })).body;
    await waitFor(async () => (await state(a.sessionId)).body.status === 'STOPPED' && (await state(b.sessionId)).body.status === 'STOPPED', 15_000);
    expect((await state(a.sessionId)).body.reason).toMatch(/^max-lifetime/);
    expect((await state(b.sessionId)).body.reason).toMatch(/^idle/);
    const records = (await call(p, 'GET', `/apps/${APP}/sessions/${a.sessionId}/records`)).body.records;
    expect(records.at(-1)).toMatchObject({ kind: 'lifecycle', event: 'ended' });
    for (const pid of [...pids(a), ...pids(b)]) await waitFor(() => !alive(pid), 5000);
  });
});

describe('bad input', () => {
  test('unknown session, unknown alias, unknown function, bad policy, oversize messages: typed errors, platform fine', async () => {
    const none = await send('no-such-session', { x: 1 });
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('MF_SESSION_NOT_FOUND');
    expect((await state('no-such-session')).body.error.code).toBe('MF_SESSION_NOT_FOUND');
    expect((await start({ functions: [{ function: 'nope' }] })).body.error.code).toBe('MF_FUNCTION_NOT_FOUND');
    expect((await start({ functions: [] })).body.error.code).toBe('MF_BAD_REQUEST');
    expect((await start({ functions: [{ function: 'echo' }], policy: { onFailure: 'shrug' } })).body.error.code).toBe('MF_BAD_REQUEST');
    expect((await start({ functions: [{ function: 'echo' }], policy: { surprise: 1 } })).body.error.code).toBe('MF_BAD_REQUEST');

    // A function whose module throws: the session is answered FAILED, with the cause, and nothing is left running.
    const broken = await start({ functions: [{ function: 'broken' }, { function: 'echo' }] });
    expect(broken.status).toBe(201);
    expect(broken.body.status).toBe('FAILED');
    expect(broken.body.reason).toContain('broken at load');
    await waitFor(() => pids(broken.body).every((pid) => !alive(pid)), 5000);

    const s = (await start({ functions: [{ function: 'echo', alias: 'e' }], policy: { maxMessageBytes: 1024 } })).body;
    const alias = await send(s.sessionId, { x: 1 }, 'nobody');
    expect(alias.status).toBe(404);
    expect(alias.body.error.code).toBe('MF_SESSION_TARGET_NOT_FOUND');
    const big = await send(s.sessionId, 'x'.repeat(2000), 'e');
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('MF_SESSION_MESSAGE_TOO_LARGE');
    // From inside the function the same limit holds, as a typed error it can catch.
    await send(s.sessionId, { cmd: 'big', bytes: 4000 }, 'e');
    expect((await receive(s.sessionId, 1))[0].body).toEqual({ refused: 'MF_SESSION_MESSAGE_TOO_LARGE' });
    expect((await stop(s.sessionId)).body.status).toBe('STOPPED');
  });

  test('an instance that stops reading cannot pile up messages: past maxBacklog a send is refused with 429', async () => {
    const s = (await start({ functions: [{ function: 'echo', alias: 'e' }], policy: { maxBacklog: 3 } })).body;
    await send(s.sessionId, { cmd: 'silent' }, 'e'); // read, and then nothing more is
    await waitFor(async () => (await call(p, 'GET', `/apps/${APP}/sessions/${s.sessionId}/records`)).body.records.some((r: any) => r.kind === 'message'), 10_000);
    for (let i = 0; i < 3; i++) expect((await send(s.sessionId, { i }, 'e')).status).toBe(202);
    const full = await send(s.sessionId, { i: 3 }, 'e');
    expect(full.status).toBe(429);
    expect(full.body.error).toMatchObject({ code: 'MF_SESSION_BACKLOG_FULL', details: { instance: 'echo.0', limit: 3 } });
    expect((await stop(s.sessionId)).body.status).toBe('STOPPED');
  });
});

describe('data pipes inside one sandbox', () => {
  test('bytes stream between two workers with backpressure; ends cleanly; records count the bytes', async () => {
    const s = (await start({ functions: [{ function: 'sender', alias: 'tx' }, { function: 'receiver', alias: 'rx', input: { slow: true } }] })).body;
    const bytes = 8 * 1024 * 1024 + 123;
    await send(s.sessionId, { cmd: 'stream', target: 'rx', bytes }, 'tx');
    const got = await receive(s.sessionId, 2, 60_000);
    expect(got.find((m) => m.from === 'sender.0')?.body).toEqual({ streamed: bytes });
    expect(got.find((m) => m.from === 'receiver.0')?.body).toEqual({ received: bytes, peer: 'sender.0', ended: 'ok' });
    await waitFor(async () => {
      const records = (await call(p, 'GET', `/apps/${APP}/sessions/${s.sessionId}/records`)).body.records;
      return records.filter((r: any) => r.kind === 'pipe').length === 2;
    }, 10_000);
    const pipes = (await call(p, 'GET', `/apps/${APP}/sessions/${s.sessionId}/records`)).body.records.filter((r: any) => r.kind === 'pipe');
    expect(pipes.find((r: any) => r.side === 'opener')).toMatchObject({ instance: 'sender.0', peer: 'receiver.0', bytesOut: bytes, outcome: 'ok' });
    expect(pipes.find((r: any) => r.side === 'acceptor')).toMatchObject({ instance: 'receiver.0', peer: 'sender.0', bytesIn: bytes, outcome: 'ok' });
    expect((await stop(s.sessionId)).body.status).toBe('STOPPED');
  });

  test('a peer that dies mid-stream is a stream error on the other side; a pipe to a function not running is a typed error', async () => {
    const s = (await start({ functions: [{ function: 'sender', alias: 'tx' }, { function: 'receiver', alias: 'rx' }, { function: 'echo', alias: 'gone' }], policy: { onFailure: 'restart' } })).body;
    const senderPid = s.instances[0].pid;
    // The sender writes without ending, then is killed from outside: the receiver must see MF_PIPE_BROKEN.
    await send(s.sessionId, { cmd: 'stream', target: 'rx', bytes: 256 * 1024, end: false }, 'tx');
    expect((await receive(s.sessionId, 1))[0].body).toEqual({ streamed: 256 * 1024 });
    process.kill(senderPid, 'SIGKILL');
    const broken = await receive(s.sessionId, 1);
    expect(broken[0].body.ended).toBe('MF_PIPE_BROKEN');
    expect(broken[0].body.received).toBeLessThanOrEqual(256 * 1024);

    // The echo instance exits on its own: a pipe to it is refused with a typed error.
    await send(s.sessionId, { cmd: 'exit' }, 'gone');
    await waitFor(async () => (await state(s.sessionId)).body.instances[2].status === 'exited', 10_000);
    await waitFor(async () => (await state(s.sessionId)).body.instances[0].status === 'running', 10_000);
    await send(s.sessionId, { cmd: 'stream', target: 'gone', bytes: 10 }, 'tx');
    const refused = await receive(s.sessionId, 1);
    expect(refused[0].body.error).toBe('MF_PIPE_TARGET_NOT_RUNNING');
    await stop(s.sessionId);
  });
});

describe('deleting an app with running sessions', () => {
  test('its sessions stop cleanly and no session worker is left', async () => {
    const deployed = await call(p, 'POST', '/apps', { name: 'doomed', functions: [inlineFunction('echo', ECHO)], workflows: {} });
    expect(deployed.status).toBe(201);
    const s = (await call(p, 'POST', '/apps/doomed/sessions', { functions: [{ function: 'echo', count: 3 }] })).body;
    const all = pids(s);
    expect(all).toHaveLength(3);
    expect((await call(p, 'DELETE', '/apps/doomed')).status).toBe(200);
    for (const pid of all) expect(alive(pid)).toBe(false);
    expect((await call(p, 'GET', `/apps/doomed/sessions/${s.sessionId}`)).body.error.code).toBe('MF_APP_NOT_FOUND');
  });
});

describe('SDK and CLI', () => {
  const cli = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, ...args], { env: { ...process.env, MFBENCH_URL: p.url, MFBENCH_TOKEN: p.token }, timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });

  test('the SDK starts, sends, receives, lists, reads records and stops; typed errors keep their codes', async () => {
    const client = new MicroFunctionsClient({ url: p.url, token: p.token });
    const s = await client.startSession(APP, { functions: [{ function: 'echo', alias: 'e' }] });
    expect(s.status).toBe('RUNNING');
    await client.sendToSession(APP, s.sessionId, { cmd: 'echo', value: 'sdk' }, 'e');
    const got = await client.receiveFromSession(APP, s.sessionId, { timeoutMs: 10_000 });
    expect(got[0]?.body).toMatchObject({ echo: 'sdk', by: 'echo.0' });
    expect((await client.listSessions(APP)).some((x) => x.sessionId === s.sessionId)).toBe(true);
    expect((await client.getSession(APP, s.sessionId)).instances[0]?.alias).toBe('e');
    await expect(client.sendToSession(APP, s.sessionId, {}, 'nobody')).rejects.toMatchObject({ code: 'MF_SESSION_TARGET_NOT_FOUND' });
    expect((await client.stopSession(APP, s.sessionId)).status).toBe('STOPPED');
    expect((await client.sessionRecords(APP, s.sessionId)).some((r) => r.kind === 'message' && r.to === 'client')).toBe(true);
    await expect(client.getSession(APP, 'nope')).rejects.toMatchObject({ code: 'MF_SESSION_NOT_FOUND' });
  });

  test('records since a cursor: only what is new, the same records as one whole read; a bad cursor is a typed error', async () => {
    const client = new MicroFunctionsClient({ url: p.url, token: p.token });
    const s = await client.startSession(APP, { functions: [{ function: 'echo', alias: 'e' }] });
    const readOne = async (value: number) => {
      await client.sendToSession(APP, s.sessionId, { cmd: 'echo', value }, 'e');
      expect((await client.receiveFromSession(APP, s.sessionId, { timeoutMs: 10_000 }))[0]?.body).toMatchObject({ echo: value });
    };
    await readOne(1);
    const first = await client.sessionRecordsAfter(APP, s.sessionId, 0);
    expect(first.next).toBe(first.records.length);
    expect(first.records.length).toBeGreaterThan(0);
    // Nothing happened since: an empty page, and the same cursor back.
    expect(await client.sessionRecordsAfter(APP, s.sessionId, first.next)).toEqual({ records: [], next: first.next });
    await readOne(2);
    await waitFor(async () => (await client.sessionRecordsAfter(APP, s.sessionId, first.next)).records.some((r) => r.kind === 'message' && r.to === 'client'), 10_000);
    expect((await client.stopSession(APP, s.sessionId)).status).toBe('STOPPED');
    const second = await client.sessionRecordsAfter(APP, s.sessionId, first.next);
    const whole = await client.sessionRecords(APP, s.sessionId);
    expect([...first.records, ...second.records]).toEqual(whole);
    expect(second.next).toBe(whole.length);
    expect(second.records.map((r) => r.kind === 'message' && r.to === 'client' && 'echo')).toContain('echo'); // the second echo is new
    expect(second.records.at(-1)).toMatchObject({ kind: 'lifecycle', event: 'ended' });
    for (const bad of ['-1', '1.5', 'x']) {
      const r = await call(p, 'GET', `/apps/${APP}/sessions/${s.sessionId}/records?after=${bad}`);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('MF_BAD_REQUEST');
    }
  });

  test('mfbench sessions start, send, receive, state, records, list, stop', async () => {
    const started = await cli(['sessions', 'start', APP, '--input', JSON.stringify({ functions: [{ function: 'echo', alias: 'c' }] }), '--json']);
    expect(started.code).toBe(0);
    const s = JSON.parse(started.stdout);
    expect(s.status).toBe('RUNNING');
    expect((await cli(['sessions', 'send', APP, s.sessionId, '{"cmd":"echo","value":42}', '--to', 'c'])).code).toBe(0);
    const received = await cli(['sessions', 'receive', APP, s.sessionId, '--timeout-ms', '10000', '--json']);
    expect(JSON.parse(received.stdout).messages[0].body).toMatchObject({ echo: 42 });
    const st = await cli(['sessions', 'state', APP, s.sessionId]);
    expect(st.stderr).toContain('RUNNING');
    expect(st.stdout).toContain('echo.0');
    expect((await cli(['sessions', 'list', APP, '--json'])).stdout).toContain(s.sessionId);
    const stopped = await cli(['sessions', 'stop', APP, s.sessionId, '--json']);
    expect(JSON.parse(stopped.stdout).status).toBe('STOPPED');
    const records = await cli(['sessions', 'records', APP, s.sessionId, '--json']);
    expect(JSON.parse(records.stdout).records.length).toBeGreaterThan(0);
    const missing = await cli(['sessions', 'send', APP, 'nope', '{}']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('MF_SESSION_NOT_FOUND');
  });
});

describe('data pipes across two sandboxes', () => {
  let q: PlatformHandle;

  beforeAll(async () => {
    // Under per-function a sandbox serves one request at a time, so each session gets a sandbox of its own.
    q = await testPlatform({ preset: 'per-function' });
    const deployed = await call(q, 'POST', '/apps', { name: 'cross', functions: [inlineFunction('sender', SENDER), inlineFunction('receiver', RECEIVER)], workflows: {} });
    expect(deployed.status).toBe(201);
  });

  afterAll(async () => {
    await q?.close();
  });

  async function take(id: string, n: number, timeoutMs = 30_000): Promise<any[]> {
    const got: any[] = [];
    const end = Date.now() + timeoutMs;
    while (got.length < n && Date.now() < end) got.push(...(await call(q, 'GET', `/apps/cross/sessions/${id}/messages?timeoutMs=1000`)).body.messages);
    return got;
  }

  test('the platform brokers a pipe between sessions in two sandboxes; a peer killed mid-stream breaks it', async () => {
    const rx = (await call(q, 'POST', '/apps/cross/sessions', { functions: [{ function: 'receiver', alias: 'rx' }] })).body;
    const tx = (await call(q, 'POST', '/apps/cross/sessions', { functions: [{ function: 'sender', alias: 'tx' }] })).body;
    expect(rx.sandboxId).not.toBe(tx.sandboxId);
    const target = { session: rx.sessionId, instance: 'rx' };

    const bytes = 3 * 1024 * 1024 + 5;
    await call(q, 'POST', `/apps/cross/sessions/${tx.sessionId}/messages`, { target: 'tx', message: { cmd: 'stream', target, bytes } });
    expect((await take(tx.sessionId, 1))[0].body).toEqual({ streamed: bytes });
    expect((await take(rx.sessionId, 1))[0].body).toEqual({ received: bytes, peer: `${tx.sessionId}/sender.0`, ended: 'ok' });

    await call(q, 'POST', `/apps/cross/sessions/${tx.sessionId}/messages`, { target: 'tx', message: { cmd: 'stream', target, bytes: 128 * 1024, end: false } });
    expect((await take(tx.sessionId, 1))[0].body).toEqual({ streamed: 128 * 1024 });
    process.kill(tx.instances[0].pid, 'SIGKILL');
    expect((await take(rx.sessionId, 1))[0].body.ended).toBe('MF_PIPE_BROKEN');

    // A pipe to a session that does not exist, or to an instance it does not have, is a typed error.
    const other = (await call(q, 'POST', '/apps/cross/sessions', { functions: [{ function: 'sender', alias: 'tx2' }] })).body;
    await call(q, 'POST', `/apps/cross/sessions/${other.sessionId}/messages`, { target: 'tx2', message: { cmd: 'stream', target: { session: 'nope', instance: 'rx' }, bytes: 1 } });
    expect((await take(other.sessionId, 1))[0].body.error).toBe('MF_SESSION_NOT_FOUND');
    await call(q, 'POST', `/apps/cross/sessions/${other.sessionId}/messages`, { target: 'tx2', message: { cmd: 'stream', target: { session: rx.sessionId, instance: 'nobody' }, bytes: 1 } });
    expect((await take(other.sessionId, 1))[0].body.error).toBe('MF_SESSION_TARGET_NOT_FOUND');

    const pidsBefore = [...pids(rx), ...pids(other)];
    for (const s of [rx, tx, other]) await call(q, 'DELETE', `/apps/cross/sessions/${s.sessionId}`);
    for (const pid of pidsBefore) expect(alive(pid)).toBe(false);
  });
});
