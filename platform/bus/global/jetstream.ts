/**
 * JetStreamBus: the global bus on a NATS JetStream broker (config `broker`). Layout (docs/distributed.md):
 *   stream  MFBUS_<topic>              one per topic (file storage, a duplicate window for message ids)
 *   subject mfbus.<topic>.k<key>       the key is a subject token, so reading one key is a server-side filter
 *   durable consumer <group>           explicit ack, ack-wait = ackTimeoutMs, at most maxInFlight unacknowledged
 * Offsets are stream sequences minus one. Attempts are counted by the server (delivery count); a message past
 * maxAttempts, or one that does not parse, is published to `<topic>.dead` and terminated, never redelivered again.
 * A payload larger than the server's max_payload travels by reference through the object store (large-payloads.ts).
 */
import { AckPolicy, DeliverPolicy, Empty, JSONCodec, nanos, nuid, StorageType, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg, type NatsConnection } from 'nats';
import { brokerToken, fromBrokerToken } from '../../broker.js';
import { MfError, toMfError } from '../../errors.js';
import { jsonTextOf } from '../../json-text.js';
import { LargePayloads, payloadObject } from './large-payloads.js';
import { resolveSubscribeOptions } from './journal-bus.js';
import { checkKey, checkName, deadLetterTopic, type BusMessage, type DeadLetter, type DeadLetterReason, type GlobalBus, type PublishOptions, type ReadOptions, type SubscribeOptions, type Subscription } from './types.js';

/** How long JetStream remembers a message id to drop a replayed publish. */
export const DUPLICATE_WINDOW_MS = 2 * 60_000;
const DEFAULT_READ_LIMIT = 1000;
const MAX_BACKOFF_MS = 10_000;
const json = JSONCodec();

export class JetStreamBus implements GlobalBus {
  private readonly js: JetStreamClient;
  private readonly streams = new Map<string, Promise<string>>();
  private readonly subscriptions = new Set<JetStreamSubscription>();
  /** Where payloads too large for one message go (created on first use). */
  readonly payloads: LargePayloads;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly replicas: number,
    bulk: NatsConnection,
  ) {
    this.js = nc.jetstream();
    this.payloads = new LargePayloads(bulk, replicas);
  }

  /**
   * A bus on an open connection; the caller closes the connection after the bus. `replicas`: copies of each stream
   * (and so of its consumers) in a JetStream cluster; 1 on a single server. `bulk`: the connection that carries
   * payloads too large for a message (default `nc`; the caller closes it too).
   */
  static async open(nc: NatsConnection, options: { replicas?: number; bulk?: NatsConnection } = {}): Promise<JetStreamBus> {
    return new JetStreamBus(nc, await nc.jetstreamManager(), options.replicas ?? 1, options.bulk ?? nc);
  }

  async publish<T>(topic: string, key: string, payload: T, options?: PublishOptions): Promise<number> {
    this.checkOpen();
    checkName('topic', topic);
    checkKey(key);
    if (payload === undefined) throw new MfError('MF_BAD_REQUEST', 'a bus message payload must be a JSON value', { topic });
    let bytes: Buffer;
    try {
      bytes = Buffer.from(jsonTextOf(payload)); // a JsonText goes as the text it already is
    } catch (err) {
      throw new MfError('MF_BAD_REQUEST', `the payload cannot be serialised to JSON: ${(err as Error).message}`, { topic, key });
    }
    await this.stream(topic);
    const msgID = options?.id === undefined ? {} : { msgID: options.id };
    const ack = await brokerCall(`publish to ${topic}`, async () => {
      if (bytes.length <= this.payloads.limit) return this.js.publish(subject(topic, key), bytes, msgID);
      // Too large for one message: the bytes go to the object store first, then a message that names them. A
      // replayed publish writes the same object again and its message is dropped as a duplicate.
      const name = LargePayloads.objectName(topic, key, options?.id ?? nuid.next());
      return this.js.publish(subject(topic, key), Empty, { ...msgID, headers: await this.payloads.put(name, bytes) });
    });
    return ack.seq - 1;
  }

  async release(topic: string, key: string, id: string): Promise<void> {
    this.checkOpen();
    checkName('topic', topic);
    checkKey(key);
    await brokerCall(`release a payload of ${topic}`, () => this.payloads.delete(LargePayloads.objectName(topic, key, id)));
  }

  /** A message's payload: from its data, or from the object it names (MF_PAYLOAD_LOST when gone). */
  async payloadOf(topic: string, m: JsMsg): Promise<unknown> {
    const object = payloadObject(m.headers);
    if (object === null) return json.decode(m.data);
    const bytes = await brokerCall(`fetch a payload of ${topic}`, () => this.payloads.get(object, `${topic}#${m.seq - 1}`));
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  }

  async subscribe<T>(topic: string, group: string, handler: (m: BusMessage<T>) => Promise<void> | void, options?: SubscribeOptions): Promise<Subscription> {
    this.checkOpen();
    checkName('topic', topic);
    checkName('group', group);
    if (typeof handler !== 'function') throw new MfError('MF_BAD_REQUEST', 'subscribe needs a handler function', { topic, group });
    const o = resolveSubscribeOptions(options);
    const stream = await this.stream(topic);
    const durable = brokerToken(group);
    const settings = { ack_wait: nanos(o.ackTimeoutMs), max_ack_pending: o.maxInFlight };
    await brokerCall(`create consumer ${group} on ${topic}`, async () => {
      const info = await this.jsm.consumers.info(stream, durable).catch(() => null);
      // max_deliver stays unlimited: this bus counts attempts itself, so that a timed-out last attempt is dead-lettered too.
      const fresh = { durable_name: durable, ack_policy: AckPolicy.Explicit, max_deliver: -1, ...settings };
      if (info !== null && o.sole && info.num_ack_pending > 0) {
        // A sole subscriber's group holds deliveries of a dead process: the group starts again past its ack floor.
        await this.jsm.consumers.delete(stream, durable);
        await this.jsm.consumers.add(stream, { ...fresh, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: info.ack_floor.stream_seq + 1 });
      } else if (info !== null) await this.jsm.consumers.update(stream, durable, settings);
      else await this.jsm.consumers.add(stream, { ...fresh, deliver_policy: o.fromOffset === 'latest' ? DeliverPolicy.New : DeliverPolicy.All });
    });
    const consumer = await brokerCall(`open consumer ${group} on ${topic}`, () => this.js.consumers.get(stream, durable));
    const messages = await brokerCall(`consume ${topic}`, () => consumer.consume({ max_messages: o.maxInFlight }));
    const sub = new JetStreamSubscription(this, topic, group, messages, handler as (m: BusMessage) => Promise<void> | void, o, o.keys);
    this.subscriptions.add(sub);
    sub.done.finally(() => this.subscriptions.delete(sub));
    return sub;
  }

  async read<T>(topic: string, options: ReadOptions = {}): Promise<BusMessage<T>[]> {
    this.checkOpen();
    checkName('topic', topic);
    if (options.key !== undefined) checkKey(options.key);
    const from = options.fromOffset ?? 0;
    const limit = options.limit ?? DEFAULT_READ_LIMIT;
    if (!Number.isInteger(from) || from < 0) throw new MfError('MF_BAD_REQUEST', 'read: fromOffset must be an integer >= 0', { fromOffset: from });
    if (!Number.isInteger(limit) || limit < 1) throw new MfError('MF_BAD_REQUEST', 'read: limit must be an integer >= 1', { limit });
    const stream = await this.stream(topic);
    // An ephemeral consumer knows up front how many messages match, so the fetch asks for exactly those.
    const info = await brokerCall(`read ${topic}`, () =>
      this.jsm.consumers.add(stream, {
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: from + 1,
        filter_subject: options.key === undefined ? `${subjectPrefix(topic)}.>` : subject(topic, options.key),
        inactive_threshold: nanos(60_000),
        mem_storage: true,
      }),
    );
    const out: BusMessage<T>[] = [];
    try {
      const wanted = Math.min(limit, info.num_pending);
      if (wanted === 0) return out;
      const consumer = await this.js.consumers.get(stream, info.name);
      const batch = await consumer.fetch({ max_messages: wanted, expires: 30_000 });
      const messages: JsMsg[] = [];
      for await (const m of batch) {
        messages.push(m);
        if (messages.length >= wanted) break;
      }
      for (const m of messages) {
        try {
          out.push({ ...toBusMessage<T>(topic, m, (await this.payloadOf(topic, m)) as T), attempt: 1 });
        } catch (err) {
          // A payload past its lifetime: the message is skipped (and said), so one lost object never fails a recovery.
          if (!(err instanceof MfError && err.code === 'MF_PAYLOAD_LOST')) throw err;
          warn(`read of ${topic} skipped message ${m.seq - 1}`, err);
        }
      }
      return out;
    } finally {
      await this.jsm.consumers.delete(stream, info.name).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
  }

  /** Publishes a dead letter (used by subscriptions). */
  async deadLetter(letter: DeadLetter): Promise<void> {
    await this.publish(deadLetterTopic(letter.topic), letter.key, letter, { id: `${letter.topic}:${letter.group}:${letter.offset}:dead` });
  }

  /** The stream of a topic, created on first use. */
  private stream(topic: string): Promise<string> {
    let s = this.streams.get(topic);
    if (!s) {
      const name = `MFBUS_${brokerToken(topic)}`;
      s = brokerCall(`create the stream of ${topic}`, async () => {
        const exists = await this.jsm.streams.info(name).then(() => true, () => false);
        if (!exists) await this.jsm.streams.add({ name, subjects: [`${subjectPrefix(topic)}.>`], storage: StorageType.File, num_replicas: this.replicas, duplicate_window: nanos(DUPLICATE_WINDOW_MS) });
        return name;
      });
      s.catch(() => this.streams.delete(topic));
      this.streams.set(topic, s);
    }
    return s;
  }

  private checkOpen(): void {
    if (this.closed || this.nc.isClosed()) throw new MfError('MF_PLATFORM_CLOSED', 'the global bus is closed');
  }
}

type Handler = (m: BusMessage) => Promise<void> | void;

/** One subscriber of a group: runs the handler on each delivery, one at a time per key, and settles the delivery. */
class JetStreamSubscription implements Subscription {
  readonly done: Promise<void>;
  private readonly keyChains = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly bus: JetStreamBus,
    private readonly topic: string,
    private readonly group: string,
    private readonly messages: ConsumerMessages,
    private readonly handler: Handler,
    private readonly options: { maxAttempts: number; retryBackoffMs: number },
    private readonly keys: ((key: string) => boolean) | null,
  ) {
    // A failed pump (the connection closed under it) must not become an unhandled rejection that ends the process.
    this.done = this.pump().catch((err: unknown) => warn(`the subscription of ${group} to ${topic} stopped`, err));
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.messages.stop();
    await this.done;
  }

  private async pump(): Promise<void> {
    for await (const m of this.messages) {
      if (this.stopped) {
        m.nak(); // straight back to the group, not after the ack wait
        continue;
      }
      const key = keyOf(this.topic, m.subject);
      // Messages with one key run one after another; other keys run beside them.
      const chain = (this.keyChains.get(key) ?? Promise.resolve())
        .then(() => this.deliver(m, key))
        .catch((err: unknown) => warn(`could not settle ${this.topic}#${m.seq - 1}`, err)); // it comes back after AckWait
      this.keyChains.set(key, chain);
      void chain.finally(() => {
        if (this.keyChains.get(key) === chain) this.keyChains.delete(key);
      });
    }
    await Promise.all(this.keyChains.values());
  }

  private async deliver(m: JsMsg, key: string): Promise<void> {
    if (this.stopped) return m.nak();
    if (this.keys !== null && !this.keys(key)) return m.ack(); // not this subscriber's: its payload is never fetched
    const attempt = m.info.redeliveryCount;
    const { maxAttempts, retryBackoffMs } = this.options;
    if (attempt > maxAttempts) return this.giveUp(m, key, 'timeout', maxAttempts, undefined, undefined);
    let payload: unknown;
    try {
      payload = await this.bus.payloadOf(this.topic, m);
    } catch (err) {
      if (err instanceof MfError && err.code === 'MF_PAYLOAD_LOST') return this.giveUp(m, key, 'lost', attempt, err.message, { object: payloadObject(m.headers) });
      if (err instanceof MfError) throw err; // the broker did not answer: the delivery comes back after AckWait
      return this.giveUp(m, key, 'malformed', attempt, `the payload is not JSON: ${(err as Error).message}`, Buffer.from(m.data).toString('utf8'));
    }
    try {
      await this.handler({ ...toBusMessage(this.topic, m, payload), attempt });
      m.ack();
    } catch (err) {
      if (attempt >= maxAttempts) return this.giveUp(m, key, 'nack', attempt, toMfError(err).message, payload);
      m.nak(Math.min(MAX_BACKOFF_MS, retryBackoffMs * 2 ** (attempt - 1)));
    }
  }

  /** Dead-letters a delivery, then terminates it so the server never redelivers it. */
  private async giveUp(m: JsMsg, key: string, reason: DeadLetterReason, attempts: number, error: string | undefined, payload: unknown): Promise<void> {
    const object = payloadObject(m.headers);
    if (payload === undefined && object !== null) payload = { object }; // the letter names it; the bytes stay aside until they expire
    if (payload === undefined) {
      try {
        payload = json.decode(m.data);
      } catch {
        payload = Buffer.from(m.data).toString('utf8');
      }
    }
    const letter: DeadLetter = { topic: this.topic, group: this.group, offset: m.seq - 1, key, publishedAt: publishedAt(m), attempts, reason, payload, ...(error === undefined ? {} : { error }) };
    try {
      await this.bus.deadLetter(letter);
      m.term();
    } catch (err) {
      // Not dead-lettered: leave it to be redelivered after the ack wait rather than lose it.
      warn(`could not dead-letter ${this.topic}#${m.seq - 1}`, err);
    }
  }
}

/** Errors no caller can receive (settling a delivery, a stopped consumer): reported, never thrown. */
function warn(what: string, err: unknown): void {
  process.emitWarning(`${what}: ${toMfError(err).message}`, { code: 'MF_STORAGE_FAILED' });
}

function toBusMessage<T>(topic: string, m: JsMsg, payload: T): Omit<BusMessage<T>, 'attempt'> {
  const message = { topic, offset: m.seq - 1, key: keyOf(topic, m.subject), payload, publishedAt: publishedAt(m) };
  return payloadObject(m.headers) === null ? message : { ...message, referenced: true };
}

function publishedAt(m: JsMsg): number {
  return Math.floor(m.info.timestampNanos / 1e6);
}

function subjectPrefix(topic: string): string {
  return `mfbus.${brokerToken(topic)}`;
}

function subject(topic: string, key: string): string {
  return `${subjectPrefix(topic)}.k${brokerToken(key)}`;
}

/** The key a subject carries (the inverse of subject()). */
function keyOf(topic: string, subj: string): string {
  return fromBrokerToken(subj.slice(subjectPrefix(topic).length + 2));
}

/** Runs a broker call; its failures become MF_STORAGE_FAILED naming what was being done. */
async function brokerCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof MfError) throw err;
    throw new MfError('MF_STORAGE_FAILED', `the broker could not ${what}: ${(err as Error).message}`);
  }
}
