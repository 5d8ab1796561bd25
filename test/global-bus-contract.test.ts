/**
 * The GlobalBus contract, run on both implementations: the embedded JournalBus and JetStreamBus on a real
 * nats-server this file starts. What only a broker does (de-duplication by message id, a message some other client
 * wrote that does not parse) is tested on JetStream alone.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectBroker } from '../dist/platform/broker.js';
import { JetStreamBus } from '../dist/platform/bus/global/jetstream.js';
import { JournalBus, type BusMessage, type DeadLetter, type GlobalBus, type Subscription } from '../dist/platform/bus/global/index.js';
import { LargePayloads } from '../dist/platform/bus/global/large-payloads.js';
import { JsonText } from '../dist/platform/json-text.js';
import { RUN_NATS_TESTS, noteNatsSkipped, startNatsServer, type NatsServer } from './helpers/nats.js';

noteNatsSkipped('the JetStream half of the global bus contract');

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Maker {
  name: string;
  run: boolean;
  setup(): Promise<void>;
  /** A fresh bus on fresh topics (a new dir, or a new server-side namespace through unique topic names). */
  bus(): Promise<GlobalBus>;
  teardown(): Promise<void>;
}

let nats: NatsServer | null = null;
const connections: NatsConnection[] = [];
let root = '';

const makers: Maker[] = [
  {
    name: 'JournalBus',
    run: true,
    async setup() {
      root = await mkdtemp(join(tmpdir(), 'mfbus-contract-'));
    },
    async bus() {
      return new JournalBus(await mkdtemp(join(root, 'b-')));
    },
    async teardown() {
      await rm(root, { recursive: true, force: true });
    },
  },
  {
    name: 'JetStreamBus',
    run: RUN_NATS_TESTS,
    async setup() {
      nats = await startNatsServer();
    },
    async bus() {
      const nc = await connectBroker(nats!.url);
      connections.push(nc);
      return JetStreamBus.open(nc);
    },
    async teardown() {
      await Promise.all(connections.splice(0).map((nc) => nc.close()));
      await nats?.stop();
    },
  },
];

/** Topic names unique per test, so that tests on one broker never see each other's messages. */
let serial = 0;
const topic = (base: string): string => `${base}-${++serial}`;

for (const maker of makers) {
  describe.runIf(maker.run)(`GlobalBus contract: ${maker.name}`, () => {
    const open: GlobalBus[] = [];
    const newBus = async (): Promise<GlobalBus> => {
      const b = await maker.bus();
      open.push(b);
      return b;
    };
    beforeAll(() => maker.setup());
    afterEach(async () => {
      await Promise.all(open.splice(0).map((b) => b.close()));
    });
    afterAll(() => maker.teardown());

    it('publish returns offsets 0, 1, 2 per topic; read pages them and filters by key', async () => {
      const bus = await newBus();
      const t = topic('orders');
      expect(await bus.publish(t, 'a', { n: 1 })).toBe(0);
      expect(await bus.publish(t, 'b', { n: 2 })).toBe(1);
      expect(await bus.publish(t, 'a', { n: 3 })).toBe(2);
      expect(await bus.publish(topic('other'), 'a', 'x')).toBe(0);
      const all = await bus.read<{ n: number }>(t);
      expect(all.map((m) => [m.offset, m.key, m.payload.n, m.attempt])).toEqual([[0, 'a', 1, 1], [1, 'b', 2, 1], [2, 'a', 3, 1]]);
      expect((await bus.read(t, { key: 'a' })).map((m) => m.offset)).toEqual([0, 2]);
      expect((await bus.read(t, { fromOffset: 1, limit: 1 })).map((m) => m.offset)).toEqual([1]);
      expect(await bus.read(t, { fromOffset: 3 })).toEqual([]);
      expect(await bus.read(topic('never-written'))).toEqual([]);
    });

    it('a JsonText payload goes as the text it is; a subscriber with keys gets only those; release leaves the messages', async () => {
      const bus = await newBus();
      const t = topic('answers');
      expect(await bus.publish(t, 'mine-1', new JsonText('{"n": 1, "s": "as sent"}'), { id: 'a1' })).toBe(0);
      await bus.publish(t, 'theirs', 2, { id: 'a2' });
      await bus.publish(t, 'mine-2', 3, { id: 'a3' });
      const seen: BusMessage[] = [];
      await bus.subscribe(t, 'mine', (m) => void seen.push(m), { keys: (k) => k.startsWith('mine') });
      await waitFor('the two accepted keys', () => seen.length === 2);
      expect(seen.map((m) => [m.key, m.payload]).sort()).toEqual([['mine-1', { n: 1, s: 'as sent' }], ['mine-2', 3]]);
      await bus.release(t, 'mine-1', 'a1');
      expect((await bus.read(t)).map((m) => m.payload)).toEqual([{ n: 1, s: 'as sent' }, 2, 3]);
      await expect(bus.subscribe(t, 'g', () => undefined, { keys: 'mine' as unknown as () => boolean })).rejects.toMatchObject({ code: 'MF_BAD_REQUEST' });
    });

    it('keys of any characters survive the trip', async () => {
      const bus = await newBus();
      const t = topic('keys');
      const keys = ['', 'exec/1.2 with spaces', 'ü-ñ-✓', 'a_b', 'a.b', 'x'.repeat(300)];
      for (const k of keys) await bus.publish(t, k, k.length);
      expect((await bus.read(t)).map((m) => m.key)).toEqual(keys);
      expect((await bus.read(t, { key: 'a.b' })).map((m) => m.payload)).toEqual([3]);
    });

    it('a consumer group gets each message once, across competing subscribers, and acknowledges on resolve', async () => {
      const bus = await newBus();
      const t = topic('work');
      const seen: number[] = [];
      const subs: Subscription[] = [];
      for (let i = 0; i < 2; i++) subs.push(await bus.subscribe<number>(t, 'workers', (m) => void seen.push(m.payload)));
      for (let i = 0; i < 40; i++) await bus.publish(t, `k${i % 7}`, i);
      await waitFor('40 deliveries', () => seen.length >= 40);
      await new Promise((r) => setTimeout(r, 300)); // nothing more arrives
      expect([...seen].sort((a, b) => a - b)).toEqual([...Array(40).keys()]);
      for (const s of subs) await s.close();
      // A new subscriber of the same group starts after what was acknowledged: nothing is delivered again.
      const again: number[] = [];
      await bus.subscribe<number>(t, 'workers', (m) => void again.push(m.payload));
      await bus.publish(t, 'k', 40);
      await waitFor('the new message', () => again.length >= 1);
      expect(again).toEqual([40]);
    });

    it('messages with one key are handled one at a time, in order', async () => {
      const bus = await newBus();
      const t = topic('ordered');
      const order: number[] = [];
      let running = 0;
      let overlap = false;
      await bus.subscribe<number>(t, 'g', async (m) => {
        running++;
        if (running > 1) overlap = true;
        await new Promise((r) => setTimeout(r, 5));
        order.push(m.payload);
        running--;
      });
      for (let i = 0; i < 20; i++) await bus.publish(t, 'one-key', i);
      await waitFor('20 deliveries', () => order.length === 20);
      expect(order).toEqual([...Array(20).keys()]);
      expect(overlap).toBe(false);
    });

    it('a nacked message is redelivered with attempt+1, then dead-lettered with its reason after maxAttempts', async () => {
      const bus = await newBus();
      const t = topic('poison');
      const attempts: number[] = [];
      await bus.subscribe<string>(t, 'g', (m) => {
        attempts.push(m.attempt);
        throw new Error('cannot handle poison');
      }, { maxAttempts: 3, retryBackoffMs: 10 });
      await bus.publish(t, 'k1', 'poison');
      let dead: BusMessage<DeadLetter<string>>[] = [];
      await waitFor('a dead letter', async () => (dead = await bus.read<DeadLetter<string>>(`${t}.dead`)).length === 1);
      expect(attempts).toEqual([1, 2, 3]);
      expect(dead[0]?.key).toBe('k1');
      expect(dead[0]?.payload).toMatchObject({ topic: t, group: 'g', offset: 0, key: 'k1', attempts: 3, reason: 'nack', error: 'cannot handle poison', payload: 'poison' });
    });

    it('a delivery not acknowledged within ackTimeoutMs is redelivered', async () => {
      const bus = await newBus();
      const t = topic('slow');
      const attempts: number[] = [];
      await bus.subscribe<number>(t, 'g', async (m) => {
        attempts.push(m.attempt);
        if (m.attempt === 1) await new Promise((r) => setTimeout(r, 4_000)); // outlives the ack wait
      }, { ackTimeoutMs: 1_000 });
      await bus.publish(t, 'k', 1);
      await waitFor('a redelivery', () => attempts.includes(2));
      expect(attempts.slice(0, 2)).toEqual([1, 2]);
    });
  });
}

describe.runIf(RUN_NATS_TESTS)('JetStreamBus: what only a broker does', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let bus: JetStreamBus;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectBroker(server.url);
    bus = await JetStreamBus.open(nc);
  });
  afterAll(async () => {
    await bus?.close();
    await nc?.close();
    await server?.stop();
  });

  it('a publish replayed with the same message id is not a second message', async () => {
    const first = await bus.publish('hops', 'exec-1', { step: 1 }, { id: 'hop-1' });
    const replay = await bus.publish('hops', 'exec-1', { step: 1 }, { id: 'hop-1' });
    const other = await bus.publish('hops', 'exec-1', { step: 2 }, { id: 'hop-2' });
    expect(replay).toBe(first);
    expect(other).toBe(first + 1);
    expect((await bus.read('hops')).map((m) => m.payload)).toEqual([{ step: 1 }, { step: 2 }]);
  });

  it('a message that does not parse is dead-lettered as malformed, once, and the next one is delivered', async () => {
    const got: unknown[] = [];
    await bus.subscribe('mixed', 'g', (m) => void got.push(m.payload));
    await bus.publish('mixed', 'k', 'first');
    // Another client writes garbage on the topic's subject (the stream and subject layout of docs/distributed.md).
    const raw = await connect({ servers: server.url.slice('nats://'.length) });
    await raw.jetstream().publish('mfbus.mixed.kk', new TextEncoder().encode('{not json'));
    await raw.close();
    await bus.publish('mixed', 'k', 'after');
    let dead: BusMessage<DeadLetter>[] = [];
    await waitFor('the dead letter', async () => (dead = await bus.read<DeadLetter>('mixed.dead')).length === 1 && got.length === 2);
    expect(got).toEqual(['first', 'after']);
    expect(dead[0]?.payload).toMatchObject({ topic: 'mixed', group: 'g', offset: 1, key: 'k', reason: 'malformed', payload: '{not json' });
    expect(dead[0]?.payload.error).toMatch(/not JSON/);
    await new Promise((r) => setTimeout(r, 500));
    expect((await bus.read('mixed.dead')).length).toBe(1); // terminated: never redelivered
  });

  it("a payload over the server's max_payload travels by reference: a small message, the value for every reader, released on request", async () => {
    expect(nc.info!.max_payload).toBe(1024 * 1024); // nats-server's default, read from its INFO
    const big = { data: 'x'.repeat(3 * 1024 * 1024), n: 1 };
    await bus.publish('large', 'e1', big, { id: 'e1:0' });
    expect(await bus.publish('large', 'e1', big, { id: 'e1:0' })).toBe(0); // a replay: still one message
    await bus.publish('large', 'e1', { n: 2 });
    const got: BusMessage[] = [];
    await bus.subscribe('large', 'g', (m) => void got.push(m));
    await waitFor('both messages', () => got.length === 2);
    expect(got.map((m) => [m.payload, m.referenced ?? false])).toEqual([[big, true], [{ n: 2 }, false]]);
    expect((await bus.read('large')).map((m) => m.payload)).toEqual([big, { n: 2 }]);
    // The stream holds the small reference, the object store the bytes.
    const stream = await (await nc.jetstreamManager()).streams.info('MFBUS_large');
    expect(stream.state.bytes).toBeLessThan(16 * 1024);
    const name = LargePayloads.objectName('large', 'e1', 'e1:0');
    expect(await bus.payloads.names()).toContain(name);

    await bus.release('large', 'e1', 'e1:0');
    expect(await bus.payloads.names()).not.toContain(name);
    await bus.release('large', 'e1', 'e1:0'); // twice is no fault
    // Released: a reader skips it, a subscriber dead-letters it as lost (never redelivered).
    expect((await bus.read('large')).map((m) => m.payload)).toEqual([{ n: 2 }]);
    const late: unknown[] = [];
    await bus.subscribe('large', 'late', (m) => void late.push(m.payload));
    let dead: BusMessage<DeadLetter>[] = [];
    await waitFor('the dead letter', async () => (dead = await bus.read<DeadLetter>('large.dead')).length === 1 && late.length === 1);
    expect(late).toEqual([{ n: 2 }]);
    expect(dead[0]?.payload).toMatchObject({ topic: 'large', group: 'late', offset: 0, reason: 'lost', payload: { object: name } });
    expect(dead[0]?.payload.error).toContain('is gone');
  });

  it('bad names and payloads are typed errors', async () => {
    await expect(bus.publish('bad topic', 'k', 1)).rejects.toMatchObject({ code: 'MF_BAD_REQUEST' });
    await expect(bus.publish('t', 'k', undefined)).rejects.toMatchObject({ code: 'MF_BAD_REQUEST' });
    await expect(bus.subscribe('t', 'g', () => undefined, { maxAttempts: 0 })).rejects.toMatchObject({ code: 'MF_BAD_REQUEST' });
  });
});
