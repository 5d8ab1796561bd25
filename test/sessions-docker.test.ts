/**
 * Sessions on the docker backend: the same session machinery in a container (one per app), with its pipe sockets in
 * the bind-mounted sandbox folder. Starts a session, exchanges messages both ways, streams through a pipe between two
 * workers of the container, kills an instance (the restart policy), and stops with no session process left inside
 * the container, and a pipe the platform relays between two containers. Skipped without a Docker engine unless MFBENCH_REQUIRE_DOCKER=1.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, inlineFunction, testPlatform, waitFor } from './helpers/platform.js';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import { dockerWithRuntimeImage, noteDockerSkipped, RUN_DOCKER_TESTS } from './helpers/docker.js';
import { ECHO, RECEIVER, SENDER } from './helpers/session-functions.js';

noteDockerSkipped('docker session tests');

describe.runIf(RUN_DOCKER_TESTS)('sessions on the docker backend', () => {
  let p: PlatformHandle;
  const APP = 'dsessions';

  beforeAll(async () => {
    await dockerWithRuntimeImage();
    p = await testPlatform({ backend: 'docker' });
    const deployed = await call(p, 'POST', '/apps', {
      name: APP,
      functions: [inlineFunction('echo', ECHO), inlineFunction('sender', SENDER), inlineFunction('receiver', RECEIVER)],
      workflows: {},
    });
    expect(deployed.status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await p?.close();
  });

  const send = (id: string, message: unknown, target?: unknown) => call(p, 'POST', `/apps/${APP}/sessions/${id}/messages`, { ...(target !== undefined ? { target } : {}), message });
  const state = (id: string) => call(p, 'GET', `/apps/${APP}/sessions/${id}`);
  async function receive(id: string, n: number, timeoutMs = 30_000): Promise<any[]> {
    const got: any[] = [];
    const end = Date.now() + timeoutMs;
    while (got.length < n && Date.now() < end) {
      const r = await call(p, 'GET', `/apps/${APP}/sessions/${id}/messages?timeoutMs=1000`);
      expect(r.status).toBe(200);
      got.push(...r.body.messages);
    }
    return got;
  }

  test('messages both ways, a pipe inside the container, a crash restarted, a stop that leaves no process', async () => {
    const started = await call(p, 'POST', `/apps/${APP}/sessions`, {
      functions: [{ function: 'echo', alias: 'e' }, { function: 'sender', alias: 'tx' }, { function: 'receiver', alias: 'rx' }],
      policy: { onFailure: 'restart' },
    });
    expect(started.status).toBe(201);
    const s = started.body;
    // The container's main process, seen from the host: its /proc/<pid>/root/proc shows the container's own pids.
    const containerPid: number = (await call(p, 'GET', `/apps/${APP}`)).body.sandboxes[0].pid;
    expect(containerPid).toBeGreaterThan(0);
    const inContainer = (nsPid: number) => existsSync(`/proc/${containerPid}/root/proc/${nsPid}`);
    const firstPids: number[] = s.instances.map((i: any) => i.pid);
    for (const pid of firstPids) expect(inContainer(pid)).toBe(true);

    await send(s.sessionId, { cmd: 'echo', value: 'in-docker' }, 'e');
    expect((await receive(s.sessionId, 1))[0].body).toMatchObject({ echo: 'in-docker', by: 'echo.0' });
    // Function to function: echo.0 sends itself an echo command through the agent, which it answers to the client.
    await send(s.sessionId, { cmd: 'relay', target: 'e', value: 'relayed' }, 'e');
    expect((await receive(s.sessionId, 1))[0].body).toMatchObject({ echo: 'relayed', from: 'echo.0' });

    const bytes = 4 * 1024 * 1024;
    await send(s.sessionId, { cmd: 'stream', target: 'rx', bytes }, 'tx');
    const streamed = await receive(s.sessionId, 2, 60_000);
    expect(streamed.find((m) => m.from === 'receiver.0')?.body).toEqual({ received: bytes, peer: 'sender.0', ended: 'ok' });

    // A crash: the restart policy brings the instance back under the same id, and it answers again.
    await send(s.sessionId, { cmd: 'crash' }, 'e');
    await waitFor(async () => (await state(s.sessionId)).body.instances[0].restarts === 1 && (await state(s.sessionId)).body.instances[0].status === 'running', 20_000);
    await send(s.sessionId, { cmd: 'echo', value: 'again' }, 'e');
    expect((await receive(s.sessionId, 1))[0].body).toMatchObject({ echo: 'again' });

    const latest: number[] = (await state(s.sessionId)).body.instances.map((i: any) => i.pid);
    const stopped = await call(p, 'DELETE', `/apps/${APP}/sessions/${s.sessionId}`);
    expect(stopped.body.status).toBe('STOPPED');
    for (const pid of [...firstPids, ...latest]) expect(inContainer(pid)).toBe(false);
  }, 180_000);
});

describe.runIf(RUN_DOCKER_TESTS)('a pipe across two containers', () => {
  let q: PlatformHandle;

  beforeAll(async () => {
    await dockerWithRuntimeImage();
    // Under per-function a sandbox serves one request at a time, so each session gets a container of its own.
    q = await testPlatform({ backend: 'docker', preset: 'per-function' });
    expect((await call(q, 'POST', '/apps', { name: 'dcross', functions: [inlineFunction('sender', SENDER), inlineFunction('receiver', RECEIVER)], workflows: {} })).status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await q?.close();
  });

  test('the platform relays the bytes between the containers, which have no network', async () => {
    const rx = (await call(q, 'POST', '/apps/dcross/sessions', { functions: [{ function: 'receiver', alias: 'rx' }] })).body;
    const tx = (await call(q, 'POST', '/apps/dcross/sessions', { functions: [{ function: 'sender', alias: 'tx' }] })).body;
    expect(rx.sandboxId).not.toBe(tx.sandboxId);
    const take = async (id: string) => {
      const end = Date.now() + 30_000;
      while (Date.now() < end) {
        const r = await call(q, 'GET', `/apps/dcross/sessions/${id}/messages?timeoutMs=1000`);
        if (r.body.messages.length > 0) return r.body.messages[0].body;
      }
      throw new Error('no message in 30 s');
    };
    const bytes = 2 * 1024 * 1024 + 1;
    await call(q, 'POST', `/apps/dcross/sessions/${tx.sessionId}/messages`, { target: 'tx', message: { cmd: 'stream', target: { session: rx.sessionId, instance: 'rx' }, bytes } });
    const sent = await take(tx.sessionId);
    expect(sent).toEqual({ streamed: bytes });
    expect(await take(rx.sessionId)).toEqual({ received: bytes, peer: `${tx.sessionId}/sender.0`, ended: 'ok' });
    for (const s of [rx, tx]) expect((await call(q, 'DELETE', `/apps/dcross/sessions/${s.sessionId}`)).body.status).toBe('STOPPED');
  }, 180_000);
});
