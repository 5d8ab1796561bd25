/**
 * History of executions that ran on a host agent (docs/distributed.md, "History of executions on hosts"), on a real
 * nats-server with two real host agents and two real remote frontends: the engine's events stay in the sandbox of
 * the host that ran the execution, and `GET /executions/{id}/history` on either frontend (the one that placed it and
 * one that did not) fetches them from that host through the broker; once that host is SIGKILLed, both answer 410
 * MF_HISTORY_GONE naming it, with what the platform itself recorded.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { killByPid, startFrontend, startHost, stopAll, tempDir, type Endpoint } from './helpers/mfbench.js';
import { RUN_NATS_TESTS, noteNatsSkipped, startNatsServer, type NatsServer } from './helpers/nats.js';
import { call, chain, inlineFunction, until } from './helpers/platform.js';

noteNatsSkipped('the history tests of host agents');

const STEP = `export const handler = async (event) => { await new Promise((r) => setTimeout(r, 300)); return { ...event, n: (event.n ?? 0) + 1 }; };`;
const APP = { name: 'hist', functions: [inlineFunction('step', STEP)], workflows: { main: chain(['step', 'step']) } };

describe.runIf(RUN_NATS_TESTS)('history of executions on host agents', () => {
  let nats: NatsServer;
  let front: Endpoint;
  let other: Endpoint;
  const hosts = new Map<string, ChildProcess>();

  beforeAll(async () => {
    nats = await startNatsServer();
    for (const id of ['hist-a', 'hist-b']) hosts.set(id, (await startHost(nats.url, id, await tempDir(`mf-${id}-`))).child);
    const [f1, f2] = await Promise.all([startFrontend(nats.url, await tempDir('mf-hist-f1-')), startFrontend(nats.url, await tempDir('mf-hist-f2-'))]);
    [front, other] = [f1.first, f2.first];
    expect((await call(front, 'POST', '/apps', APP)).status).toBe(201);
    await until('the other frontend to know the app', async () => ((await call(other, 'GET', '/apps/hist')).status === 200 ? true : null), 30_000);
  }, 180_000);
  afterAll(async () => {
    await stopAll();
    await nats?.stop();
  });

  test('either frontend answers the engine history from the host that ran it; 410 MF_HISTORY_GONE once that host is gone', async () => {
    // Two at once on two idle hosts: the placement rule puts one on each.
    const answers = await Promise.all([1, 2].map((i) => call(front, 'POST', '/apps/hist/workflows/main/executions', { i })));
    for (const a of answers) expect(a.body).toMatchObject({ status: 'SUCCEEDED', output: { n: 2 } });
    const ranOn = answers.map((a) => a.body.records[0].host as string);
    expect(new Set(ranOn)).toEqual(new Set(['hist-a', 'hist-b']));

    for (const a of answers) {
      const id = a.body.executionId as string;
      const here = await call(front, 'GET', `/executions/${id}/history`);
      expect(here.status).toBe(200);
      const types = (here.body.history as Array<{ type: string }>).map((e) => e.type);
      // The engine's events, which only the host's sandbox had.
      expect(types[0]).toBe('ExecutionStarted');
      expect(types.filter((t) => t === 'TaskStateEntered')).toHaveLength(2);
      expect(types.at(-1)).toBe('ExecutionSucceeded');
      // The frontend that did not place it: the same history (its result from the broker, the events from the host).
      const there = await until(`execution ${id}'s history on the other frontend`, async () => {
        const h = await call(other, 'GET', `/executions/${id}/history`);
        return h.status === 200 ? h : null;
      }, 30_000);
      expect(there.body).toEqual(here.body);
    }

    // The host that ran the first one dies: its sandboxes, and the history in them, are gone.
    const [id, host] = [answers[0]!.body.executionId as string, ranOn[0]!];
    await killByPid(hosts.get(host)!, 'SIGKILL');
    for (const at of [front, other]) {
      const gone = await call(at, 'GET', `/executions/${id}/history`);
      expect(gone.status).toBe(410);
      expect(gone.body.error.code).toBe('MF_HISTORY_GONE');
      expect(JSON.stringify(gone.body.error)).toContain(host);
    }
    // The other host's execution still answers in full.
    const alive = await call(other, 'GET', `/executions/${answers[1]!.body.executionId}/history`);
    expect(alive.status).toBe(200);
    expect((alive.body.history as Array<{ type: string }>).at(-1)?.type).toBe('ExecutionSucceeded');
  }, 180_000);
});
