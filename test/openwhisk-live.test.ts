/**
 * Live: the OpenWhisk adapter against a real deployment, when OPENWHISK_APIHOST and OPENWHISK_AUTH (uuid:key) are
 * set (OPENWHISK_NAMESPACE, OPENWHISK_IGNORE_CERTS=true and OPENWHISK_KIND optional). Skipped, saying so, otherwise.
 */
import { describe, expect, it } from 'vitest';
import { OpenWhiskAdapter } from '../dist/platform/adapters/openwhisk/index.js';
import { getWorkload } from '../dist/workloads/index.js';

const host = process.env.OPENWHISK_APIHOST;
const auth = process.env.OPENWHISK_AUTH;
const live = host !== undefined && host !== '' && auth !== undefined && auth !== '';
if (!live) console.warn('openwhisk-live: skipped (set OPENWHISK_APIHOST and OPENWHISK_AUTH=uuid:key to run it against a real OpenWhisk)');

describe.skipIf(!live)('OpenWhisk adapter, live', () => {
  it('deploys noop-chain, invokes cold then warm, executes the sequence, forces a cold start, and cleans up', async () => {
    const adapter = await OpenWhiskAdapter.create({
      apihost: host,
      auth,
      ...(process.env.OPENWHISK_NAMESPACE ? { namespace: process.env.OPENWHISK_NAMESPACE } : {}),
      ...(process.env.OPENWHISK_KIND ? { kind: process.env.OPENWHISK_KIND } : {}),
      ignoreCerts: process.env.OPENWHISK_IGNORE_CERTS === 'true',
    });
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
});
