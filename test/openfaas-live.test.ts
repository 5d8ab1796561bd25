/**
 * The OpenFaaS adapter against a real gateway, when one is configured: OPENFAAS_URL, OPENFAAS_USER and
 * OPENFAAS_PASSWORD (and, for a cluster that cannot see this host's Docker images, OPENFAAS_REGISTRY; for the
 * workflow, OPENFAAS_FUNCTION_GATEWAY when the in-cluster gateway is not http://gateway.openfaas:8080).
 * Skipped with a message otherwise. Needs a Docker engine on this host to build the image. The context.storage test
 * also needs MFBENCH_STORAGE_LISTEN / MFBENCH_STORAGE_URL: where the cluster's containers reach this host.
 */
import { describe, expect, test } from 'vitest';
import { OpenFaasAdapter } from '../dist/harness/openfaas/index.js';
import { getWorkload } from '../dist/workloads/index.js';
import { storageAppRoundTrip } from './helpers/storage-app.js';

const LIVE = ['OPENFAAS_URL', 'OPENFAAS_USER', 'OPENFAAS_PASSWORD'].every((k) => (process.env[k] ?? '') !== '');
if (!LIVE) process.stderr.write('openfaas live tests skipped: set OPENFAAS_URL, OPENFAAS_USER and OPENFAAS_PASSWORD to run them against a real gateway\n');
const STORAGE = (process.env.MFBENCH_STORAGE_URL ?? '') !== '';
if (LIVE && !STORAGE) process.stderr.write('openfaas live context.storage test skipped: set MFBENCH_STORAGE_LISTEN and MFBENCH_STORAGE_URL so that the cluster reaches the storage service\n');

describe.runIf(LIVE)('openfaas adapter against a live gateway', () => {
  test('hello: deploy, cold then warm, enforceColdStart, workflow, metrics, remove', { timeout: 600_000 }, async () => {
    const adapter = await OpenFaasAdapter.create({ readyTimeoutMs: 300_000 });
    try {
      const hello = getWorkload('hello');
      const d = await adapter.deploy(hello, {}, { name: `mfbench-live-${process.pid}` });
      const input = hello.generateInput('small', 1);
      const first = await adapter.invoke(d, 'hello', input);
      expect(first.outcome).toEqual({ state: 'ok' });
      expect(first.platform?.records[0]?.temperature).toBe('cold-sandbox');
      const second = await adapter.invoke(d, 'hello', input);
      expect(second.platform?.records[0]?.temperature).toBe('warm');
      await adapter.enforceColdStart(d);
      const third = await adapter.invoke(d, 'hello', input);
      expect(third.platform?.records[0]?.temperature).toBe('cold-sandbox');
      expect(third.platform?.records[0]?.sandboxId).not.toBe(first.platform?.records[0]?.sandboxId);
      expect((await adapter.execute(d, input)).outcome).toEqual({ state: 'ok' });
      await adapter.collectMetrics();
      await adapter.remove(d);
    } finally {
      await adapter.close();
    }
  });

  test.runIf(STORAGE)('context.storage through the storage service: put and get share global values', { timeout: 600_000 }, async () => {
    const adapter = await OpenFaasAdapter.create({ readyTimeoutMs: 300_000 });
    try {
      expect((await storageAppRoundTrip(adapter, `mfbench-live-storage-${process.pid}`)).outcome).toEqual({ state: 'ok' });
    } finally {
      await adapter.close();
    }
  });
});
