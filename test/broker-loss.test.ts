/**
 * A broker lost mid-run (docs/distributed.md, "Broker lost mid-run"): while the NATS JetStream server is down, what
 * needs it fails within a bounded time with a typed error, the platform keeps answering, and nothing is acknowledged
 * that was not done (an async execution is refused, not accepted). When the broker comes back on the same port and
 * store, the platform serves again without a restart of its own, and its apps are still deployed.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import { RUN_NATS_TESTS, noteNatsSkipped, startNatsServer, type NatsServer } from './helpers/nats.js';
import { call, chain, inlineFunction, testPlatform } from './helpers/platform.js';

noteNatsSkipped('the broker-loss tests');

/** What "bounded" means here: the broker's request timeout (5 s) with room for a busy machine. */
const BOUND_MS = 30_000;

const ECHO = 'export const handler = async (event) => event;';
const PUT = "export const handler = async (event, context) => { await context.storage.put('last', event); return event; };";

for (const preset of ['grouped', 'per-function'] as const) {
  describe.runIf(RUN_NATS_TESTS)(`the broker lost mid-run (${preset})`, () => {
    let nats: NatsServer;
    let platform: PlatformHandle;
    const app = `loss-${preset}`;
    const run = (workflow: string, query = '') => call(platform, 'POST', `/apps/${app}/workflows/${workflow}/executions${query}`, { n: 1 });

    beforeAll(async () => {
      nats = await startNatsServer();
      platform = await testPlatform({ broker: nats.url, preset, backend: 'process', allowLocalCode: true });
      const manifest = {
        name: app,
        functions: [inlineFunction('echo', ECHO), inlineFunction('put', PUT)],
        workflows: { pure: chain(['echo', 'echo']), stores: chain(['put']) },
      };
      expect((await call(platform, 'POST', '/apps', manifest)).status).toBe(201);
      expect((await run('stores')).body.status).toBe('SUCCEEDED');
    }, 60_000);
    afterAll(async () => {
      await platform?.close();
      await nats?.stop();
    });

    test('while it is down: typed failures within a bounded time, no async accept, the platform answers', async () => {
      await nats.kill();

      const started = Date.now();
      const stores = await run('stores');
      expect(Date.now() - started).toBeLessThan(BOUND_MS);
      expect(stores.status).toBe(200);
      expect(stores.body).toMatchObject({ status: 'FAILED', error: 'MF_STORAGE_FAILED' });

      if (preset === 'per-function') {
        // Every hop of the baseline crosses the broker: without it the execution fails, typed, in bounded time.
        const pure = await run('pure');
        expect(pure.body).toMatchObject({ status: 'FAILED', error: 'MF_STORAGE_FAILED' });
      } else {
        // Hops stay on the sandbox's local bus; only the checkpoints (a backup, off the critical path) are lost.
        expect((await run('pure')).body.status).toBe('SUCCEEDED');
      }

      // An async execution is not accepted when its acceptance cannot be made durable.
      const async = await run('pure', '?mode=async');
      expect(async.status).toBe(503);
      expect(async.body.error.code).toBe('MF_STORAGE_FAILED');

      const health = await call(platform, 'GET', '/healthz');
      expect(health.status).toBe(200);
    }, 120_000);

    test('when it comes back: the same platform serves again and the app is still there', async () => {
      await nats.restart();
      const deadline = Date.now() + BOUND_MS * 2;
      let last = await run('stores');
      while (last.body.status !== 'SUCCEEDED' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        last = await run('stores');
      }
      expect(last.body.status).toBe('SUCCEEDED');
      expect((await run('pure')).body.status).toBe('SUCCEEDED');
      expect((await call(platform, 'GET', `/apps/${app}`)).status).toBe(200);
      const accepted = await run('pure', '?mode=async');
      expect(accepted.status).toBe(202);
    }, 120_000);
  });
}
