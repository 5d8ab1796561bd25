/**
 * A platform started with `broker` keeps its global layer in NATS JetStream: a workflow runs end to end under both
 * presets, and what it left on the global layer (checkpoints, hops, storage values) is read back from the broker by
 * a client of its own. A broker that does not answer stops the start with MF_BROKER_UNREACHABLE, from code and
 * from `mfbench platform start --broker`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerToken, connectBroker } from '../dist/platform/broker.js';
import { JetStreamBus } from '../dist/platform/bus/global/jetstream.js';
import { startPlatform } from '../dist/platform/frontend/index.js';
import { MicroFunctionsAdapter } from '../dist/harness/microfunctions/index.js';
import { RUN_NATS_TESTS, noteNatsSkipped, startNatsServer, type NatsServer } from './helpers/nats.js';
import { putThenGet, storageAppWorkload } from './helpers/storage-app.js';

noteNatsSkipped('the platform-on-a-broker tests');

const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

describe.runIf(RUN_NATS_TESTS)('a platform on NATS JetStream', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let bus: JetStreamBus;
  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connectBroker(nats.url);
    bus = await JetStreamBus.open(nc);
  });
  afterAll(async () => {
    await bus?.close();
    await nc?.close();
    await nats?.stop();
  });

  for (const preset of ['grouped', 'per-function'] as const) {
    it(`${preset}: a workflow runs end to end; its storage and its ${preset === 'grouped' ? 'checkpoints' : 'hops'} are in JetStream`, async () => {
      const adapter = await MicroFunctionsAdapter.create({ preset, platformConfig: { broker: nats.url, allowLocalCode: true } });
      try {
        expect(adapter.description.globalLayer).toEqual({ bus: 'jetstream', storage: 'jetstream-kv', broker: nats.url, replicas: 1 });
        const d = await adapter.deploy(storageAppWorkload(), {}, { name: `broker-${preset}` });
        // Under grouped sandboxing get sees put's local-tier marker (one sandbox), which the app's validator (written
        // for separate sandboxes) calls invalid; the global values are checked in the KV bucket below either way.
        const results =
          preset === 'per-function'
            ? await putThenGet(adapter, d, [1, 2])
            : [await adapter.execute(d, { key: 'k1', value: { seed: 1 } }, { validate: false }), await adapter.execute(d, { key: 'k2', value: { seed: 2 } }, { validate: false })];
        expect(results.map((r) => r.outcome)).toEqual([{ state: 'ok' }, { state: 'ok' }]);

        // The values and the counter, read straight from the app's KV bucket.
        const kv = await nc.jetstream().views.kv(`mf-${brokerToken(d.app)}`);
        const json = async (key: string): Promise<unknown> => {
          const e = await kv.get(brokerToken(key));
          return e ? JSON.parse(Buffer.from(e.value).toString('utf8')) : null;
        };
        expect(await json('k1')).toEqual({ v: { json: { seed: 1 } } });
        expect(await json('puts')).toEqual({ v: { json: 2 } });

        if (preset === 'grouped') {
          // Checkpoints reach the global bus asynchronously: wait for both executions' Put checkpoints.
          const ids = results.map((r) => r.platform?.executionId);
          expect(ids.every((id) => typeof id === 'string')).toBe(true);
          await waitFor(async () => {
            const points = await bus.read<{ state?: string }>('checkpoints');
            return ids.every((id) => points.some((p) => p.key === id));
          });
        } else {
          const hops = await bus.read<{ app: string; fn: string }>('hops');
          expect(hops.filter((h) => h.payload.app === d.app).map((h) => h.payload.fn)).toEqual(['put', 'get', 'put', 'get']);
          const results = await bus.read('hop-results');
          expect(results.length).toBeGreaterThanOrEqual(4);
        }
      } finally {
        await adapter.close();
      }
    });
  }
});

describe.runIf(RUN_NATS_TESTS)('mfbench run --broker', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let parent: string;
  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connectBroker(nats.url);
    parent = await mkdtemp(join(tmpdir(), 'mfbroker-run-'));
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
    if (parent) await rm(parent, { recursive: true, force: true });
  });

  it('the per-function chain-length run sends its hops through JetStream, and the manifest says so', async () => {
    const dir = join(parent, 'run');
    const { code, stdout, stderr } = await runCli(['run', 'chain-length', '--quick', '--preset', 'per-function', '--broker', nats.url, '--out', dir, '--no-report', '--json']);
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'complete' });
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as unknown;
    expect(JSON.stringify(manifest)).toContain(JSON.stringify({ bus: 'jetstream', storage: 'jetstream-kv', broker: nats.url, replicas: 1 }));
    // Every measured hop of the run crossed the broker: the hops stream holds at least one message per invocation.
    const raw = (await readFile(join(dir, 'raw.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { call: { platform?: { records?: unknown[] } } });
    const invocations = raw.reduce((n, r) => n + (r.call.platform?.records?.length ?? 0), 0);
    expect(invocations).toBeGreaterThan(0);
    const jsm = await nc.jetstreamManager();
    let published = 0;
    for await (const info of jsm.streams.list()) if (info.config.subjects?.includes('mfbus.hops.>')) published += info.state.messages;
    expect(published).toBeGreaterThanOrEqual(invocations);
  }, 300_000);

  it('refuses --broker when no named platform is embedded', async () => {
    const { code, stderr } = await runCli(['run', 'chain-length', '--quick', '--platform', 'openwhisk', '--broker', nats.url, '--out', join(parent, 'refused')]);
    expect(code).not.toBe(0);
    expect(stderr).toContain('--broker configures the embedded MicroFunctions platform');
  });
});

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('a broker that does not answer', () => {
  let deadUrl: string;
  let dataDir: string;
  beforeAll(async () => {
    // A loopback port nothing listens on.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    deadUrl = `nats://127.0.0.1:${(server.address() as { port: number }).port}`;
    await new Promise((resolve) => server.close(resolve));
    dataDir = await mkdtemp(join(tmpdir(), 'mfbroker-dead-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('startPlatform rejects with MF_BROKER_UNREACHABLE naming the URL', async () => {
    const err = await startPlatform({ broker: deadUrl, dataDir }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MF_BROKER_UNREACHABLE', details: { broker: deadUrl } });
    expect((err as Error).message).toContain(deadUrl);
  });

  it('a malformed broker URL is MF_CONFIG_INVALID', async () => {
    await expect(startPlatform({ broker: 'http://127.0.0.1:4222', dataDir })).rejects.toMatchObject({ code: 'MF_CONFIG_INVALID', details: { option: 'broker' } });
  });

  it('mfbench platform start --broker exits non-zero and says which broker', async () => {
    const child = spawn(process.execPath, [CLI, 'platform', 'start', '--broker', deadUrl, '--data-dir', dataDir, '--backend', 'process', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(out).toContain('MF_BROKER_UNREACHABLE');
    expect(out).toContain(deadUrl);
  });
});

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}
