/**
 * GET /config: a platform reports the policy it resolved, and a run against it as a remote platform records that
 * policy (not the harness's assumptions) in the adapter's description, which is what lands in the manifest.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, testPlatform } from './helpers/platform.js';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import { MicroFunctionsAdapter } from '../dist/harness/microfunctions/index.js';

describe('GET /config', () => {
  let p: PlatformHandle;

  beforeAll(async () => {
    p = await testPlatform({ preset: 'per-function', poolSize: 1, keepHistory: false, recoveryAttempts: 1, maxResultBytes: 100_000 });
  });

  afterAll(async () => {
    await p?.close();
  });

  test('answers the resolved policy, with the token only', async () => {
    const r = await call(p, 'GET', '/config');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      backend: 'process',
      preset: 'per-function',
      sandboxing: 'per-function',
      busMode: 'global',
      workerConcurrency: 1,
      maxWorkersPerFunction: 1,
      maxSandboxesPerFunction: p.platform.config.maxSandboxesPerFunction,
      maxSandboxesPerApp: p.platform.config.maxSandboxesPerApp,
      keepAliveSeconds: p.platform.config.keepAliveSeconds,
      poolSize: 1,
      workerStart: 'first-use',
      handover: true,
      recoveryAttempts: 1,
      keepHistory: false,
      maxResultBytes: 100_000,
      maxTransitions: p.platform.config.maxTransitions,
      maxExecutionSeconds: p.platform.config.maxExecutionSeconds,
      globalLayer: { bus: 'journal', storage: 'journal', broker: null },
    });
    expect(JSON.stringify(r.body)).not.toContain(p.token);
    const anonymous = await call(p, 'GET', '/config', undefined, { token: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('MF_UNAUTHORIZED');
  });

  test('a remote adapter describes the platform by what it reports, even when told otherwise', async () => {
    const adapter = await MicroFunctionsAdapter.create({ url: p.url, token: p.token, preset: 'grouped' });
    try {
      expect(adapter.description).toMatchObject({
        mode: 'remote',
        backend: 'process',
        preset: 'per-function',
        poolSize: 1,
        workerStart: 'first-use',
        handover: true,
        keepHistory: false,
        recoveryAttempts: 1,
        globalLayer: { bus: 'journal', storage: 'journal', broker: null },
        policy: { sandboxing: 'per-function', busMode: 'global', workerConcurrency: 1, maxWorkersPerFunction: 1 },
      });
    } finally {
      await adapter.close();
    }
  });
});
