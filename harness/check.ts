/**
 * A platform checked end to end before a run (`mfbench doctor --platform <name>`), each piece a run would need, in
 * order: the adapter is created (address, credentials, runtime kinds); hello is deployed (on OpenFaaS: its image built
 * and pushed, its replica answering the health path through the gateway) and called; anomaly-detection's small input
 * runs (its functions reach the storage service at MFBENCH_STORAGE_URL); both are removed (nothing left behind). A
 * step that fails says why, with the typed error's code; the steps after it are not tried.
 */
import { randomBytes } from 'node:crypto';
import { toMfError } from '../platform/errors.js';
import { getWorkload } from '../workloads/index.js';
import { createAdapter, type CommonAdapterOptions } from './registry.js';
import type { Deployment, PlatformAdapter } from './types.js';

export interface PlatformCheckStep {
  step: 'connect' | 'deploy' | 'call' | 'storage' | 'remove';
  ok: boolean;
  /** What was checked, or the error's code and message. */
  detail: string;
  ms: number;
}

export async function checkPlatform(platform: string, options: CommonAdapterOptions): Promise<PlatformCheckStep[]> {
  const steps: PlatformCheckStep[] = [];
  const step = async <T>(name: PlatformCheckStep['step'], what: string, run: () => Promise<T>): Promise<T | null> => {
    const t0 = performance.now();
    try {
      const value = await run();
      steps.push({ step: name, ok: true, detail: what, ms: performance.now() - t0 });
      return value;
    } catch (err) {
      const e = toMfError(err);
      steps.push({ step: name, ok: false, detail: `${e.code}: ${e.message}`, ms: performance.now() - t0 });
      return null;
    }
  };
  const adapter = await step('connect', `${platform} answers and accepts the credentials`, () => createAdapter(platform, options));
  if (adapter === null) return steps;
  const run = randomBytes(3).toString('hex');
  const deployed: Deployment[] = [];
  try {
    await checkCalls(adapter, run, deployed, step);
  } finally {
    if (deployed.length > 0) await step('remove', `removed ${deployed.map((d) => d.app).join(', ')}`, async () => {
      for (const d of deployed) await adapter.remove(d);
    });
    await adapter.close().catch(() => undefined);
  }
  return steps;
}

type Step = <T>(name: PlatformCheckStep['step'], what: string, run: () => Promise<T>) => Promise<T | null>;

async function checkCalls(adapter: PlatformAdapter, run: string, deployed: Deployment[], step: Step): Promise<void> {
  const hello = getWorkload('hello');
  const d = await step('deploy', `deployed hello as doctor-hello-${run}`, () => adapter.deploy(hello, {}, { name: `doctor-hello-${run}` }));
  if (d === null) return;
  deployed.push(d);
  const called = await step('call', 'hello answered, and its output passed the workload\'s validator', async () => {
    const r = await adapter.invoke(d, 'hello', hello.generateInput('small', 1));
    if (r.outcome.state !== 'ok') throw new Error(`the call's outcome was ${JSON.stringify(r.outcome)}`);
  });
  if (called === null) return;
  const anomaly = getWorkload('anomaly-detection');
  await step('storage', 'anomaly-detection (small) ran: its functions reached the storage service', async () => {
    const a = await adapter.deploy(anomaly, {}, { name: `doctor-anomaly-${run}` });
    deployed.push(a);
    const r = await adapter.execute(a, anomaly.generateInput('small', 1));
    if (r.outcome.state !== 'ok') throw new Error(`the execution's outcome was ${JSON.stringify(r.outcome)}`);
  });
}
