/**
 * Frontend takeover (docs/distributed.md, "Frontend takeover"), with real processes on a real NATS JetStream broker:
 * two remote frontends and two host agents. Async executions accepted by frontend A, which is SIGKILLed while they
 * run, all complete and answer on frontend B; A started again on its data folder does not run them a second time.
 * And the claim itself: of several broker clients claiming one execution at once, exactly one wins.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectBroker } from '../dist/platform/broker.js';
import { JetStreamBus } from '../dist/platform/bus/global/jetstream.js';
import { ExecutionOwners } from '../dist/platform/frontend/hosts/owners.js';
import { BrokerResults } from '../dist/platform/frontend/hosts/results.js';
import { acceptedId, acceptedMessage, TOPIC_EXECUTIONS } from '../dist/platform/frontend/recovery.js';
import { killByPid, startFrontend, startHost, stopAll, tempDir, type Endpoint } from './helpers/mfbench.js';
import { RUN_NATS_TESTS, noteNatsSkipped, startNatsServer, type NatsServer } from './helpers/nats.js';
import { call, chain, inlineFunction, until } from './helpers/platform.js';

noteNatsSkipped('the frontend takeover tests');

/** Counts its runs under its idempotency key, then takes a while, so that the kill lands mid-run. */
const STEP = `export const handler = async (event, context) => {
  await context.storage.increment('runs/' + context.idempotencyKey);
  await new Promise((r) => setTimeout(r, event.ms));
  return { ...event, steps: [...(event.steps ?? []), context.idempotencyKey.split('/')[1]] };
};`;
const APP = { name: 'takeover', functions: [inlineFunction('step', STEP)], workflows: { main: chain(['step', 'step', 'step']) } };

afterAll(stopAll);

describe.runIf(RUN_NATS_TESTS)('frontend takeover', () => {
  let nats: NatsServer;
  beforeAll(async () => {
    nats = await startNatsServer();
  }, 60_000);
  afterAll(() => nats?.stop());

  test('of 8 frontends claiming one execution at once, exactly one wins; a claim over a stale revision loses', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => connectBroker(nats.url)));
    try {
      const owners = clients.map((nc) => new ExecutionOwners(nc, 1));
      const wins = await Promise.all(owners.map((o, i) => o.claim('exec-1', { frontendId: `f${i}`, generation: `g${i}` }, null)));
      expect(wins.filter(Boolean)).toHaveLength(1);
      const claimed = (await owners[0]!.get('exec-1'))!;
      expect(claimed.owner.frontendId).toBe(`f${wins.indexOf(true)}`);
      // Two take it over from the winner with the revision they both read: again one wins.
      const again = await Promise.all([owners[1]!.claim('exec-1', { frontendId: 'x', generation: '1' }, claimed), owners[2]!.claim('exec-1', { frontendId: 'y', generation: '1' }, claimed)]);
      expect(again.filter(Boolean)).toHaveLength(1);
    } finally {
      await Promise.all(clients.map((nc) => nc.close()));
    }
  }, 60_000);

  test('frontend A SIGKILLed with async executions running: B adopts them, each completes once and answers on B; A restarted does not run them again', async () => {
    await Promise.all([startHost(nats.url, 'tk-1', await tempDir('mf-tk-h1-')), startHost(nats.url, 'tk-2', await tempDir('mf-tk-h2-'))]);
    const dirA = await tempDir('mf-tk-fa-');
    const a = await startFrontend(nats.url, dirA);
    const b = (await startFrontend(nats.url, await tempDir('mf-tk-fb-'))).first;
    expect((await call(a.first, 'POST', '/apps', APP)).status).toBe(201);
    await until('B to know the app', async () => ((await call(b, 'GET', '/apps/takeover')).status === 200 ? true : null), 30_000);

    const n = 6;
    const accepted = await Promise.all(Array.from({ length: n }, (_, i) => call(a.first, 'POST', '/apps/takeover/workflows/main/executions?mode=async', { i, ms: 1500 })));
    expect(accepted.map((r) => r.status)).toEqual(new Array(n).fill(202));
    const ids = accepted.map((r) => r.body.executionId as string);
    await until('a first step to run', async () => (((await call(a.first, 'GET', '/apps/takeover/storage?prefix=runs/')).body.keys as string[]).length > 0 ? true : null));
    await killByPid(a.child, 'SIGKILL');
    const frontendA = (await readFile(join(dirA, 'frontend-id'), 'utf8')).trim();

    // B counts A gone once its entry expires (8 s), claims its executions and answers them.
    const answers = await until('every execution to answer on B', async () => {
      const all = await Promise.all(ids.map((id) => call(b, 'GET', `/executions/${id}`)));
      return all.every((r) => r.status === 200 && r.body.status !== 'RUNNING') ? all : null;
    }, 150_000);
    for (const [i, r] of answers.entries()) expect(r.body).toMatchObject({ executionId: ids[i], status: 'SUCCEEDED', output: { i, steps: ['S1', 'S2', 'S3'] } });
    const histories = await Promise.all(ids.map((id) => call(b, 'GET', `/executions/${id}/history`)));
    for (const h of histories) {
      const recovering = (h.body.history as Array<{ type: string; cause?: string }>).filter((e) => e.type === 'ExecutionRecovering');
      expect(recovering).toEqual([expect.objectContaining({ cause: `frontend "${frontendA}" stopped heartbeating` })]);
    }
    const runsOf = async (p: Endpoint): Promise<number[]> =>
      Promise.all(ids.flatMap((id) => ['S1', 'S2', 'S3'].map(async (s) => ((await call(p, 'GET', `/apps/takeover/storage/${encodeURIComponent(`runs/${id}/${s}/0`)}`)).body.value?.json as number | undefined) ?? 0)));
    const runs = await runsOf(b);
    expect(runs.every((r) => r >= 1)).toBe(true);

    // B removes each claim once the execution's end is journalled: mfowners keeps only running executions' claims.
    const nc = await connectBroker(nats.url);
    try {
      const owners = new ExecutionOwners(nc, 1);
      await until('B to remove its claims', async () => ((await Promise.all(ids.map((id) => owners.get(id)))).every((c) => c === null) ? true : null), 30_000);
    } finally {
      await nc.close();
    }

    // A comes back on its data folder: B took its executions, so A does not run them; asked, it answers B's result
    // (finished executions are shared on the broker), the same answer, not one of its own.
    const again = await startFrontend(nats.url, dirA);
    const line = await until('A to say what it recovered', async () => again.stderr().match(/recovered from the data dir: .*/)?.[0] ?? null, 30_000);
    expect(line).toContain(', 0 resumed');
    await new Promise((r) => setTimeout(r, 5_000)); // long enough for a wrongly resumed step (1.5 s) to count
    for (const [i, id] of ids.entries()) expect((await call(again.first, 'GET', `/executions/${id}`)).body).toEqual(answers[i]!.body);
    expect(await runsOf(b)).toEqual(runs);
    console.log(`takeover: ${n} executions accepted by A, all ${answers.length} answered on B; steps run ${runs.reduce((x, y) => x + y, 0)} for ${runs.length} steps`);
  }, 240_000);

  test('an execution whose result is on the broker but whose end was never journalled is marked finished by the frontend that takes it over, not run again', async () => {
    await startHost(nats.url, 'tk-3', await tempDir('mf-tk-h3-'));
    const c = (await startFrontend(nats.url, await tempDir('mf-tk-fc-'))).first;
    expect([201, 409]).toContain((await call(c, 'POST', '/apps', APP)).status);
    // What a frontend leaves when it dies between storing a result on the broker and journalling the end: the
    // accepted event, and the answer in mfresults, of a frontend ("ghost") that is not alive.
    const nc = await connectBroker(nats.url);
    const bus = await JetStreamBus.open(nc);
    try {
      const id = `ghost-${Date.now()}`;
      const view = JSON.stringify({ executionId: id, app: 'takeover', workflow: 'main', status: 'SUCCEEDED', output: { i: 99, steps: ['S1', 'S2', 'S3'] } });
      await new BrokerResults(nc, 1).put(id, view, '[]');
      const head = { t: 'accepted' as const, app: 'takeover', workflow: 'main', received: Date.now(), startTime: new Date().toISOString(), frontend: 'ghost', generation: 'g0' };
      await bus.publish(TOPIC_EXECUTIONS, id, acceptedMessage(head, JSON.stringify({ i: 99, ms: 10 })), { id: acceptedId(id) });
      // A frontend that starts sweeps at once: the ghost's execution is an orphan; its result is on the broker.
      const d = (await startFrontend(nats.url, await tempDir('mf-tk-fd-'))).first;
      await until('the end to be journalled', async () => ((await bus.read<{ t: string }>(TOPIC_EXECUTIONS, { key: id })).some((m) => m.payload.t === 'finished') ? true : null), 30_000);
      await new Promise((r) => setTimeout(r, 3_000)); // long enough for a wrongly resumed step to count
      const runs = await call(d, 'GET', `/apps/takeover/storage/${encodeURIComponent(`runs/${id}/S1/0`)}`);
      expect(runs.body.value?.json ?? 0).toBe(0);
      // Both frontends answer the stored result, byte for byte.
      for (const at of [c, d]) expect(JSON.stringify((await call(at, 'GET', `/executions/${id}`)).body)).toBe(view);
      expect(await new ExecutionOwners(nc, 1).get(id)).toBeNull();
    } finally {
      await bus.close();
      await nc.close();
    }
  }, 120_000);
});
