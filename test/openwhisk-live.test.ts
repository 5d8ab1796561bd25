/**
 * Live: the OpenWhisk adapter against a real deployment, when OPENWHISK_APIHOST and OPENWHISK_AUTH (uuid:key) are
 * set (OPENWHISK_NAMESPACE, OPENWHISK_IGNORE_CERTS=true and OPENWHISK_KIND optional). Skipped, saying so, otherwise.
 * The context.storage test also needs MFBENCH_STORAGE_LISTEN / MFBENCH_STORAGE_URL: where the actions reach this host.
 */
import { describe, expect, it } from 'vitest';
import { OpenWhiskAdapter } from '../dist/harness/openwhisk/index.js';
import { getWorkload } from '../dist/workloads/index.js';
import { storageAppRoundTrip } from './helpers/storage-app.js';

const host = process.env.OPENWHISK_APIHOST;
const auth = process.env.OPENWHISK_AUTH;
const live = host !== undefined && host !== '' && auth !== undefined && auth !== '';
if (!live) console.warn('openwhisk-live: skipped (set OPENWHISK_APIHOST and OPENWHISK_AUTH=uuid:key to run it against a real OpenWhisk)');
const storage = (process.env.MFBENCH_STORAGE_URL ?? '') !== '';
if (live && !storage) console.warn('openwhisk-live: context.storage test skipped (set MFBENCH_STORAGE_LISTEN and MFBENCH_STORAGE_URL so that the actions reach the storage service)');

function liveAdapter(): Promise<OpenWhiskAdapter> {
  return OpenWhiskAdapter.create({
    apihost: host,
    auth,
    ...(process.env.OPENWHISK_NAMESPACE ? { namespace: process.env.OPENWHISK_NAMESPACE } : {}),
    ...(process.env.OPENWHISK_KIND ? { kind: process.env.OPENWHISK_KIND } : {}),
    ignoreCerts: process.env.OPENWHISK_IGNORE_CERTS === 'true',
  });
}

describe.skipIf(!live)('OpenWhisk adapter, live', () => {
  it('deploys noop-chain, invokes cold then warm, executes the sequence, forces a cold start, and cleans up', async () => {
    const adapter = await liveAdapter();
    const w = getWorkload('noop-chain');
    const d = await adapter.deploy(w, { length: 2 }, { name: `mfbench-live-${process.pid}` });
    try {
      const input = w.generateInput('small', 1);
      const first = await adapter.invoke(d, 'step1', input);
      expect(first.outcome).toEqual({ state: 'ok' });
      expect(first.platform!.records[0]!.temperature).toBe('cold-sandbox');
      const second = await adapter.invoke(d, 'step1', input);
      expect(second.outcome).toEqual({ state: 'ok' });
      expect(second.platform!.records[0]!.temperature).toBe('warm');
      const ex = await adapter.execute(d, input);
      expect(ex.outcome).toEqual({ state: 'ok' });
      expect(ex.platform!.records.map((r) => r.function)).toEqual(['step1', 'step2']);
      await adapter.enforceColdStart(d);
      const again = await adapter.invoke(d, 'step1', input);
      expect(again.platform!.records[0]!.temperature).toBe('cold-sandbox');
      expect((await adapter.collectMetrics()).processes).toEqual([]);
    } finally {
      await adapter.close();
    }
  }, 300_000);

  it.runIf(storage)('gives the actions context.storage through the storage service', async () => {
    const adapter = await liveAdapter();
    try {
      expect((await storageAppRoundTrip(adapter, `mfbench-live-storage-${process.pid}`)).outcome).toEqual({ state: 'ok' });
    } finally {
      await adapter.close();
    }
  }, 300_000);
});
