/**
 * One consumer group on one topic of the JournalBus, with its members (the subscribers in this process).
 *
 * The group takes messages from the topic in offset order (its cursor). A message is *unsettled* from then until it
 * is acknowledged or dead-lettered. Messages with one key are handled one at a time: while a key's message is
 * unsettled (in flight, or waiting for a retry), later messages of that key wait behind it, which keeps per-key order
 * across redeliveries, as a Kafka partition does (but per key, without blocking other keys). The committed position
 * is the lowest unsettled offset (or the cursor); it is journalled with the offsets settled out of order above it,
 * so that a restart redelivers exactly the unsettled messages.
 */
import { toMfError, type MfError } from '../../errors.js';
import { Deque } from './deque.js';
import type { GroupPosition, OffsetsJournal, OffsetsLine, OffsetsSource } from './offsets-journal.js';
import type { StoredMessage, TopicJournal } from './topic-journal.js';
import type { BusMessage, DeadLetter, DeadLetterReason } from './types.js';

export interface MemberOptions {
  ackTimeoutMs: number;
  maxAttempts: number;
  maxInFlight: number;
  retryBackoffMs: number;
}

interface Member extends MemberOptions {
  readonly handler: (m: BusMessage<unknown>) => unknown;
  inFlight: number;
  closed: boolean;
}

interface Entry {
  readonly msg: StoredMessage;
  readonly attempt: number;
}

interface Delivery {
  readonly entry: Entry;
  readonly member: Member;
  readonly timer: NodeJS.Timeout;
}

export interface GroupHooks {
  /** Publishes a dead letter to `<topic>.dead`; resolves once it is in the journal. */
  deadLetter(letter: DeadLetter): Promise<unknown>;
  onError(err: MfError): void;
}

/** Messages a group takes ahead of its committed position; bounds its memory when a key or a consumer is stuck. */
const MAX_UNSETTLED = 10_000;
/** Messages read from the file at a time by a group that is behind the topic's in-memory window. */
const BACKLOG_PAGE = 512;
const MAX_BACKOFF_MS = 10_000;
/** Wait before retrying a failed file read or dead-letter publish. */
const RETRY_IO_MS = 1000;

export function toBusMessage<T>(topic: string, m: StoredMessage, attempt: number): BusMessage<T> {
  return {
    topic,
    offset: m.offset,
    key: m.key,
    payload: (m.payloadJson === undefined ? undefined : JSON.parse(m.payloadJson)) as T,
    publishedAt: m.publishedAt,
    attempt,
  };
}

export class ConsumerGroup implements OffsetsSource {
  private cursor: number;
  /** Offsets taken from the topic and not yet below the committed position, in order. */
  private readonly taken = new Deque<number>();
  /** Offsets in `taken` settled out of order. */
  private readonly settledAhead = new Set<number>();
  /** Offsets settled before a restart, at or above the committed position: skipped when the cursor reaches them. */
  private readonly preSettled: Set<number>;
  /** Last failed attempt per unsettled offset. */
  private readonly failures: Map<number, number>;
  /** Keys with an unsettled message, and the messages of that key waiting behind it. */
  private readonly keys = new Map<string, Deque<Entry>>();
  private readonly ready = new Deque<Entry>();
  private readonly inflight = new Map<number, Delivery>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private members: Member[] = [];
  private nextMember = 0;
  private readonly backlog = new Deque<StoredMessage>();
  private loading = false;
  private unsettled = 0;
  private pumping = false;
  private again = false;
  private pumpScheduled = false;
  private closed = false;
  private journal: OffsetsJournal | null = null;
  // Changes since the last journal line.
  private lastCommitted: number;
  private newlySettled: number[] = [];
  private newFailures = new Map<number, number>();
  private readonly stopListening: () => void;

  constructor(
    readonly topicName: string,
    readonly group: string,
    private readonly topic: TopicJournal,
    position: GroupPosition,
    fromOffset: 'earliest' | 'latest',
    private readonly hooks: GroupHooks,
  ) {
    this.cursor = position.committed ?? (fromOffset === 'latest' ? topic.nextOffset : 0);
    this.lastCommitted = position.committed ?? -1; // a new group writes its start position at once
    this.preSettled = position.settled;
    this.failures = position.failures;
    this.stopListening = topic.onVisible(() => this.pump());
  }

  attach(journal: OffsetsJournal): void {
    this.journal = journal;
  }

  /** The lowest offset that is not settled: where the group resumes after a restart. */
  get committed(): number {
    return this.taken.peek() ?? this.cursor;
  }

  /** Adds a subscriber; returns the function that removes it (its un-acknowledged messages are redelivered). */
  addMember(handler: (m: BusMessage<unknown>) => unknown, options: MemberOptions): () => void {
    const member: Member = { ...options, handler, inFlight: 0, closed: false };
    this.members.push(member);
    this.schedulePump();
    return () => {
      if (member.closed) return;
      member.closed = true;
      this.members = this.members.filter((m) => m !== member);
      // Newest first: each goes to the front of the ready queue, so they come back in offset order.
      for (const d of [...this.inflight.values()].sort((x, y) => y.entry.msg.offset - x.entry.msg.offset)) if (d.member === member) this.fail(d, 'closed');
      this.schedulePump();
    };
  }

  /** Stops the group (the bus is closing): in-flight messages count as failed attempts, and the journal is flushed. */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopListening();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const d of this.inflight.values()) {
      clearTimeout(d.timer);
      this.recordFailure(d.entry);
    }
    this.inflight.clear();
    this.members = [];
    await this.journal?.close();
  }

  delta(): OffsetsLine | null {
    const c = this.committed;
    const line: OffsetsLine = {};
    if (c !== this.lastCommitted) line.c = c;
    const a = this.newlySettled.filter((o) => o >= c);
    if (a.length > 0) line.a = a;
    const f: Record<string, number> = {};
    let anyFailure = false;
    for (const [o, n] of this.newFailures) {
      if (o >= c && this.failures.has(o)) {
        f[o] = n;
        anyFailure = true;
      }
    }
    if (anyFailure) line.f = f;
    this.lastCommitted = c;
    this.newlySettled = [];
    this.newFailures.clear();
    return line.c === undefined && line.a === undefined && line.f === undefined ? null : line;
  }

  snapshot(): OffsetsLine {
    const c = this.committed;
    this.lastCommitted = c;
    this.newlySettled = [];
    this.newFailures.clear();
    const a = [...this.settledAhead, ...this.preSettled].filter((o) => o >= c).sort((x, y) => x - y);
    const f: Record<string, number> = {};
    for (const [o, n] of this.failures) if (o >= c) f[o] = n;
    return { c, ...(a.length > 0 ? { a } : {}), ...(Object.keys(f).length > 0 ? { f } : {}) };
  }

  /** Hands ready messages to members with room. Handlers run after the loop, so that they cannot re-enter it. */
  pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    const started: Delivery[] = [];
    try {
      do {
        this.again = false;
        while (this.members.some((m) => m.inFlight < m.maxInFlight)) {
          if (this.ready.length === 0 && !this.pull()) break;
          const member = this.pickMember() as Member;
          const entry = this.ready.shift() as Entry;
          // Failed maxAttempts times before a restart (the dead letter was not journalled as settled yet).
          if (entry.attempt > member.maxAttempts) this.deadLetter(entry, 'nack', undefined);
          else started.push(this.start(member, entry));
        }
      } while (this.again);
    } finally {
      this.pumping = false;
    }
    for (const d of started) this.invoke(d);
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pickMember(): Member | undefined {
    const n = this.members.length;
    for (let i = 0; i < n; i++) {
      const m = this.members[(this.nextMember + i) % n] as Member;
      if (m.inFlight < m.maxInFlight) {
        this.nextMember = (this.nextMember + i + 1) % n;
        return m;
      }
    }
    return undefined;
  }

  /** Takes messages from the topic until one is ready to deliver; false when none can be now. */
  private pull(): boolean {
    while (this.ready.length === 0) {
      if (this.unsettled >= MAX_UNSETTLED) return false;
      let msg: StoredMessage | undefined;
      while (this.backlog.length > 0) {
        const m = this.backlog.shift() as StoredMessage;
        if (m.offset >= this.cursor) {
          msg = m;
          break;
        }
      }
      if (!msg) {
        if (this.cursor >= this.topic.visibleEnd) return false;
        const m = this.topic.fromWindow(this.cursor);
        if (m === 'evicted') {
          this.loadBacklog();
          return false;
        }
        if (!m || m.offset >= this.topic.visibleEnd) return false;
        msg = m;
      }
      this.cursor = msg.offset + 1;
      if (this.preSettled.delete(msg.offset)) continue;
      this.taken.push(msg.offset);
      this.unsettled++;
      const entry: Entry = { msg, attempt: (this.failures.get(msg.offset) ?? 0) + 1 };
      const waiting = this.keys.get(msg.key);
      if (waiting) waiting.push(entry);
      else {
        this.keys.set(msg.key, new Deque());
        this.ready.push(entry);
      }
    }
    return true;
  }

  private loadBacklog(): void {
    if (this.loading) return;
    this.loading = true;
    const from = this.cursor;
    this.topic.read(from, BACKLOG_PAGE).then(
      (page) => {
        this.loading = false;
        if (this.closed) return;
        if (page.length === 0 && this.cursor === from) {
          // Nothing readable between the cursor and the in-memory window (lines lost to corruption): skip the gap.
          this.cursor = Math.max(this.cursor, Math.min(this.topic.windowStart, this.topic.visibleEnd));
        }
        for (const m of page) this.backlog.push(m);
        this.schedulePump();
      },
      (err: unknown) => {
        this.loading = false;
        if (this.closed) return;
        this.hooks.onError(toMfError(err, 'MF_STORAGE_FAILED'));
        this.later(RETRY_IO_MS, () => this.schedulePump());
      },
    );
  }

  private start(member: Member, entry: Entry): Delivery {
    const d: Delivery = { entry, member, timer: setTimeout(() => this.fail(d, 'timeout'), member.ackTimeoutMs) };
    member.inFlight++;
    this.inflight.set(entry.msg.offset, d);
    return d;
  }

  private invoke(d: Delivery): void {
    if (this.inflight.get(d.entry.msg.offset) !== d) return; // failed meanwhile (its member closed)
    let result: unknown;
    try {
      result = d.member.handler(toBusMessage(this.topicName, d.entry.msg, d.entry.attempt));
    } catch (err) {
      this.done(d, false, err);
      return;
    }
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(
        () => this.done(d, true),
        (err: unknown) => this.done(d, false, err),
      );
    } else this.done(d, true);
  }

  private done(d: Delivery, ok: boolean, err?: unknown): void {
    if (this.closed || this.inflight.get(d.entry.msg.offset) !== d) return; // a stale delivery: it timed out or its member closed
    if (ok) {
      this.release(d);
      this.settle(d.entry);
    } else this.fail(d, 'nack', err);
    this.schedulePump();
  }

  private release(d: Delivery): void {
    clearTimeout(d.timer);
    this.inflight.delete(d.entry.msg.offset);
    d.member.inFlight--;
  }

  private fail(d: Delivery, reason: DeadLetterReason, err?: unknown): void {
    if (this.closed || this.inflight.get(d.entry.msg.offset) !== d) return;
    this.release(d);
    const { msg, attempt } = d.entry;
    this.recordFailure(d.entry);
    if (attempt >= d.member.maxAttempts) {
      this.deadLetter(d.entry, reason, err);
      return;
    }
    const retry: Entry = { msg, attempt: attempt + 1 };
    if (reason === 'nack') {
      const delay = Math.min(d.member.retryBackoffMs * 2 ** (attempt - 1), MAX_BACKOFF_MS);
      this.later(delay, () => {
        this.ready.unshift(retry);
        this.pump();
      });
    } else {
      // The ack timeout already waited; a closed member is not the message's fault: redeliver at once.
      this.ready.unshift(retry);
      this.schedulePump();
    }
  }

  private recordFailure(entry: Entry): void {
    this.failures.set(entry.msg.offset, entry.attempt);
    this.newFailures.set(entry.msg.offset, entry.attempt);
    this.journal?.touch();
  }

  /** Publishes the message to `<topic>.dead`, then settles it; retried while the dead-letter topic cannot be written. */
  private deadLetter(entry: Entry, reason: DeadLetterReason, err: unknown): void {
    const { msg } = entry;
    let payload: unknown;
    try {
      payload = msg.payloadJson === undefined ? undefined : JSON.parse(msg.payloadJson);
    } catch {
      payload = msg.payloadJson; // an unreadable payload travels as its text
    }
    const letter: DeadLetter = {
      topic: this.topicName,
      group: this.group,
      offset: msg.offset,
      key: msg.key,
      publishedAt: msg.publishedAt,
      attempts: entry.attempt,
      reason,
      ...(reason === 'nack' && err !== undefined ? { error: err instanceof Error ? err.message : String(err) } : {}),
      payload,
    };
    this.hooks.deadLetter(letter).then(
      () => {
        if (this.closed) return;
        this.settle(entry);
        this.schedulePump();
      },
      (e: unknown) => {
        if (this.closed) return;
        this.hooks.onError(toMfError(e, 'MF_STORAGE_FAILED'));
        this.later(RETRY_IO_MS, () => this.deadLetter(entry, reason, err));
      },
    );
  }

  private settle(entry: Entry): void {
    const o = entry.msg.offset;
    this.failures.delete(o);
    this.unsettled--;
    if (this.taken.peek() === o) {
      this.taken.shift();
      for (let front = this.taken.peek(); front !== undefined && this.settledAhead.delete(front); front = this.taken.peek()) this.taken.shift();
    } else {
      this.settledAhead.add(o);
      this.newlySettled.push(o);
    }
    const waiting = this.keys.get(entry.msg.key);
    const next = waiting?.shift();
    if (next) this.ready.push(next);
    else this.keys.delete(entry.msg.key);
    this.journal?.touch();
  }

  private later(ms: number, fn: () => void): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(t);
  }
}

