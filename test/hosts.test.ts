/**
 * Host agents and frontends as separate processes on a real NATS JetStream broker (docs/distributed.md, "Host
 * agents and frontends"): real `mfbench host start` and `mfbench platform start --hosts remote` processes on
 * loopback. Executions placed by a frontend run on both hosts (records name the host); a second frontend answers a
 * sync execution and a direct invocation whatever host ran them (sessions on hosts: sessions-hosts.test.ts); a second agent with a live host id is refused;
 * a frontend SIGKILLed with async executions in flight and started again on its data folder answers each once;
 * a host agent SIGKILLed mid-run has its executions placed again on the other host from their newest checkpoint,
 * and each completes once. Every process (and every sandbox a killed host left) is stopped by pid at the end.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectBroker } from '../dist/platform/broker.js';
import { JetStreamBus } from '../dist/platform/bus/global/jetstream.js';
import { descendants, killByPid, killLeftovers, runMfbench, startFrontend, startHost, stopAll, tempDir, type Endpoint } from './helpers/mfbench.js';
import { RUN_NATS_TESTS, noteNatsSkipped, startNatsServer, type NatsServer } from './helpers/nats.js';
import { call, chain, inlineFunction, until } from './helpers/platform.js';

noteNatsSkipped('the host agent tests');

/** Counts its runs under its idempotency key, then takes a while, so that a kill lands mid-run. */
const STEP = `export const handler = async (event, context) => {
  await context.storage.increment('runs/' + context.idempotencyKey);
  await new Promise((r) => setTimeout(r, event.ms ?? 200));
  return { ...event, steps: [...(event.steps ?? []), context.idempotencyKey.split('/')[1]] };
};`;
const APP = { name: 'hosts', functions: [inlineFunction('step', STEP)], workflows: { main: chain(['step', 'step', 'step']) } };

const leftovers: number[] = [];

afterAll(async () => {
  await stopAll();
  killLeftovers(leftovers);
});

describe('bad input to host agents and remote frontends: a typed error and a non-zero exit', () => {
  test('host start without a broker, with a bad host id, with a broker that does not answer; --hosts remote without a broker', async () => {
    const dataDir = await tempDir('mf-host-bad-');
    const common = ['--backend', 'process', '--data-dir', dataDir];
    const noBroker = await runMfbench(['host', 'start', ...common]);
    expect(noBroker).toMatchObject({ code: 2, out: expect.stringContaining('MF_CONFIG_INVALID') });
    expect(noBroker.out).toContain('broker');
    const badId = await runMfbench(['host', 'start', '--broker', 'nats://127.0.0.1:9', '--host-id', 'no/slashes', ...common]);
    expect(badId).toMatchObject({ code: 2, out: expect.stringContaining('bad host id') });
    // Port 9 (discard) on loopback: nothing answers there.
    const dead = await runMfbench(['host', 'start', '--broker', 'nats://127.0.0.1:9', '--host-id', 'h1', ...common]);
    expect(dead).toMatchObject({ code: 1, out: expect.stringContaining('MF_BROKER_UNREACHABLE') });
    expect(dead.out).toContain('nats://127.0.0.1:9');
    const remote = await runMfbench(['platform', 'start', '--hosts', 'remote', '--port', '0', ...common]);
    expect(remote).toMatchObject({ code: 2, out: expect.stringContaining('remote needs a broker') });
  }, 120_000);
});

describe.runIf(RUN_NATS_TESTS)('host agents and frontends as separate processes', () => {
  let nats: NatsServer;
  let hostA: ChildProcess;
  let hostB: ChildProcess;
  let front: Endpoint;
  let frontChild: ChildProcess;
  let frontDir: string;

  beforeAll(async () => {
    nats = await startNatsServer();
    [hostA, hostB] = await Promise.all([
      startHost(nats.url, 'host-a', await tempDir('mf-host-a-')).then((h) => h.child),
      startHost(nats.url, 'host-b', await tempDir('mf-host-b-')).then((h) => h.child),
    ]);
    frontDir = await tempDir('mf-front-1-');
    ({ child: frontChild, first: front } = await startFrontend(nats.url, frontDir));
    expect((await call(front, 'POST', '/apps', APP)).status).toBe(201);
  }, 120_000);
  afterAll(() => nats?.stop());

  test('executions run whole on both hosts; a second frontend answers a sync execution and an invocation; apps follow the broker', async () => {
    const accepted = await Promise.all(Array.from({ length: 6 }, (_, i) => call(front, 'POST', '/apps/hosts/workflows/main/executions?mode=async', { i })));
    expect(accepted.map((a) => a.status)).toEqual(new Array(6).fill(202));
    const ids = accepted.map((a) => a.body.executionId as string);
    const answers = await until('the async executions to end', async () => {
      const all = await Promise.all(ids.map((id) => call(front, 'GET', `/executions/${id}`)));
      return all.every((a) => a.body.status !== 'RUNNING') ? all : null;
    });
    const hostsUsed = new Set<string>();
    for (const [i, a] of answers.entries()) {
      expect(a.body).toMatchObject({ status: 'SUCCEEDED', output: { i, steps: ['S1', 'S2', 'S3'] } });
      expect(a.body.records).toHaveLength(3);
      // SAND's locality: every function of one execution ran on one host (and one sandbox of it).
      const hosts = new Set(a.body.records.map((r: { host: string }) => r.host));
      expect(hosts.size).toBe(1);
      hostsUsed.add([...hosts][0] as string);
    }
    // 6 executions on two hosts of capacity 3: the rule fills both.
    expect([...hostsUsed].sort()).toEqual(['host-a', 'host-b']);

    // Another frontend, started after the deploy, knows the app from the broker and answers whatever host ran it.
    const other = (await startFrontend(nats.url, await tempDir('mf-front-2-'))).first;
    const sync = await call(other, 'POST', '/apps/hosts/workflows/main/executions', { i: 99, ms: 10 });
    expect(sync.body).toMatchObject({ status: 'SUCCEEDED', output: { i: 99, steps: ['S1', 'S2', 'S3'] } });
    expect(['host-a', 'host-b']).toContain(sync.body.records[0].host);
    const direct = await call(other, 'POST', '/apps/hosts/functions/step/invocations', { i: 7, ms: 10 });
    expect(direct.body).toMatchObject({ status: 'SUCCEEDED', output: { i: 7, steps: [expect.any(String)] } });
    // The first frontend kept serving meanwhile.
    expect((await call(front, 'POST', '/apps/hosts/workflows/main/executions', { i: 100, ms: 10 })).body.status).toBe('SUCCEEDED');

    // An app deployed through one frontend is served by the other; deleted through it, it is gone from both.
    expect((await call(other, 'POST', '/apps', { ...APP, name: 'later' })).status).toBe(201);
    await until('the first frontend to know the app', async () => ((await call(front, 'GET', '/apps/later')).status === 200 ? true : null), 30_000);
    expect((await call(front, 'POST', '/apps/later/workflows/main/executions', { i: 5, ms: 10 })).body).toMatchObject({ status: 'SUCCEEDED', output: { i: 5 } });
    expect((await call(other, 'DELETE', '/apps/later')).status).toBe(200);
    await until('the first frontend to forget the app', async () => ((await call(front, 'GET', '/apps/later')).status === 404 ? true : null), 30_000);

  }, 180_000);

  test('a second host agent with a live host id is refused with MF_HOST_DUPLICATE and exits non-zero', async () => {
    const dup = await runMfbench(['host', 'start', '--broker', nats.url, '--host-id', 'host-a', '--backend', 'process', '--data-dir', await tempDir('mf-host-dup-')]);
    expect(dup.code).toBe(1);
    expect(dup.out).toContain('MF_HOST_DUPLICATE');
    expect(dup.out).toContain('host-a');
    expect(hostA.exitCode).toBeNull(); // the live one is untouched
  }, 60_000);

  test('a frontend SIGKILLed with async executions on the hosts and started again answers each of them once', async () => {
    const n = 4;
    const accepted = await Promise.all(Array.from({ length: n }, (_, i) => call(front, 'POST', '/apps/hosts/workflows/main/executions?mode=async', { i, ms: 1000 })));
    expect(accepted.map((a) => a.status)).toEqual(new Array(n).fill(202));
    const ids = accepted.map((a) => a.body.executionId as string);
    await killByPid(frontChild, 'SIGKILL');
    ({ child: frontChild, first: front } = await startFrontend(nats.url, frontDir));

    const answers = await until('every execution to end after the restart', async () => {
      const all = await Promise.all(ids.map((id) => call(front, 'GET', `/executions/${id}`)));
      return all.every((a) => a.status === 200 && a.body.status !== 'RUNNING') ? all : null;
    }, 120_000);
    for (const [i, a] of answers.entries()) expect(a.body).toMatchObject({ executionId: ids[i], status: 'SUCCEEDED', output: { i, steps: ['S1', 'S2', 'S3'] } });
    // The hosts ran on; the restarted frontend took their answers from its own group on the results topic.
    const runs = await Promise.all(ids.flatMap((id) => ['S1', 'S2', 'S3'].map(async (s) => (await call(front, 'GET', `/apps/hosts/storage/${encodeURIComponent(`runs/${id}/${s}/0`)}`)).body.value?.json ?? 0)));
    console.log(`frontend kill: ${n} executions, all ${answers.filter((a) => a.body.status === 'SUCCEEDED').length} succeeded, steps run ${runs.reduce((a, b) => a + b, 0)} for ${runs.length} steps`);
    expect(runs.every((r) => r >= 1)).toBe(true);
    // Answered the same from then on.
    expect((await call(front, 'GET', `/executions/${ids[0]}`)).body).toEqual(answers[0]!.body);
  }, 180_000);

  test('a host agent SIGKILLed mid-run: its executions resume on the other host from their checkpoint and complete once', async () => {
    const n = 4;
    const accepted = await Promise.all(Array.from({ length: n }, (_, i) => call(front, 'POST', '/apps/hosts/workflows/main/executions?mode=async', { i, ms: 1500 })));
    const ids = accepted.map((a) => a.body.executionId as string);
    // Mid-run: some execution has finished its first step (so a checkpoint exists) and none has finished.
    await until('a first step to finish', async () => {
      const keys = (await call(front, 'GET', '/apps/hosts/storage?prefix=runs/')).body.keys as string[];
      return keys.some((k) => ids.some((id) => k === `runs/${id}/S2/0`)) ? true : null;
    });
    leftovers.push(...descendants(hostA.pid!));
    await killByPid(hostA, 'SIGKILL');

    const answers = await until('every execution to end', async () => {
      const all = await Promise.all(ids.map((id) => call(front, 'GET', `/executions/${id}`)));
      return all.every((a) => a.body.status !== 'RUNNING') ? all : null;
    }, 120_000);
    const histories = await Promise.all(ids.map((id) => call(front, 'GET', `/executions/${id}/history`)));
    const resumed = histories.map((h) => (h.body.history as Array<{ type: string; state?: string }>).filter((e) => e.type === 'ExecutionRecovering'));
    const counts = await Promise.all(ids.flatMap((id) => ['S1', 'S2', 'S3'].map((s) => call(front, 'GET', `/apps/hosts/storage/${encodeURIComponent(`runs/${id}/${s}/0`)}`))));
    const runs = counts.map((c) => (c.body.value?.json as number | undefined) ?? 0);
    console.log(`host kill: ${n} executions, ${resumed.filter((r) => r.length > 0).length} placed again (from ${resumed.flat().map((e) => e.state).join(', ') || 'none'}), steps run ${runs.reduce((a, b) => a + b, 0)} for ${runs.length} steps`);

    const failures = answers.filter((a) => a.body.status !== 'SUCCEEDED').map((a) => `${a.body.error}: ${a.body.cause}`);
    if (failures.length > 0) console.log(`failures: ${failures.join(' | ')}`);
    for (const [i, a] of answers.entries()) expect(a.body).toMatchObject({ status: 'SUCCEEDED', output: { i, steps: ['S1', 'S2', 'S3'] } });
    // Half the work was on the killed host, and at least one of those resumed past its first step.
    expect(resumed.some((r) => r.length > 0)).toBe(true);
    expect(resumed.flat().some((e) => e.state === 'S2' || e.state === 'S3')).toBe(true);
    // Every step ran at least once; one that ran again was in flight at the kill (at most once more).
    expect(runs.every((r) => r >= 1 && r <= 2)).toBe(true);
    // The survivor took it all; the killed host's sandboxes died with their agent's link.
    for (const a of answers) expect(a.body.records.at(-1).host).toBe('host-b');
    expect(hostB.exitCode).toBeNull();
  }, 180_000);
});

describe.runIf(RUN_NATS_TESTS)('the per-function baseline on a host agent', () => {
  let nats: NatsServer;
  beforeAll(async () => {
    nats = await startNatsServer();
  }, 60_000);
  afterAll(() => nats?.stop());

  test("every hop goes through JetStream on the host's own topic, published and consumed by that host agent", async () => {
    await startHost(nats.url, 'pf-1', await tempDir('mf-host-pf-'), { extra: ['--preset', 'per-function'] });
    const p = (await startFrontend(nats.url, await tempDir('mf-front-pf-'))).first;
    expect((await call(p, 'POST', '/apps', APP)).status).toBe(201);
    const done = await call(p, 'POST', '/apps/hosts/workflows/main/executions', { i: 1, ms: 10 });
    expect(done.body).toMatchObject({ status: 'SUCCEEDED', output: { i: 1, steps: ['S1', 'S2', 'S3'] } });
    // Per-function sandboxing: each step in a sandbox of its function, all on the one host.
    expect(done.body.records.map((r: { host: string }) => r.host)).toEqual(['pf-1', 'pf-1', 'pf-1']);
    const nc = await connectBroker(nats.url);
    try {
      const bus = await JetStreamBus.open(nc);
      const hops = await bus.read<{ executionId: string; state: string }>('hops.pf-1', { key: done.body.executionId });
      expect(hops.map((m) => m.payload.state)).toEqual(['S1', 'S2', 'S3']);
      expect(await bus.read('hop-results.pf-1', { key: done.body.executionId })).toHaveLength(3);
    } finally {
      await nc.close();
    }
  }, 120_000);
});

describe.runIf(RUN_NATS_TESTS)('a hop peer (--hop-peer, for experiments): a hop between two Tasks crosses hosts', () => {
  let nats: NatsServer;
  beforeAll(async () => {
    nats = await startNatsServer();
  }, 60_000);
  afterAll(() => nats?.stop());

  test('every second Task hop is published to the peer, run on its sandbox, and answered on the sender\'s results topic', async () => {
    // Both hosts free: the placement takes the lower id, hp-a, whose peer is hp-b.
    await startHost(nats.url, 'hp-b', await tempDir('mf-host-hpb-'), { extra: ['--preset', 'per-function'] });
    await startHost(nats.url, 'hp-a', await tempDir('mf-host-hpa-'), { extra: ['--preset', 'per-function', '--hop-peer', 'hp-b'] });
    const p = (await startFrontend(nats.url, await tempDir('mf-front-hp-'))).first;
    expect((await call(p, 'POST', '/apps', APP)).status).toBe(201);
    const done = await call(p, 'POST', '/apps/hosts/workflows/main/executions', { i: 2, ms: 10 });
    expect(done.body).toMatchObject({ status: 'SUCCEEDED', output: { i: 2, steps: ['S1', 'S2', 'S3'] } });
    // The records say where each Task ran: the second on the peer, the others on the host that ran the engine.
    expect(done.body.records.map((r: { host: string; state: string }) => [r.state, r.host])).toEqual([['S1', 'hp-a'], ['S2', 'hp-b'], ['S3', 'hp-a']]);
    const nc = await connectBroker(nats.url);
    try {
      const bus = await JetStreamBus.open(nc);
      const key = { key: done.body.executionId as string };
      const own = await bus.read<{ state: string; replyTo?: string }>('hops.hp-a', key);
      expect(own.map((m) => [m.payload.state, m.payload.replyTo ?? null])).toEqual([['S1', null], ['S3', null]]);
      const peer = await bus.read<{ state: string; replyTo?: string }>('hops.hp-b', key);
      expect(peer.map((m) => [m.payload.state, m.payload.replyTo])).toEqual([['S2', 'hp-a']]);
      // Every result, the peer's too, comes back on the sender's topic; none on the peer's.
      expect(await bus.read('hop-results.hp-a', key)).toHaveLength(3);
      expect(await bus.read('hop-results.hp-b', key)).toHaveLength(0);
    } finally {
      await nc.close();
    }
  }, 180_000);

  test('a host agent named as its own hop peer is refused with MF_CONFIG_INVALID before it registers', async () => {
    const out = await runMfbench(['host', 'start', '--broker', nats.url, '--host-id', 'hp-self', '--hop-peer', 'hp-self', '--backend', 'process', '--data-dir', await tempDir('mf-host-hpself-')]);
    expect(out).toMatchObject({ code: 2, out: expect.stringContaining('MF_CONFIG_INVALID') });
    expect(out.out).toContain('own hop peer');
  }, 60_000);
});
