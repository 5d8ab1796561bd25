import { spawn } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMfError, type ErrorCode } from '../../errors.js';
import { JsonText } from '../../json-text.js';
import { JournalBus, type JournalBusOptions } from './journal-bus.js';
import type { BusMessage, DeadLetter, GlobalBus, Subscription } from './types.js';

let root: string;
let dir: string;
const buses: JournalBus[] = [];
const errors: unknown[] = [];

function newBus(options: JournalBusOptions = {}): JournalBus {
  const bus = new JournalBus(dir, { onError: (e) => errors.push(e), ...options });
  buses.push(bus);
  return bus;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function expectCode(p: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<void> {
  let caught: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    caught = err;
  }
  expect(isMfError(caught, code), `expected ${code}, got ${String(caught)}`).toBe(true);
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'mf-bus-'));
  dir = root;
  errors.length = 0;
});

afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close()));
  await rm(root, { recursive: true, force: true });
  expect(errors).toEqual([]);
});

describe('JournalBus: publish and subscribe', () => {
  it('assigns offsets in call order and delivers every message once, in order per key', async () => {
    const bus = newBus();
    const publishes: Promise<number>[] = [];
    for (let i = 0; i < 30; i++) for (const key of ['a', 'b', 'c']) publishes.push(bus.publish('jobs', key, { key, i }));
    expect(await Promise.all(publishes)).toEqual([...Array(90).keys()]);

    const seen = new Map<string, number[]>();
    let count = 0;
    const handler = async (m: BusMessage<{ key: string; i: number }>) => {
      await sleep(Math.floor(Math.random() * 3));
      expect(m.attempt).toBe(1);
      expect(m.key).toBe(m.payload.key);
      seen.set(m.key, [...(seen.get(m.key) ?? []), m.payload.i]);
      count++;
    };
    // Two competing consumers: per-key order must hold across them.
    await bus.subscribe('jobs', 'workers', handler);
    await bus.subscribe('jobs', 'workers', handler);
    await waitFor('90 deliveries', () => count === 90);
    for (const key of ['a', 'b', 'c']) expect(seen.get(key)).toEqual([...Array(30).keys()]);
    await sleep(50);
    expect(count).toBe(90);
  });

  it('delivers messages published after subscribing, with topic, key, offset and publish time', async () => {
    const bus = newBus();
    const got: BusMessage<{ n: number }>[] = [];
    await bus.subscribe<{ n: number }>('live', 'g', (m) => {
      got.push(m);
    });
    const before = Date.now();
    const offset = await bus.publish('live', 'exec-1', { n: 1 }, { sync: true });
    await bus.publish('live', 'exec-1', undefined);
    await waitFor('2 deliveries', () => got.length === 2);
    expect(offset).toBe(0);
    expect(got[0]).toMatchObject({ topic: 'live', offset: 0, key: 'exec-1', payload: { n: 1 }, attempt: 1 });
    expect(got[0]?.publishedAt).toBeGreaterThanOrEqual(before);
    expect(got[1]?.payload).toBeUndefined();
  });

  it('gives competing consumers distinct messages, and every group all of them', async () => {
    const bus = newBus();
    const a: number[] = [];
    const b: number[] = [];
    const other: number[] = [];
    await bus.subscribe('work', 'pool', async (m) => {
      a.push(m.offset);
      await sleep(10);
    });
    await bus.subscribe('work', 'pool', async (m) => {
      b.push(m.offset);
      await sleep(10);
    });
    await bus.subscribe('work', 'audit', (m) => {
      other.push(m.offset);
    });
    for (let i = 0; i < 40; i++) await bus.publish('work', `exec-${i}`, i);
    await waitFor('40 deliveries in the pool and in audit', () => a.length + b.length === 40 && other.length === 40);
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    expect(a.filter((o) => b.includes(o))).toEqual([]);
    expect([...a, ...b].sort((x, y) => x - y)).toEqual([...Array(40).keys()]);
    expect(other).toEqual([...Array(40).keys()]);
  });

  it("starts a new group at the topic's end with fromOffset 'latest'", async () => {
    const bus = newBus();
    await bus.publish('t', 'k', 'old');
    const got: unknown[] = [];
    await bus.subscribe('t', 'late', (m) => {
      got.push(m.payload);
    }, { fromOffset: 'latest' });
    await bus.publish('t', 'k', 'new');
    await waitFor('one delivery', () => got.length === 1);
    await sleep(30);
    expect(got).toEqual(['new']);
  });
});

describe('JournalBus: acknowledgements and redelivery', () => {
  it('redelivers a nacked message with attempt 2, then dead-letters it after maxAttempts', async () => {
    const bus = newBus();
    const attempts: number[] = [];
    const good: number[] = [];
    await bus.subscribe<string>('orders', 'g', (m) => {
      if (m.payload === 'poison') {
        attempts.push(m.attempt);
        throw new Error('cannot handle poison');
      }
      good.push(m.offset);
    }, { maxAttempts: 3, retryBackoffMs: 10 });
    await bus.publish('orders', 'k1', 'poison');
    await bus.publish('orders', 'k1', 'after'); // same key: waits until the poison message is settled
    await bus.publish('orders', 'k2', 'other key');
    let dead: BusMessage<DeadLetter<string>>[] = [];
    await waitFor('a dead letter', () => good.length === 2);
    dead = await bus.read<DeadLetter<string>>('orders.dead');
    expect(attempts).toEqual([1, 2, 3]);
    expect(good).toEqual([2, 1]); // k2 was not held up by k1; k1's second message came after the dead letter
    expect(dead).toHaveLength(1);
    expect(dead[0]?.key).toBe('k1');
    expect(dead[0]?.payload).toMatchObject({ topic: 'orders', group: 'g', offset: 0, key: 'k1', attempts: 3, reason: 'nack', error: 'cannot handle poison', payload: 'poison' });
  });

  it('redelivers a rejected promise after a backoff, and then acknowledges it', async () => {
    const bus = newBus();
    const got: BusMessage[] = [];
    await bus.subscribe('t', 'g', async (m) => {
      got.push(m);
      if (m.attempt === 1) throw new Error('transient');
    }, { retryBackoffMs: 50 });
    await bus.publish('t', 'k', 1);
    await waitFor('attempt 2', () => got.length === 2);
    expect(got.map((m) => m.attempt)).toEqual([1, 2]);
    expect((got[1]?.publishedAt ?? 0) - (got[0]?.publishedAt ?? 0)).toBe(0);
    await sleep(100);
    expect(got).toHaveLength(2);
  });

  it('redelivers a message that is not acknowledged within ackTimeoutMs, and ignores the late acknowledgement', async () => {
    const bus = newBus();
    const attempts: number[] = [];
    let done = 0;
    await bus.subscribe('slow', 'g', async (m) => {
      attempts.push(m.attempt);
      if (m.attempt === 1) await sleep(400); // past the ack timeout
      done++;
    }, { ackTimeoutMs: 100 });
    await bus.publish('slow', 'k', 'x');
    await waitFor('both handlers finished', () => done === 2);
    await sleep(150);
    expect(attempts).toEqual([1, 2]);
  });

  it('dead-letters a message that times out maxAttempts times', async () => {
    const bus = newBus();
    const attempts: number[] = [];
    await bus.subscribe('hang', 'g', (m) => {
      attempts.push(m.attempt);
      return new Promise<void>(() => undefined);
    }, { ackTimeoutMs: 50, maxAttempts: 2 });
    await bus.publish('hang', 'k', 'x');
    let dead: BusMessage<DeadLetter>[] = [];
    await waitFor('a dead letter', () => {
      void bus.read<DeadLetter>('hang.dead').then((d) => (dead = d));
      return dead.length === 1;
    });
    expect(attempts).toEqual([1, 2]);
    expect(dead[0]?.payload).toMatchObject({ reason: 'timeout', attempts: 2, payload: 'x' });
  });

  it('redelivers the un-acknowledged messages of a closed subscriber to the next one', async () => {
    const bus = newBus();
    const held: BusMessage[] = [];
    const first = await bus.subscribe('t', 'g', (m) => {
      held.push(m);
      return new Promise<void>(() => undefined); // never acknowledges
    });
    for (let i = 0; i < 3; i++) await bus.publish('t', `k${i}`, i);
    await waitFor('3 held', () => held.length === 3);
    await first.close();
    const got: BusMessage[] = [];
    await bus.subscribe('t', 'g', (m) => {
      got.push(m);
    });
    await waitFor('3 redelivered', () => got.length === 3);
    expect(got.map((m) => [m.offset, m.attempt])).toEqual([[0, 2], [1, 2], [2, 2]]);
  });
});

describe('JournalBus: durability', () => {
  it('after a restart, resumes each group at its committed position and redelivers un-acknowledged messages', async () => {
    const bus1 = newBus();
    const acked: number[] = [];
    await bus1.subscribe('chain', 'agent', (m) => {
      if (m.offset === 2) return new Promise<void>(() => undefined); // in flight when the bus closes
      acked.push(m.offset);
    });
    for (let i = 0; i < 5; i++) await bus1.publish('chain', `exec-${i}`, { step: i });
    await waitFor('4 acknowledged', () => acked.length === 4);
    await bus1.close();

    const bus2 = newBus();
    const got: BusMessage[] = [];
    await bus2.subscribe('chain', 'agent', (m) => {
      got.push(m);
    });
    await waitFor('the un-acknowledged message', () => got.length === 1);
    expect(got[0]).toMatchObject({ offset: 2, attempt: 2, payload: { step: 2 } });
    expect(await bus2.publish('chain', 'exec-5', { step: 5 })).toBe(5);
    await waitFor('the new message', () => got.length === 2);
    expect(got.map((m) => m.offset)).toEqual([2, 5]);
    // A group that never subscribed before starts at the beginning.
    const fresh: number[] = [];
    await bus2.subscribe('chain', 'fresh', (m) => {
      fresh.push(m.offset);
    });
    await waitFor('6 messages for a new group', () => fresh.length === 6);
  });

  it('keeps failed attempts across a restart, so a poison message still reaches the dead-letter topic', async () => {
    const bus1 = newBus();
    let attempts: number[] = [];
    await bus1.subscribe('p', 'g', (m) => {
      attempts.push(m.attempt);
      throw new Error('poison');
    }, { maxAttempts: 3, retryBackoffMs: 10 });
    await bus1.publish('p', 'k', 'x');
    await waitFor('2 attempts', () => attempts.length === 2);
    await bus1.close();
    expect(attempts).toEqual([1, 2]);

    const bus2 = newBus();
    attempts = [];
    await bus2.subscribe('p', 'g', (m) => {
      attempts.push(m.attempt);
      throw new Error('poison');
    }, { maxAttempts: 3, retryBackoffMs: 10 });
    let dead: BusMessage[] = [];
    await waitFor('a dead letter', () => {
      void bus2.read('p.dead').then((d) => (dead = d));
      return dead.length === 1;
    });
    expect(attempts).toEqual([3]);
  });

  it('ignores a torn last line in a topic journal and in an offsets journal', async () => {
    const bus1 = newBus();
    const acked: number[] = [];
    await bus1.subscribe('t', 'g', (m) => {
      acked.push(m.offset);
    });
    for (let i = 0; i < 3; i++) await bus1.publish('t', 'k', { i });
    await waitFor('3 acknowledged', () => acked.length === 3);
    await bus1.close();
    // A crash mid-write leaves a line without its end.
    await appendFile(join(dir, 'topics', 't.jsonl'), '{"o":3,"k":"k","t":1,"p":{"i"');
    await appendFile(join(dir, 'offsets', 't~g.jsonl'), '{"c":9');

    const bus2 = newBus();
    expect((await bus2.read<{ i: number }>('t')).map((m) => m.payload.i)).toEqual([0, 1, 2]);
    expect(await bus2.publish('t', 'k', { i: 3 })).toBe(3);
    expect((await bus2.read<{ i: number }>('t')).map((m) => m.payload.i)).toEqual([0, 1, 2, 3]);
    const lines = (await readFile(join(dir, 'topics', 't.jsonl'), 'utf8')).trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { o: number }).o)).toEqual([0, 1, 2, 3]);
    const got: number[] = [];
    await bus2.subscribe('t', 'g', (m) => {
      got.push(m.offset);
    });
    await waitFor('the new message', () => got.length === 1);
    await sleep(30);
    expect(got).toEqual([3]);
  });

  it('recovers after the process is killed mid-stream: contiguous offsets, every message consumed at least once', async () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const processed = join(dir, 'processed.txt');
    await appendFile(processed, '');
    const child = spawn(process.execPath, [join(here, '../../../node_modules/vite-node/vite-node.mjs'), join(here, 'crash-child.ts'), join(dir, 'bus'), processed], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await waitFor('the child to publish 200 messages', () => out.includes('ready'), 30_000);
    await sleep(100);
    child.kill('SIGKILL');
    await exited;

    dir = join(dir, 'bus'); // newBus() opens the child's directory; afterEach removes it
    const bus = newBus();
    const all = await bus.read<{ n: number }>('crash', { limit: 1_000_000 });
    expect(all.length).toBeGreaterThanOrEqual(200);
    expect(all.map((m) => m.offset)).toEqual([...Array(all.length).keys()]);
    expect(all.every((m) => m.payload.n === m.offset)).toBe(true);
    const before = new Set((await readFile(join(dirname(dir), 'processed.txt'), 'utf8')).split('\n').filter(Boolean).map(Number));
    const after = new Set<number>();
    await bus.subscribe('crash', 'g', (m) => {
      after.add(m.offset);
    });
    await waitFor('every message consumed', () => all.every((m) => before.has(m.offset) || after.has(m.offset)));
    expect(await bus.publish('crash', 'k', { n: all.length })).toBe(all.length);
  });

  it('takes over the LOCK of a dead process, and refuses a directory open in this process', async () => {
    await mkdir(dir, { recursive: true });
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'LOCK'), '999999999');
    const bus = newBus();
    expect(await bus.publish('t', 'k', 1)).toBe(0);
    const second = new JournalBus(dir);
    await expectCode(second.publish('t', 'k', 2), 'MF_STORAGE_FAILED');
    await second.close();
    await bus.close();
    const third = newBus();
    expect(await third.publish('t', 'k', 2)).toBe(1);
  });
});

describe('JournalBus: read', () => {
  it('reads by key, from an offset, with a limit', async () => {
    const bus = newBus();
    for (let i = 0; i < 10; i++) await bus.publish('log', i % 2 === 0 ? 'a' : 'b', i);
    const a = await bus.read<number>('log', { key: 'a' });
    expect(a.map((m) => m.payload)).toEqual([0, 2, 4, 6, 8]);
    expect(a.every((m) => m.key === 'a' && m.attempt === 1 && m.topic === 'log')).toBe(true);
    expect((await bus.read<number>('log', { key: 'b', fromOffset: 4, limit: 2 })).map((m) => m.offset)).toEqual([5, 7]);
    expect(await bus.read('log', { key: 'nobody' })).toEqual([]);
    expect(await bus.read('empty')).toEqual([]);
  });

  it('keeps one message per line when a payload spliced in as text has newlines between its tokens', async () => {
    const bus = newBus();
    const pretty = JSON.stringify({ a: [1, 2], s: 'line\nbreak' }, null, 2); // raw newlines between tokens
    await bus.publish('spliced', 'k', new JsonText(pretty));
    await bus.publish('spliced', 'k', 'after');
    await bus.close();
    const lines = (await readFile(join(dir, 'topics', 'spliced.jsonl'), 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    const reopened = newBus();
    expect((await reopened.read('spliced')).map((m) => m.payload)).toEqual([{ a: [1, 2], s: 'line\nbreak' }, 'after']);
  });

  it('reads and delivers messages that are no longer in memory from the file', async () => {
    const bus1 = newBus({ memoryWindow: 4 });
    for (let i = 0; i < 700; i++) await bus1.publish('big', `exec-${i % 7}`, { i });
    const all = await bus1.read<{ i: number }>('big', { limit: 10_000 });
    expect(all.map((m) => m.payload.i)).toEqual([...Array(700).keys()]);
    const mid = await bus1.read<{ i: number }>('big', { key: 'exec-3', fromOffset: 300, limit: 5 });
    expect(mid.map((m) => m.offset)).toEqual([304, 311, 318, 325, 332]);
    // A new group reads its backlog from the file, in pages.
    const got: number[] = [];
    await bus1.subscribe('big', 'g', (m) => {
      got.push(m.offset);
    });
    await waitFor('700 deliveries', () => got.length === 700);
    expect(got).toEqual([...Array(700).keys()]);
    await bus1.close();
    const bus2 = newBus({ memoryWindow: 4 });
    expect((await bus2.read('big', { fromOffset: 650, limit: 1000 })).map((m) => m.offset)).toEqual([...Array(50).keys()].map((i) => 650 + i));
  });
});

describe('JournalBus: errors', () => {
  it('rejects bad names, keys, options and payloads with MF_BAD_REQUEST', async () => {
    const bus: GlobalBus = newBus();
    const noop = () => undefined;
    await expectCode(bus.publish('bad/topic', 'k', 1), 'MF_BAD_REQUEST');
    await expectCode(bus.publish('', 'k', 1), 'MF_BAD_REQUEST');
    await expectCode(bus.publish('x'.repeat(129), 'k', 1), 'MF_BAD_REQUEST');
    await expectCode(bus.publish('t', 42 as unknown as string, 1), 'MF_BAD_REQUEST');
    await expectCode(bus.publish('t', 'k', { n: 1n }), 'MF_BAD_REQUEST');
    await expectCode(bus.subscribe('t', 'bad group', noop), 'MF_BAD_REQUEST');
    await expectCode(bus.subscribe('t~x', 'g', noop), 'MF_BAD_REQUEST');
    await expectCode(bus.subscribe('t', 'g', noop, { maxAttempts: 0 }), 'MF_BAD_REQUEST');
    await expectCode(bus.subscribe('t', 'g', noop, { ackTimeoutMs: -1 }), 'MF_BAD_REQUEST');
    await expectCode(bus.subscribe('t', 'g', noop, { fromOffset: 'middle' as 'latest' }), 'MF_BAD_REQUEST');
    await expectCode(bus.subscribe('t', 'g', noop, { ackTimeout: 5 } as object), 'MF_BAD_REQUEST');
    await expectCode(bus.read('t', { fromOffset: -1 }), 'MF_BAD_REQUEST');
    await expectCode(bus.read('t', { limit: 1.5 }), 'MF_BAD_REQUEST');
    // Nothing was written for the rejected calls.
    expect(await bus.read('t')).toEqual([]);
  });

  it('reports journal I/O failures as MF_STORAGE_FAILED, and a closed bus as MF_PLATFORM_CLOSED', async () => {
    const bus = newBus();
    expect(await bus.publish('ok', 'k', 1)).toBe(0);
    await mkdir(join(dir, 'topics', 'broken.jsonl')); // the journal path is a directory
    await expectCode(bus.publish('broken', 'k', 1), 'MF_STORAGE_FAILED');
    await expectCode(bus.read('broken'), 'MF_STORAGE_FAILED');
    await bus.close();
    await expectCode(bus.publish('ok', 'k', 2), 'MF_PLATFORM_CLOSED');
    await expectCode(bus.subscribe('ok', 'g', () => undefined), 'MF_PLATFORM_CLOSED');
  });

  it('stops a subscription on close, and closes idempotently', async () => {
    const bus = newBus();
    const got: number[] = [];
    const sub: Subscription = await bus.subscribe('t', 'g', (m) => {
      got.push(m.offset);
    });
    await bus.publish('t', 'k', 1);
    await waitFor('one delivery', () => got.length === 1);
    await sub.close();
    await sub.close();
    await bus.publish('t', 'k', 2);
    await sleep(30);
    expect(got).toEqual([0]);
  });
});
