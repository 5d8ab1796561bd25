/**
 * Sessions on host agents (docs/distributed.md, "Sessions on hosts"), on real processes: a real nats-server, two
 * `mfbench host start` agents (capacity 1 each, so the placement rule spills the second session to the other host)
 * and two `mfbench platform start --hosts remote` frontends. A session started through frontend A runs on a host and
 * is messaged, read, listed and stopped through frontend B; a pipe between sessions on different hosts carries 3 MiB
 * of seeded bytes over the host agents' TCP relay with the same SHA-256 at both ends, and breaks (typed) when its
 * sender is killed; a workflow's `session:start.sync` Task runs on a host; a SIGKILLed host agent's session is FAILED
 * (`host-lost`, MF_HOST_LOST) through either frontend, and a message to it is MF_SESSION_ENDED. Then the same pipe
 * between two host agents each in a network namespace of its own (the multi-host experiment's network: where root
 * allows, and required under MFBENCH_REQUIRE_NETNS=1), so its bytes cross two veth pairs and a bridge. Every process
 * is stopped by pid.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hostNetwork } from '../dist/experiments/multi-host/netns.js';
import { Round } from '../dist/experiments/multi-host/cluster.js';
import { connectBroker } from '../dist/platform/broker.js';
import { HostRegistry } from '../dist/platform/frontend/hosts/registry.js';
import { descendants, killByPid, killLeftovers, startFrontend, startHost, stopAll, tempDir, type Endpoint } from './helpers/mfbench.js';
import { RUN_NATS_TESTS, noteNatsSkipped, startNatsServer, type NatsServer } from './helpers/nats.js';
import { alive, call, inlineFunction, until } from './helpers/platform.js';
import { ECHO } from './helpers/session-functions.js';

noteNatsSkipped('the sessions-on-hosts tests');
const REQUIRE_NETNS = process.env.MFBENCH_REQUIRE_NETNS === '1';

/** Streams `bytes` seeded pseudo-random bytes into a pipe to its target and reports their SHA-256. */
const HASH_SENDER = `import { createHash } from 'node:crypto';
export const handler = async (event, context) => {
  const s = context.session;
  for await (const m of s) {
    const b = m.body;
    if (b.cmd !== 'stream') continue;
    try {
      const pipe = await context.pipe.open(b.target);
      const hash = createHash('sha256');
      let x = b.seed >>> 0 || 1;
      let written = 0;
      while (written < b.bytes) {
        const chunk = Buffer.alloc(Math.min(64 * 1024 + 3, b.bytes - written));
        for (let i = 0; i < chunk.length; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; chunk[i] = x & 0xff; }
        hash.update(chunk);
        if (!pipe.write(chunk)) await new Promise((r) => pipe.once('drain', r));
        written += chunk.length;
      }
      if (b.end !== false) pipe.end();
      await s.send('client', { streamed: written, sha256: hash.digest('hex') });
      if (b.end === false) await new Promise((r) => pipe.once('error', r).once('close', r));
    } catch (e) {
      await s.send('client', { error: e.code ?? e.name, message: e.message });
    }
  }
};`;

/** Accepts pipes and reports each one's byte count, SHA-256 and how it ended. */
const HASH_RECEIVER = `import { createHash } from 'node:crypto';
export const handler = async (event, context) => {
  const s = context.session;
  while (s.isRunning()) {
    const pipe = await context.pipe.accept({ timeoutMs: 500 });
    if (!pipe) continue;
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      for await (const chunk of pipe) { bytes += chunk.length; hash.update(chunk); }
      await s.send('client', { received: bytes, sha256: hash.digest('hex'), peer: pipe.peer, ended: 'ok' });
    } catch (e) {
      await s.send('client', { received: bytes, ended: e.code ?? e.name });
    }
  }
};`;

const BRIEF = `export const handler = async (event) => { await new Promise((r) => setTimeout(r, event.ms ?? 300)); return 'done'; };`;
const THROWS = `export const handler = async () => { throw new Error('this session function gives up'); };`;

const APP = {
  name: 'shosts',
  functions: [inlineFunction('echo', ECHO), inlineFunction('sender', HASH_SENDER), inlineFunction('receiver', HASH_RECEIVER), inlineFunction('brief', BRIEF), inlineFunction('throws', THROWS)],
  workflows: {
    sync: {
      StartAt: 'Run',
      States: {
        Run: {
          Type: 'Task',
          Resource: 'arn:mf:states:::session:start.sync',
          Parameters: { 'functions.$': '$.functions' },
          Catch: [{ ErrorEquals: ['MF_SESSION_FAILED'], ResultPath: '$.failure', Next: 'Failed' }],
          End: true,
        },
        Failed: { Type: 'Pass', End: true },
      },
    },
  },
};

const leftovers = new Set<number>();

afterAll(async () => {
  await stopAll();
  killLeftovers(leftovers);
});

describe.runIf(RUN_NATS_TESTS)('sessions on host agents, reached through any frontend', () => {
  let nats: NatsServer;
  const hosts: Record<string, ChildProcess> = {};
  let a: Endpoint;
  let b: Endpoint;

  beforeAll(async () => {
    nats = await startNatsServer();
    for (const id of ['host-a', 'host-b']) hosts[id] = (await startHost(nats.url, id, await tempDir(`mf-sh-${id}-`), { capacity: 1 })).child;
    [a, b] = await Promise.all([startFrontend(nats.url, await tempDir('mf-sh-front-a-')).then((f) => f.first), startFrontend(nats.url, await tempDir('mf-sh-front-b-')).then((f) => f.first)]);
    expect((await call(a, 'POST', '/apps', APP)).status).toBe(201);
    await until('frontend B to know the app', async () => ((await call(b, 'GET', `/apps/${APP.name}`)).status === 200 ? true : null), 30_000);
  }, 120_000);
  afterAll(() => nats?.stop());

  /** The host agent whose process tree runs `pid`. */
  function hostOf(pid: number): string | null {
    for (const [id, child] of Object.entries(hosts)) if (descendants(child.pid!).includes(pid)) return id;
    return null;
  }

  async function take(at: Endpoint, id: string, n: number, timeoutMs = 60_000): Promise<any[]> {
    const got: any[] = [];
    const end = Date.now() + timeoutMs;
    while (got.length < n && Date.now() < end) {
      const r = await call(at, 'GET', `/apps/${APP.name}/sessions/${id}/messages?timeoutMs=1000`);
      expect(r.status).toBe(200);
      got.push(...r.body.messages);
    }
    return got;
  }

  const path = (id = '') => `/apps/${APP.name}/sessions${id ? `/${id}` : ''}`;
  let echo: any;

  test('a session started through frontend A runs on a host agent; frontend B messages it, reads it, lists it; bad input is typed', async () => {
    const started = await call(a, 'POST', path(), { functions: [{ function: 'echo', alias: 'front' }], policy: { onFailure: 'fail' } });
    expect(started.status).toBe(201);
    echo = started.body;
    expect(echo).toMatchObject({ app: APP.name, status: 'RUNNING' });
    // Two free hosts: ties go to the lower id.
    expect(hostOf(echo.instances[0].pid)).toBe('host-a');

    expect((await call(b, 'POST', `${path(echo.sessionId)}/messages`, { target: 'front', message: { cmd: 'echo', value: 'via B' } })).status).toBe(202);
    const [reply] = await take(b, echo.sessionId, 1);
    expect(reply).toMatchObject({ from: 'echo.0', body: { echo: 'via B', by: 'echo.0', alias: 'front', from: 'client' } });
    // Sent through A, read through B, and the other way round: the session is one, wherever it is asked.
    expect((await call(a, 'POST', `${path(echo.sessionId)}/messages`, { message: { cmd: 'echo', value: 2 } })).status).toBe(202);
    expect((await take(b, echo.sessionId, 1))[0].body.echo).toBe(2);
    expect((await call(b, 'POST', `${path(echo.sessionId)}/messages`, { message: { cmd: 'echo', value: 3 } })).status).toBe(202);
    expect((await take(a, echo.sessionId, 1))[0].body.echo).toBe(3);

    const stateB = await call(b, 'GET', path(echo.sessionId));
    expect(stateB.body).toMatchObject({ sessionId: echo.sessionId, status: 'RUNNING', messages: { sent: 6 } });
    expect((await call(b, 'GET', path())).body.sessions.map((s: any) => s.sessionId)).toContain(echo.sessionId);
    const records = (await call(b, 'GET', `${path(echo.sessionId)}/records`)).body.records;
    expect(records.filter((r: any) => r.kind === 'message').length).toBeGreaterThanOrEqual(6);

    // Bad input: typed, through either frontend, and the session runs on.
    expect((await call(b, 'POST', `${path('no-such-session')}/messages`, { message: 1 })).body.error.code).toBe('MF_SESSION_NOT_FOUND');
    // An id that is no broker key (spaces, wildcards, dots) is still just an unknown session.
    expect((await call(a, 'GET', path(encodeURIComponent('no such*.>')))).body.error.code).toBe('MF_SESSION_NOT_FOUND');
    expect((await call(b, 'POST', `${path(echo.sessionId)}/messages`, { target: 'nobody', message: 1 })).body.error.code).toBe('MF_SESSION_TARGET_NOT_FOUND');
    const big = await call(a, 'POST', `${path(echo.sessionId)}/messages`, { message: 'x'.repeat(300 * 1024) });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('MF_SESSION_MESSAGE_TOO_LARGE');
    expect((await call(a, 'POST', path(), { functions: [{ function: 'nope' }] })).body.error.code).toBe('MF_FUNCTION_NOT_FOUND');
    expect((await call(b, 'GET', path(echo.sessionId))).body.status).toBe('RUNNING');
  }, 120_000);

  let rx: any;
  let tx: any;

  test('a pipe between sessions on two hosts crosses the host agents over TCP: every byte arrives (SHA-256), a killed sender breaks it', async () => {
    // host-a holds the echo session (capacity 1): the receiver spills to host-b; then both are full and the sender
    // goes to the lower id.
    // Frontends see another frontend's sessions through the hosts' heartbeats: each start waits for the last one's.
    const nc = await connectBroker(nats.url);
    try {
      const registry = new HostRegistry(nc, 1);
      const advertised = (host: string) => until(`${host} to advertise its session`, async () => ((await registry.live()).find((h) => h.hostId === host)?.sessions === 1 ? true : null), 30_000);
      await advertised('host-a');
      // Each host advertises its own pipe listener in the registry.
      const live = await registry.live();
      for (const h of live) expect(h.pipes).toMatchObject({ host: '127.0.0.1', port: expect.any(Number) });
      expect(new Set(live.map((h) => h.pipes!.port)).size).toBe(2);
      rx = (await call(a, 'POST', path(), { functions: [{ function: 'receiver', alias: 'rx' }] })).body;
      await advertised('host-b');
      tx = (await call(b, 'POST', path(), { functions: [{ function: 'sender', alias: 'tx' }] })).body;
    } finally {
      await nc.close();
    }
    expect(hostOf(rx.instances[0].pid)).toBe('host-b');
    expect(hostOf(tx.instances[0].pid)).toBe('host-a');

    const target = { session: rx.sessionId, instance: 'rx' };
    const bytes = 3 * 1024 * 1024 + 5;
    expect((await call(b, 'POST', `${path(tx.sessionId)}/messages`, { target: 'tx', message: { cmd: 'stream', target, bytes, seed: 12345 } })).status).toBe(202);
    const [sent] = await take(a, tx.sessionId, 1);
    const [got] = await take(b, rx.sessionId, 1);
    expect(sent.body).toMatchObject({ streamed: bytes, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(got.body).toEqual({ received: bytes, sha256: sent.body.sha256, peer: `${tx.sessionId}/sender.0`, ended: 'ok' });
    // Both ends recorded the transfer, each on its own host.
    const pipeRecords = async (id: string) => (await call(a, 'GET', `${path(id)}/records`)).body.records.filter((r: any) => r.kind === 'pipe');
    await until('both pipe records', async () => ((await pipeRecords(tx.sessionId)).length > 0 && (await pipeRecords(rx.sessionId)).length > 0 ? true : null), 30_000);
    expect((await pipeRecords(tx.sessionId))[0]).toMatchObject({ side: 'opener', bytesOut: bytes, outcome: 'ok' });
    expect((await pipeRecords(rx.sessionId))[0]).toMatchObject({ side: 'acceptor', bytesIn: bytes, outcome: 'ok' });

    // A pipe to an instance the far session does not have is a typed error on the opener's side.
    await call(a, 'POST', `${path(tx.sessionId)}/messages`, { target: 'tx', message: { cmd: 'stream', target: { session: rx.sessionId, instance: 'nobody' }, bytes: 1 } });
    expect((await take(a, tx.sessionId, 1))[0].body.error).toBe('MF_SESSION_TARGET_NOT_FOUND');

    // The sender killed mid-stream: the receiver on the other host sees a broken pipe, not an end.
    await call(a, 'POST', `${path(tx.sessionId)}/messages`, { target: 'tx', message: { cmd: 'stream', target, bytes: 128 * 1024, end: false, seed: 7 } });
    expect((await take(a, tx.sessionId, 1))[0].body.streamed).toBe(128 * 1024);
    process.kill(tx.instances[0].pid, 'SIGKILL');
    expect((await take(b, rx.sessionId, 1))[0].body.ended).toBe('MF_PIPE_BROKEN');
    // The sender's session had no restarts to spare (default policy restarts): either way it is stopped through B.
    const stopped = await call(b, 'DELETE', path(tx.sessionId));
    expect(stopped.status).toBe(200);
    expect(stopped.body.status).not.toBe('RUNNING');
  }, 180_000);

  test('a session:start.sync Task of a workflow runs its session on the host that runs the execution', async () => {
    const ok = await call(b, 'POST', `/apps/${APP.name}/workflows/sync/executions`, { functions: [{ function: 'brief', input: { ms: 200 } }] });
    expect(ok.body).toMatchObject({ status: 'SUCCEEDED', output: { status: 'COMPLETED', app: APP.name } });
    expect(ok.body.output.instances[0]).toMatchObject({ function: 'brief', status: 'exited' });
    // Recorded on the broker: any frontend knows it, ended.
    expect((await call(a, 'GET', path(ok.body.output.sessionId))).body.status).toBe('COMPLETED');

    const failed = await call(a, 'POST', `/apps/${APP.name}/workflows/sync/executions`, { functions: [{ function: 'throws' }] });
    expect(failed.body.status).toBe('SUCCEEDED'); // caught by the workflow
    expect(failed.body.output.failure.Error).toBe('MF_SESSION_FAILED');
  }, 120_000);

  test('a SIGKILLed host agent fails its session with a typed error through either frontend; nothing hangs', async () => {
    expect(hostOf(rx.instances[0].pid)).toBe('host-b');
    for (const pid of descendants(hosts['host-b']!.pid!)) leftovers.add(pid);
    await killByPid(hosts['host-b']!, 'SIGKILL');

    const t0 = Date.now();
    const failed = await until('the session of the killed host to fail', async () => {
      const s = await call(a, 'GET', path(rx.sessionId));
      return s.body.status === 'FAILED' ? s.body : null;
    }, 60_000);
    console.log(`host kill: session FAILED through frontend A after ${Date.now() - t0} ms`);
    expect(failed.reason).toMatch(/^host-lost: host "host-b"/);
    expect(failed.reason).toContain('MF_HOST_LOST');
    expect((await call(b, 'GET', path(rx.sessionId))).body).toMatchObject({ status: 'FAILED', reason: failed.reason });
    const send = await call(b, 'POST', `${path(rx.sessionId)}/messages`, { message: 1 });
    expect(send.status).toBe(409);
    expect(send.body.error).toMatchObject({ code: 'MF_SESSION_ENDED', details: { status: 'FAILED' } });
    const records = (await call(b, 'GET', `${path(rx.sessionId)}/records`)).body.records;
    expect(records.at(-1)).toMatchObject({ kind: 'lifecycle', event: 'ended', reason: failed.reason });

    // The session on the live host is untouched, and stops cleanly through B with no worker left.
    const pid = echo.instances[0].pid as number;
    expect((await call(b, 'GET', path(echo.sessionId))).body.status).toBe('RUNNING');
    expect((await call(b, 'DELETE', path(echo.sessionId))).body.status).toBe('STOPPED');
    await until('the echo worker to exit', async () => (alive(pid) ? null : true), 30_000);
    const listed = (await call(a, 'GET', path())).body.sessions;
    expect(listed.find((s: any) => s.sessionId === rx.sessionId).status).toBe('FAILED');
    expect(listed.find((s: any) => s.sessionId === echo.sessionId).status).toBe('STOPPED');
  }, 120_000);

  test('a host agent that stops cleanly (SIGTERM) stops its sessions and records why; every frontend answers that', async () => {
    const last = (await call(a, 'POST', path(), { functions: [{ function: 'echo', alias: 'last' }] })).body;
    expect(hostOf(last.instances[0].pid)).toBe('host-a');
    const pid = last.instances[0].pid as number;
    await killByPid(hosts['host-a']!, 'SIGTERM');
    expect(hosts['host-a']!.exitCode).toBe(0);
    expect(alive(pid)).toBe(false);
    const state = (await call(b, 'GET', path(last.sessionId))).body;
    expect(state).toMatchObject({ status: 'STOPPED', reason: expect.stringMatching(/^platform-closed: /) });
  }, 60_000);
});

describe.runIf(RUN_NATS_TESTS)('a pipe between host agents in network namespaces of their own', () => {
  let network: Awaited<ReturnType<typeof hostNetwork>> | null = null;
  let round: Round | null = null;

  // Here, not in the test: a test that times out still has its processes, namespaces and rule removed.
  afterAll(async () => {
    await round?.close();
    await network?.close();
  });

  test('each host listens on its namespace address; the pipe crosses the bridge with every byte (SHA-256)', async () => {
    network = await hostNetwork('auto', 2);
    if (REQUIRE_NETNS) expect(network.mode, `fell back: ${network.fallbackReason}`).toBe('netns');
    console.log(`network: ${network.mode}${network.fallbackReason ? ` (${network.fallbackReason})` : ''}`);
    round = await Round.start(network, { preset: 'grouped', backend: 'process', capacity: 1 });
    const r = round;
    const t0 = Date.now();
    const step = (what: string) => console.log(`netns pipe: ${what} at ${Date.now() - t0} ms`);
    const [h0, h1] = [await r.startHost(0, 'ns-a'), await r.startHost(1, 'ns-b')];
    const front = await r.startFrontend();
    step('hosts and frontend up');
    expect((await call(front, 'POST', '/apps', APP)).status).toBe(201);
    const nc = await connectBroker(r.broker);
    try {
      const live = await until('both hosts to register', async () => {
        const hosts = await new HostRegistry(nc, 1).live();
        return hosts.length === 2 ? hosts : null;
      }, 30_000);
      expect(live.map((h) => h.pipes!.host)).toEqual(network!.hosts.map((h) => h.address));
    } finally {
      await nc.close();
    }
    const s = (path: string) => `/apps/${APP.name}/sessions${path}`;
    const rx = (await call(front, 'POST', s(''), { functions: [{ function: 'receiver', alias: 'rx' }] })).body;
    const tx = (await call(front, 'POST', s(''), { functions: [{ function: 'sender', alias: 'tx' }] })).body;
    step('sessions started');
    const under = (pid: number) => (descendants(h0.pid).includes(pid) ? 'ns-a' : descendants(h1.pid).includes(pid) ? 'ns-b' : null);
    expect([under(rx.instances[0].pid), under(tx.instances[0].pid)]).toEqual(['ns-a', 'ns-b']);

    const bytes = 2 * 1024 * 1024 + 11;
    await call(front, 'POST', s(`/${tx.sessionId}/messages`), { target: 'tx', message: { cmd: 'stream', target: { session: rx.sessionId, instance: 'rx' }, bytes, seed: 99 } });
    const read = async (id: string) => {
      for (let i = 0; i < 60; i++) {
        const [m] = (await call(front, 'GET', s(`/${id}/messages?timeoutMs=1000`))).body.messages;
        if (m) return m.body;
      }
      throw new Error(`no message from session ${id} within 60 polls`);
    };
    const sent = await read(tx.sessionId);
    step('sender done');
    expect(sent).toMatchObject({ streamed: bytes });
    expect(await read(rx.sessionId)).toEqual({ received: bytes, sha256: sent.sha256, peer: `${tx.sessionId}/sender.0`, ended: 'ok' });
    for (const id of [rx.sessionId, tx.sessionId]) expect((await call(front, 'DELETE', s(`/${id}`))).status).toBe(200);
  }, 180_000);
});
