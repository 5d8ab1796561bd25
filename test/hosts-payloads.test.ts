/**
 * Payloads and results on the hosts path, on a real nats-server (default max_payload 1 MiB), two real host agents
 * and two real remote frontends (docs/distributed.md, "Large payloads" and "Results on any frontend"): a 3 MiB input
 * and a 3 MiB result cross the broker by reference, sync and async and as a direct invocation; the objects that
 * carried the work, the answers and the accepted inputs are deleted once delivered; a result over the platform's own
 * maxResultBytes still fails with MF_RESULT_TOO_LARGE; and a finished execution answers the same on the frontend that
 * did not place it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { brokerToken, connectBroker } from '../dist/platform/broker.js';
import { LargePayloads } from '../dist/platform/bus/global/large-payloads.js';
import { startFrontend, startHost, stopAll, tempDir, type Endpoint } from './helpers/mfbench.js';
import { RUN_NATS_TESTS, noteNatsSkipped, startNatsServer, type NatsServer } from './helpers/nats.js';
import { call, chain, inlineFunction, until } from './helpers/platform.js';

noteNatsSkipped('the large payload tests of host agents');

const MiB = 1024 * 1024;
/** Passes its input on; `grow` adds that many bytes to it (a result larger than what came in). */
const ECHO = `export const handler = async (event) => (event.grow ? { ...event, grow: 0, grown: 'g'.repeat(event.grow) } : event);`;
const APP = { name: 'big', functions: [inlineFunction('echo', ECHO)], workflows: { main: chain(['echo', 'echo', 'echo']) } };

describe.runIf(RUN_NATS_TESTS)('large payloads and shared results through host agents', () => {
  let nats: NatsServer;
  let front: Endpoint;
  let other: Endpoint;

  beforeAll(async () => {
    nats = await startNatsServer();
    await Promise.all([startHost(nats.url, 'big-a', await tempDir('mf-big-a-')), startHost(nats.url, 'big-b', await tempDir('mf-big-b-'))]);
    const [f1, f2] = await Promise.all([startFrontend(nats.url, await tempDir('mf-big-f1-')), startFrontend(nats.url, await tempDir('mf-big-f2-'))]);
    [front, other] = [f1.first, f2.first];
    expect((await call(front, 'POST', '/apps', APP)).status).toBe(201);
    await until('the other frontend to know the app', async () => ((await call(other, 'GET', '/apps/big')).status === 200 ? true : null), 30_000);
  }, 180_000);
  afterAll(async () => {
    await stopAll();
    await nats?.stop();
  });

  test('a 3 MiB input and result, sync, async and direct, on both hosts; answered alike by either frontend; the carrying objects deleted', async () => {
    const data = 'x'.repeat(3 * MiB);
    const sync = await call(front, 'POST', '/apps/big/workflows/main/executions', { i: 0, data });
    expect(sync.status).toBe(200);
    expect(sync.body).toMatchObject({ status: 'SUCCEEDED', output: { i: 0 } });
    expect(sync.body.output.data).toBe(data);

    // Two at once on two idle hosts: the rule puts one on each.
    const accepted = await Promise.all([1, 2].map((i) => call(front, 'POST', '/apps/big/workflows/main/executions?mode=async', { i, data })));
    expect(accepted.map((a) => a.status)).toEqual([202, 202]);
    const ids = accepted.map((a) => a.body.executionId as string);
    const answers = await until('the async executions to end', async () => {
      const all = await Promise.all(ids.map((id) => call(front, 'GET', `/executions/${id}`)));
      return all.every((a) => a.status === 200 && a.body.status !== 'RUNNING') ? all : null;
    }, 180_000);
    const failures = answers.filter((a) => a.body.status !== 'SUCCEEDED').map((a) => `${a.body.error}: ${a.body.cause}`);
    if (failures.length > 0) console.log(`failures: ${failures.join(' | ')}`);
    for (const [n, a] of answers.entries()) {
      expect(a.body).toMatchObject({ status: 'SUCCEEDED', output: { i: n + 1 } });
      expect(a.body.output.data.length).toBe(data.length);
    }
    expect(new Set(answers.map((a) => a.body.records[0].host))).toEqual(new Set(['big-a', 'big-b']));

    const direct = await call(other, 'POST', '/apps/big/functions/echo/invocations', { i: 9, data });
    expect(direct.body).toMatchObject({ status: 'SUCCEEDED', output: { i: 9 } });
    expect(direct.body.output.data.length).toBe(data.length);

    // The frontend that did not place them answers them from the broker, the same, history too.
    for (const [id, body] of [[sync.body.executionId, sync.body], ...ids.map((id, n) => [id, answers[n]!.body])] as Array<[string, unknown]>) {
      const there = await until(`execution ${id} on the other frontend`, async () => {
        const a = await call(other, 'GET', `/executions/${id}`);
        return a.status === 200 ? a : null;
      }, 60_000);
      expect(there.body).toEqual(body);
      expect((await call(other, 'GET', `/executions/${id}/history`)).body).toEqual((await call(front, 'GET', `/executions/${id}/history`)).body);
    }
    expect((await call(other, 'GET', '/executions/no-such-id')).body.error.code).toBe('MF_EXECUTION_NOT_FOUND');

    // What carried the work, the answers and the accepted inputs is released once delivered (checkpoints expire).
    const nc = await connectBroker(nats.url);
    try {
      const payloads = new LargePayloads(nc, 1);
      const mine = (names: string[]) => names.filter((n) => !n.startsWith('checkpoints.') && [sync.body.executionId, direct.body.executionId, ...ids].some((id) => n.includes(brokerToken(id))));
      const seen = await payloads.names();
      console.log(`objects in mfpayloads right after: ${seen.length}; of work, answers or accepted inputs: ${mine(seen).join(" ")}`);
      await until('the carrying objects to be released', async () => (mine(await payloads.names()).length === 0 ? true : null), 60_000);
    } finally {
      await nc.close();
    }
  }, 400_000);

  test("a result over the platform's maxResultBytes still fails with MF_RESULT_TOO_LARGE, sync and async", async () => {
    const sync = await call(front, 'POST', '/apps/big/workflows/main/executions', { grow: 7 * MiB });
    expect(sync.status).toBe(200);
    expect(sync.body).toMatchObject({ status: 'FAILED', error: 'MF_RESULT_TOO_LARGE' });
    const accepted = await call(other, 'POST', '/apps/big/workflows/main/executions?mode=async', { grow: 7 * MiB });
    expect(accepted.status).toBe(202);
    const done = await until('the async execution to end', async () => {
      const a = await call(front, 'GET', `/executions/${accepted.body.executionId}`);
      return a.status === 200 && a.body.status !== 'RUNNING' ? a : null;
    }, 120_000);
    expect(done.body).toMatchObject({ status: 'FAILED', error: 'MF_RESULT_TOO_LARGE' });
  }, 300_000);
});
