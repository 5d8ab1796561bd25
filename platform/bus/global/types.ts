/**
 * The global bus: the durable tier of the hierarchical message bus (docs/bus.md). The embedded implementation is
 * JournalBus (an append-only journal per topic in the platform's data directory); the interface is shaped so that a
 * broker-backed one (Kafka, NATS JetStream, Redis Streams) fits behind it: topic, partition key, consumer group,
 * offsets, acknowledgements, redelivery and a dead-letter topic are concepts all three have.
 */
import { MfError } from '../../errors.js';

/** One message as a consumer or a reader sees it. */
export interface BusMessage<T = unknown> {
  topic: string;
  /** Position in the topic: 0, 1, 2, ... in publish order (a broker implementation maps its own ids to it). */
  offset: number;
  /** Ordering key, e.g. the execution id: messages with one key are delivered in order (partitioning later). */
  key: string;
  /** The payload after a JSON round trip: every delivery gets its own copy, the same before and after a restart. */
  payload: T;
  /** Epoch ms at publish. */
  publishedAt: number;
  /** Delivery attempt, 1-based (1 for messages returned by read()). */
  attempt: number;
  /** The payload travelled by reference: a broker keeps it aside until GlobalBus.release (or its lifetime ends). */
  referenced?: boolean;
}

export interface PublishOptions {
  /** Also fsync the journal before resolving (default false: resolved once the write reached the OS). */
  sync?: boolean;
  /**
   * The message's id: a broker (JetStream) keeps one message per id within its duplicate window, so a replayed
   * publish is not a second message; the embedded journal ignores it.
   */
  id?: string;
}

export interface SubscribeOptions {
  /** A delivery not settled within this time is redelivered (default 30 000). */
  ackTimeoutMs?: number;
  /** Delivery attempts before a message goes to `<topic>.dead` (default 5). */
  maxAttempts?: number;
  /** Where a group that has no committed position starts (default 'earliest'); ignored for an existing group. */
  fromOffset?: 'earliest' | 'latest';
  /** Un-acknowledged deliveries this subscriber holds at a time (default 64; Kafka max.poll.records, NATS MaxAckPending). */
  maxInFlight?: number;
  /** Base of the exponential backoff before a nacked message is redelivered (default 100 ms, doubled per attempt, at most 10 s). */
  retryBackoffMs?: number;
  /**
   * Only messages whose key this accepts reach the handler; the others are acknowledged unread (a payload that
   * travelled by reference is never fetched for them). Default: every message.
   */
  keys?: (key: string) => boolean;
  /**
   * This subscriber is its group's only one (a host agent on its own work topic, its id held in the registry): what
   * an earlier, dead process of the group left unacknowledged is delivered again now, not after ackTimeoutMs, and
   * does not count against maxInFlight meanwhile. Messages it had acknowledged past its oldest open one may come
   * again too (at least once). The embedded journal is one process's: nothing of an earlier one is in flight.
   */
  sole?: boolean;
}

export interface ReadOptions {
  /** Only messages with this key. */
  key?: string;
  /** First offset to consider (default 0). */
  fromOffset?: number;
  /** At most this many messages (default 1000); page on with fromOffset = last offset + 1. */
  limit?: number;
}

export interface GlobalBus {
  /** Appends durably (resolves once written to the journal file; `sync: true` also fsyncs); returns the offset. */
  publish<T>(topic: string, key: string, payload: T, options?: PublishOptions): Promise<number>;
  /**
   * A consumer group receives each message of the topic once (competing consumers in the group); a message not
   * acknowledged within ackTimeoutMs (or whose consumer nacks, or is closed) is redelivered with attempt+1, up to
   * maxAttempts, then goes to `<topic>.dead`. The handler's promise resolving acknowledges the message; a rejection
   * or a throw is a nack. Messages with one key are delivered one at a time, in offset order, per group.
   */
  subscribe<T>(topic: string, group: string, handler: (m: BusMessage<T>) => Promise<void> | void, options?: SubscribeOptions): Promise<Subscription>;
  /** Messages of a topic (optionally only for one key), for recovery and inspection. */
  read<T>(topic: string, options?: ReadOptions): Promise<BusMessage<T>[]>;
  /**
   * The message published to `topic` under `key` with id `id` is needed by nobody any more: a broker deletes the
   * payload it kept aside for it (one too large for a message travels by reference, docs/distributed.md); the
   * message itself stays. The embedded journal keeps every payload inline: nothing to do.
   */
  release(topic: string, key: string, id: string): Promise<void>;
  close(): Promise<void>;
}

export interface Subscription {
  /** Stops deliveries to this subscriber; its un-acknowledged messages go to other members of the group, or to its next subscriber. */
  close(): Promise<void>;
}

/** Why a message was given up on. */
/** 'malformed': the payload did not parse (a broker message written by something else); it is never redelivered. */
/** 'lost': the payload travelled by reference and its object is gone (released or expired); it cannot come back. */
export type DeadLetterReason = 'nack' | 'timeout' | 'closed' | 'malformed' | 'lost';

/** The payload of a message on `<topic>.dead` (published with the original key). */
export interface DeadLetter<T = unknown> {
  topic: string;
  group: string;
  offset: number;
  key: string;
  publishedAt: number;
  /** The attempt that failed last (= maxAttempts of the subscriber that failed it). */
  attempts: number;
  reason: DeadLetterReason;
  /** The handler's error message for 'nack'. */
  error?: string;
  payload: T;
}

export function deadLetterTopic(topic: string): string {
  return `${topic}.dead`;
}

/** Topic and group names: letters, digits, '.', '-', '_' (they become file names; '~' separates them on disk). */
const NAME = /^[A-Za-z0-9._-]+$/;
export const MAX_TOPIC_LENGTH = 128;
export const MAX_GROUP_LENGTH = 100;
export const MAX_KEY_LENGTH = 1024;

export function checkName(kind: 'topic' | 'group', name: unknown): asserts name is string {
  const max = kind === 'topic' ? MAX_TOPIC_LENGTH : MAX_GROUP_LENGTH;
  if (typeof name !== 'string' || !NAME.test(name) || name.length > max) {
    throw new MfError('MF_BAD_REQUEST', `bad ${kind} name ${JSON.stringify(name)}: use 1 to ${max} letters, digits, '.', '-' or '_'`, { [kind]: name });
  }
}

export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length > MAX_KEY_LENGTH) {
    throw new MfError('MF_BAD_REQUEST', `a bus message key must be a string of at most ${MAX_KEY_LENGTH} characters`, { key: typeof key === 'string' ? key.slice(0, 64) : typeof key });
  }
}
