/**
 * A platform on a 3-node NATS JetStream cluster with `brokerReplicas: 3` (docs/distributed.md, "A JetStream
 * cluster") keeps serving when one broker node dies: the test SIGKILLs the node that leads the `hops` stream (the
 * per-function baseline sends every hop through it), and then, within a bounded time, executions succeed again, a
 * value stored before the kill is still there, and async executions accepted after it all complete.
 */
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import { RUN_NATS_TESTS, noteNatsSkipped, startNatsCluster, type NatsCluster } from './helpers/nats.js';
import { call, chain, inlineFunction, testPlatform } from './helpers/platform.js';

noteNatsSkipped('the JetStream cluster test');

const APP = 'quorum';
const PUT = "export const handler = async (event, context) => { await context.storage.put(event.key, { n: event.n }); return event; };";
const GET = 'export const handler = async (event, context) => ({ value: await context.storage.get(event.key) });';
/** Failover (a new stream leader, the client's reconnect) must fit in this on a busy machine. */
const FAILOVER_MS = 60_000;

async function until<T>(what: string, probe: () => Promise<T | null>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.runIf(RUN_NATS_TESTS)('a platform on a 3-node JetStream cluster (brokerReplicas 3)', () => {
  let cluster: NatsCluster;
  let platform: PlatformHandle;
  let nc: NatsConnection;
  const run = (workflow: string, input: unknown, query = '') => call(platform, 'POST', `/apps/${APP}/workflows/${workflow}/executions${query}`, input);

  beforeAll(async () => {
    cluster = await startNatsCluster(3);
    // JetStream answers once the cluster has elected its meta leader; the platform's start checks that it answers.
    platform = await until('the platform to start on the cluster', () => testPlatform({ broker: cluster.url, brokerReplicas: 3, preset: 'per-function', backend: 'process', allowLocalCode: true }), FAILOVER_MS);
    nc = await connect({ servers: cluster.url.split(',').map((u) => u.slice('nats://'.length)), maxReconnectAttempts: -1 });
    const manifest = { name: APP, functions: [inlineFunction('put', PUT), inlineFunction('get', GET)], workflows: { put: chain(['put', 'put']), get: chain(['get']) } };
    expect((await call(platform, 'POST', '/apps', manifest)).status).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await platform?.close();
    await nc?.close();
    await cluster?.stop();
  });

  test('one node SIGKILLed: the platform serves again within a bounded time and loses nothing stored', async () => {
    expect((await run('put', { key: 'before', n: 1 })).body.status).toBe('SUCCEEDED');

    // The platform made its streams with three copies; kill the node that leads the hops stream.
    const jsm = await nc.jetstreamManager();
    const hops = await jsm.streams.info('MFBUS_hops');
    expect(hops.config.num_replicas).toBe(3);
    expect(hops.cluster?.replicas?.length).toBe(2);
    const leader = hops.cluster!.leader!;
    const victim = cluster.nodes[Number(leader.replace('mfbench-node-', ''))]!;
    await victim.kill();

    const failedOver = Date.now();
    await until('an execution to succeed after the kill', async () => ((await run('put', { key: 'after', n: 2 })).body.status === 'SUCCEEDED' ? true : null), FAILOVER_MS);
    const failoverMs = Date.now() - failedOver;

    // Nothing stored before the kill is lost, and the new leader holds what was stored after it.
    expect((await run('get', { key: 'before' })).body.output).toEqual({ value: { n: 1 } });
    expect((await run('get', { key: 'after' })).body.output).toEqual({ value: { n: 2 } });
    const newLeader = (await jsm.streams.info('MFBUS_hops')).cluster?.leader;
    expect(newLeader).not.toBe(leader);

    // Async executions accepted on the two remaining nodes all complete.
    const accepted = await Promise.all(Array.from({ length: 10 }, (_, i) => run('put', { key: `async-${i}`, n: i }, '?mode=async')));
    expect(accepted.map((a) => a.status)).toEqual(new Array(10).fill(202));
    const ids = accepted.map((a) => a.body.executionId as string);
    const statuses = await until(
      'the async executions to end',
      async () => {
        const s = await Promise.all(ids.map(async (id) => (await call(platform, 'GET', `/executions/${id}`)).body.status as string));
        return s.includes('RUNNING') ? null : s;
      },
      FAILOVER_MS,
    );
    console.log(`cluster: leader ${leader} killed; served again after ${failoverMs} ms; new leader ${newLeader}; async after the kill: ${statuses.filter((s) => s === 'SUCCEEDED').length}/10 succeeded`);
    expect(statuses).toEqual(new Array(10).fill('SUCCEEDED'));
  }, 240_000);
});
