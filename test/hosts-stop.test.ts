/**
 * StopExecution on host agents (docs/distributed.md, "Stops on hosts"), with real processes on a real nats-server:
 * one remote frontend and one host agent of capacity 1. A stop ends the execution ABORTED at the frontend at once and
 * reaches the host, whose engine makes no further transitions: no step of the stopped execution starts after it. And
 * a stop of an execution still waiting on the host's work topic (the host is busy) means it never runs at all.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startFrontend, startHost, stopAll, tempDir, type Endpoint } from './helpers/mfbench.js';
import { RUN_NATS_TESTS, noteNatsSkipped, startNatsServer, type NatsServer } from './helpers/nats.js';
import { call, chain, inlineFunction, until } from './helpers/platform.js';

noteNatsSkipped('the stop tests of host agents');

/** Counts its runs under its idempotency key, then takes `ms`. */
const STEP = `export const handler = async (event, context) => {
  await context.storage.increment('runs/' + context.idempotencyKey);
  await new Promise((r) => setTimeout(r, event.ms));
  return event;
};`;
const APP = { name: 'stops', functions: [inlineFunction('step', STEP)], workflows: { main: chain(['step', 'step', 'step']) } };

describe.runIf(RUN_NATS_TESTS)('stops on host agents', () => {
  let nats: NatsServer;
  let front: Endpoint;
  beforeAll(async () => {
    nats = await startNatsServer();
    await startHost(nats.url, 'stop-h', await tempDir('mf-stop-h-'), { capacity: 1 });
    front = (await startFrontend(nats.url, await tempDir('mf-stop-f-'))).first;
    expect((await call(front, 'POST', '/apps', APP)).status).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await stopAll();
    await nats?.stop();
  });

  /** How many times each step of an execution ran (the step's idempotency key is `<execution id>/<state>/<attempt>`). */
  const runsOf = async (id: string): Promise<number> => {
    const keys = (await call(front, 'GET', `/apps/stops/storage?prefix=${encodeURIComponent(`runs/${id}/`)}`)).body.keys as string[];
    return keys.length;
  };

  test('a stop reaches the host: ABORTED at once, and no later step starts; one queued behind it never runs', async () => {
    // The first takes the host's only slot; the second waits on its work topic.
    const accepted = await Promise.all([1, 2].map((i) => call(front, 'POST', '/apps/stops/workflows/main/executions?mode=async', { i, ms: 1500 })));
    expect(accepted.map((a) => a.status)).toEqual([202, 202]);
    const [runId, queuedId] = accepted.map((a) => a.body.executionId as string) as [string, string];
    // Whichever the host took first is the running one.
    const [first, second] = await until('a first step to run', async () => {
      const [a, b] = [await runsOf(runId), await runsOf(queuedId)];
      return a > 0 ? [runId, queuedId] : b > 0 ? [queuedId, runId] : null;
    }, 60_000);

    for (const id of [second, first]) {
      const stop = await call(front, 'POST', `/executions/${id}/stop`, { error: 'Test.Stop', cause: 'stopped by the test' });
      expect(stop.status).toBe(200);
      expect(stop.body).toMatchObject({ executionId: id, status: 'ABORTED', error: 'Test.Stop' });
    }
    // Long enough for the steps after the first (1.5 s each) to start, had the host not been told.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(await runsOf(first)).toBe(1);
    expect(await runsOf(second)).toBe(0);
    for (const id of [first, second]) expect((await call(front, 'GET', `/executions/${id}`)).body.status).toBe('ABORTED');

    // The host's slot is free again: a new execution runs to its end.
    const after = await call(front, 'POST', '/apps/stops/workflows/main/executions', { i: 3, ms: 10 });
    expect(after.body).toMatchObject({ status: 'SUCCEEDED', output: { i: 3, ms: 10 } });
  }, 120_000);
});
