/**
 * The global storage contract (docs/storage.md), run on both implementations of the GlobalTier seam: the embedded
 * journals (GlobalStorage) and JetStream KV + Object Store (JetStreamStorage) on a real nats-server.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBroker } from '../dist/platform/broker.js';
import { GlobalStorage } from '../dist/platform/storage/global-store.js';
import { JetStreamStorage, LARGE_VALUE_BYTES } from '../dist/platform/storage/jetstream.js';
import type { GlobalTier } from '../dist/platform/storage/types.js';
import { RUN_NATS_TESTS, noteNatsSkipped, startNatsServer, type NatsServer } from './helpers/nats.js';

noteNatsSkipped('the JetStream half of the global storage contract');

interface Maker {
  name: string;
  run: boolean;
  open(): Promise<GlobalTier>;
  /** A second, independent client of the same data (another process's view). */
  reopen(): Promise<GlobalTier>;
  teardown(): Promise<void>;
}

let root = '';
let nats: NatsServer | null = null;
const connections: NatsConnection[] = [];

const makers: Maker[] = [
  {
    name: 'GlobalStorage (embedded journals)',
    run: true,
    async open() {
      root = await mkdtemp(join(tmpdir(), 'mfstore-contract-'));
      return new GlobalStorage(root);
    },
    async reopen() {
      return new GlobalStorage(root);
    },
    async teardown() {
      await rm(root, { recursive: true, force: true });
    },
  },
  {
    name: 'JetStreamStorage (KV + Object Store)',
    run: RUN_NATS_TESTS,
    async open() {
      nats = await startNatsServer();
      return this.reopen();
    },
    async reopen() {
      const nc = await connectBroker(nats!.url);
      connections.push(nc);
      return new JetStreamStorage(nc);
    },
    async teardown() {
      await Promise.all(connections.splice(0).map((nc) => nc.close()));
      await nats?.stop();
    },
  },
];

const put = (key: string, json: unknown) => ({ op: 'put' as const, key, value: { json }, mode: 'global' as const });
const get = (key: string) => ({ op: 'get' as const, key, tier: 'global' as const });

for (const maker of makers) {
  describe.runIf(maker.run)(`global storage contract: ${maker.name}`, () => {
    let s: GlobalTier;
    beforeAll(async () => {
      s = await maker.open();
    });
    afterAll(async () => {
      await s?.close();
      await maker.teardown();
    });

    it('put, get, overwrite and delete a JSON value; a missing key is null', async () => {
      expect(await s.apply('app1', get('nope'))).toBeNull();
      await s.apply('app1', put('user/1', { name: 'ada', tags: ['x'] }));
      expect(await s.apply('app1', get('user/1'))).toEqual({ json: { name: 'ada', tags: ['x'] } });
      await s.apply('app1', put('user/1', 'second'));
      expect(await s.apply('app1', get('user/1'))).toEqual({ json: 'second' });
      expect(await s.apply('app1', { op: 'delete', key: 'user/1', tier: 'global' })).toBe(true);
      expect(await s.apply('app1', { op: 'delete', key: 'user/1', tier: 'global' })).toBe(false);
      expect(await s.apply('app1', get('user/1'))).toBeNull();
    });

    it('apps do not see each other, and bytes stay bytes', async () => {
      await s.apply('app-a', put('k', 'a'));
      expect(await s.apply('app-b', get('k'))).toBeNull();
      const bytes = Buffer.from([0, 1, 2, 255]).toString('base64');
      await s.apply('app-a', { op: 'put', key: 'blob', value: { bytes }, mode: 'global' });
      expect(await s.apply('app-a', get('blob'))).toEqual({ bytes });
    });

    it('list returns the keys with a prefix, sorted, whatever characters they hold', async () => {
      for (const k of ['img/2.png', 'img/10.png', 'img.x', 'doc/1', 'ü/1', 'a b/c']) await s.apply('app-l', put(k, 1));
      expect(await s.apply('app-l', { op: 'list', prefix: 'img/', tier: 'global' })).toEqual(['img/10.png', 'img/2.png']);
      expect(await s.apply('app-l', { op: 'list', prefix: 'ü', tier: 'global' })).toEqual(['ü/1']);
      expect((await s.apply('app-l', { op: 'list', prefix: '', tier: 'global' })) as string[]).toHaveLength(6);
    });

    it('a large value (above the KV limit) round-trips, and is deleted with its key', async () => {
      const big = 'x'.repeat(LARGE_VALUE_BYTES * 6); // 1.5 MiB: above NATS's 1 MiB message limit
      await s.apply('app-big', put('model-input', { big }));
      expect(await s.apply('app-big', get('model-input'))).toEqual({ json: { big } });
      expect(await s.apply('app-big', { op: 'list', prefix: 'model', tier: 'global' })).toEqual(['model-input']);
      expect(await s.apply('app-big', { op: 'delete', key: 'model-input', tier: 'global' })).toBe(true);
      expect(await s.apply('app-big', get('model-input'))).toBeNull();
    });

    it('increment counts from 0, and refuses a key that holds no number', async () => {
      expect(await s.apply('app-c', { op: 'increment', key: 'n', by: 2 })).toBe(2);
      expect(await s.apply('app-c', { op: 'increment', key: 'n', by: -5 })).toBe(-3);
      await s.apply('app-c', put('s', 'text'));
      await expect(s.apply('app-c', { op: 'increment', key: 's', by: 1 })).rejects.toMatchObject({ code: 'MF_BAD_REQUEST' });
    });

    it('bad keys and values are MF_BAD_REQUEST', async () => {
      await expect(s.apply('app-e', get(''))).rejects.toMatchObject({ code: 'MF_BAD_REQUEST' });
      await expect(s.apply('app-e', { op: 'increment', key: 'n', by: Number.NaN })).rejects.toMatchObject({ code: 'MF_BAD_REQUEST' });
    });

    it('drop deletes one app’s data', async () => {
      await s.apply('app-d', put('k', 1));
      await s.apply('app-keep', put('k', 2));
      await s.apply('app-d', put('k', 1));
      await s.drop('app-d');
      expect(await s.apply('app-d', get('k'))).toBeNull();
      expect(await s.apply('app-keep', get('k'))).toEqual({ json: 2 });
    });

    it('what one client writes, another client of the same data sees', async () => {
      await s.apply('app-shared', put('k', 'from one'));
      // The embedded store is one process's: its second client reads the journal only once the first closed it.
      if (maker.name.startsWith('GlobalStorage')) await s.close();
      const other = await maker.reopen();
      expect(await other.apply('app-shared', get('k'))).toEqual({ json: 'from one' });
      await other.close();
    });
  });
}

/**
 * Concurrent increments from several processes each count once: on JetStream through compare-and-set on the entry's
 * revision. (The embedded store belongs to one process by design, so this half runs on the broker only.)
 */
describe.runIf(RUN_NATS_TESTS)('JetStreamStorage: increments from competing processes', () => {
  let server: NatsServer;
  let dir: string;
  beforeAll(async () => {
    server = await startNatsServer();
    dir = await mkdtemp(join(tmpdir(), 'mfstore-cas-'));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('4 processes x 50 increments of one counter give exactly 200', async () => {
    const script = join(dir, 'incr.mjs');
    const dist = new URL('../dist/platform/', import.meta.url).href;
    await writeFile(
      script,
      `import { connectBroker } from '${dist}broker.js';
import { JetStreamStorage } from '${dist}storage/jetstream.js';
const nc = await connectBroker(process.argv[2]);
const s = new JetStreamStorage(nc);
await Promise.all(Array.from({ length: 50 }, () => s.apply('cas', { op: 'increment', key: 'counter', by: 1 })));
await nc.close();
`,
    );
    const codes = await Promise.all(
      Array.from({ length: 4 }, () => new Promise<number | null>((resolve) => fork(script, [server.url], { stdio: 'inherit' }).once('exit', resolve))),
    );
    expect(codes).toEqual([0, 0, 0, 0]);
    const nc = await connectBroker(server.url);
    const s = new JetStreamStorage(nc);
    expect(await s.apply('cas', get('counter'))).toEqual({ json: 200 });
    await nc.close();
  });
});
