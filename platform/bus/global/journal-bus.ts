/**
 * JournalBus: the embedded durable global bus. One directory holds
 *   topics/<topic>.jsonl           one append-only journal per topic (topic-journal.ts)
 *   offsets/<topic>~<group>.jsonl  the committed position of each consumer group (offsets-journal.ts)
 *   LOCK                           the pid of the process that has the directory open
 * Consumers are the subscribers in this process (the distributed implementation comes with a broker). See docs/bus.md.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MfError } from '../../errors.js';
import { jsonTextOf } from '../../json-text.js';
import { ConsumerGroup, toBusMessage, type MemberOptions } from './consumer-group.js';
import { OffsetsJournal } from './offsets-journal.js';
import { TopicJournal } from './topic-journal.js';
import {
  checkKey,
  checkName,
  deadLetterTopic,
  type BusMessage,
  type DeadLetter,
  type GlobalBus,
  type PublishOptions,
  type ReadOptions,
  type SubscribeOptions,
  type Subscription,
} from './types.js';

export interface JournalBusOptions {
  /** Messages per topic kept in memory besides the unsettled ones; older ones are read from the file (default 1024). */
  memoryWindow?: number;
  /** Errors no caller can receive (writing acknowledgements or dead letters); default: process.emitWarning. */
  onError?: (err: MfError) => void;
}

const DEFAULTS = { ackTimeoutMs: 30_000, maxAttempts: 5, maxInFlight: 64, retryBackoffMs: 100, fromOffset: 'earliest', sole: false } as const;
const SUBSCRIBE_KEYS = new Set(['ackTimeoutMs', 'maxAttempts', 'fromOffset', 'maxInFlight', 'retryBackoffMs', 'keys', 'sole']);
const DEFAULT_READ_LIMIT = 1000;

/** Directories opened by a JournalBus of this process (the LOCK file guards against other processes). */
const openDirs = new Set<string>();

export class JournalBus implements GlobalBus {
  private readonly topics = new Map<string, TopicJournal>();
  private readonly opening = new Map<string, Promise<TopicJournal>>();
  private readonly groups = new Map<string, Promise<ConsumerGroup>>();
  private readonly memoryWindow: number;
  private readonly onError: (err: MfError) => void;
  private ready: Promise<void> | null = null;
  private locked: string | null = null;
  private closing: Promise<void> | null = null;

  /** Nothing is touched on disk until the first call. */
  constructor(
    readonly dir: string,
    options: JournalBusOptions = {},
  ) {
    const w = options.memoryWindow ?? 1024;
    if (!Number.isInteger(w) || w < 0) throw new MfError('MF_BAD_REQUEST', 'memoryWindow must be an integer >= 0', { memoryWindow: w });
    this.memoryWindow = w;
    this.onError = options.onError ?? ((err) => process.emitWarning(err.message, { code: err.code }));
  }

  publish<T>(topic: string, key: string, payload: T, options?: PublishOptions): Promise<number> {
    try {
      this.checkOpen();
      checkName('topic', topic);
      checkKey(key);
      return this.append(topic, key, payload, options?.sync === true);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async subscribe<T>(topic: string, group: string, handler: (m: BusMessage<T>) => Promise<void> | void, options?: SubscribeOptions): Promise<Subscription> {
    this.checkOpen();
    checkName('topic', topic);
    checkName('group', group);
    if (typeof handler !== 'function') throw new MfError('MF_BAD_REQUEST', 'subscribe needs a handler function', { topic, group });
    const { fromOffset, keys, ...memberOptions } = resolveSubscribeOptions(options);
    const g = await this.group(topic, group, fromOffset);
    this.checkOpen();
    const handle = handler as (m: BusMessage<unknown>) => unknown;
    const remove = g.addMember(keys === null ? handle : (m) => (keys(m.key) ? handle(m) : undefined), memberOptions);
    return {
      close: async () => remove(),
    };
  }

  async read<T>(topic: string, options: ReadOptions = {}): Promise<BusMessage<T>[]> {
    this.checkOpen();
    checkName('topic', topic);
    const { key, fromOffset = 0, limit = DEFAULT_READ_LIMIT } = options;
    if (key !== undefined) checkKey(key);
    if (!Number.isSafeInteger(fromOffset) || fromOffset < 0) throw new MfError('MF_BAD_REQUEST', 'read: fromOffset must be an integer >= 0', { fromOffset });
    if (!Number.isSafeInteger(limit) || limit < 0) throw new MfError('MF_BAD_REQUEST', 'read: limit must be an integer >= 0', { limit });
    const journal = this.topics.get(topic) ?? (await this.topic(topic));
    const stored = await journal.read(fromOffset, limit, key);
    return stored.map((m) => toBusMessage<T>(topic, m, 1));
  }

  /** Payloads stay inline in the journal: nothing is kept aside to release. */
  async release(topic: string, key: string, _id: string): Promise<void> {
    checkName('topic', topic);
    checkKey(key);
  }

  /** Stops deliveries, journals every group's position, ends the topic journals and releases the directory. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const groups = await Promise.allSettled([...this.groups.values()]);
      await Promise.all(groups.map((g) => (g.status === 'fulfilled' ? g.value.shutdown() : undefined)));
      const topics = await Promise.allSettled([...this.opening.values()]);
      await Promise.all(topics.map((t) => (t.status === 'fulfilled' ? t.value.close() : undefined)));
      await this.ready?.catch(() => undefined);
      if (this.locked !== null) {
        openDirs.delete(this.locked);
        await rm(join(this.dir, 'LOCK'), { force: true }).catch(() => undefined);
        this.locked = null;
      }
    })();
    return this.closing;
  }

  private append(topic: string, key: string, payload: unknown, sync: boolean): Promise<number> {
    let json: string | undefined;
    try {
      json = payload === undefined ? undefined : jsonTextOf(payload);
    } catch (err) {
      throw new MfError('MF_BAD_REQUEST', `the payload cannot be serialised to JSON: ${(err as Error).message}`, { topic, key });
    }
    const journal = this.topics.get(topic);
    if (journal) return journal.append(key, json, sync);
    // Every publish before the topic is open waits on the same promise, so they keep their call order.
    return this.topic(topic).then((j) => j.append(key, json, sync));
  }

  private topic(topic: string): Promise<TopicJournal> {
    let p = this.opening.get(topic);
    if (!p) {
      p = this.lock().then(() => TopicJournal.open(topic, join(this.dir, 'topics', `${topic}.jsonl`), this.memoryWindow));
      p.then(
        (j) => {
          if (this.closing) void j.close();
          else this.topics.set(topic, j);
        },
        () => this.opening.delete(topic), // let a later call try again
      );
      this.opening.set(topic, p);
    }
    return p;
  }

  private group(topic: string, group: string, fromOffset: 'earliest' | 'latest'): Promise<ConsumerGroup> {
    const id = `${topic}~${group}`;
    let p = this.groups.get(id);
    if (!p) {
      p = (async () => {
        const journal = await this.topic(topic);
        const path = join(this.dir, 'offsets', `${id}.jsonl`);
        const position = await OffsetsJournal.load(path);
        const g = new ConsumerGroup(topic, group, journal, position, fromOffset, {
          deadLetter: (letter: DeadLetter) => this.deadLetter(letter),
          onError: this.onError,
        });
        try {
          g.attach(await OffsetsJournal.open(path, g, this.onError));
        } catch (err) {
          await g.shutdown();
          throw err;
        }
        if (this.closing) {
          // close() began while this group was opening, and did not see it.
          await g.shutdown();
          this.checkOpen();
        }
        return g;
      })();
      p.catch(() => this.groups.delete(id));
      this.groups.set(id, p);
    }
    return p;
  }

  private deadLetter(letter: DeadLetter): Promise<number> {
    try {
      this.checkOpen();
      // Not checkName: `<topic>.dead` may be a few characters over the limit for user-chosen names.
      return this.append(deadLetterTopic(letter.topic), letter.key, letter, false);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Creates the directories and takes the directory's LOCK (a stale one, of a dead process, is taken over). */
  private lock(): Promise<void> {
    this.ready ??= (async () => {
      const dir = resolve(this.dir);
      if (openDirs.has(dir)) throw new MfError('MF_STORAGE_FAILED', `the bus directory ${dir} is already open in this process`, { dir });
      openDirs.add(dir);
      try {
        await mkdir(join(dir, 'topics'), { recursive: true });
        await mkdir(join(dir, 'offsets'), { recursive: true });
        const lockPath = join(dir, 'LOCK');
        try {
          await writeFile(lockPath, String(process.pid), { flag: 'wx' });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          const pid = Number((await readFile(lockPath, 'utf8')).trim());
          if (pid !== process.pid && isAlive(pid)) throw new MfError('MF_STORAGE_FAILED', `the bus directory ${dir} is in use by process ${pid}`, { dir, pid });
          await writeFile(lockPath, String(process.pid));
        }
      } catch (err) {
        openDirs.delete(dir);
        this.ready = null;
        if (err instanceof MfError) throw err;
        throw new MfError('MF_STORAGE_FAILED', `could not open the bus directory ${dir}: ${(err as Error).message}`, { dir }, { cause: err });
      }
      this.locked = dir;
    })();
    return this.ready;
  }

  private checkOpen(): void {
    if (this.closing) throw new MfError('MF_PLATFORM_CLOSED', 'the global bus is closed', { dir: this.dir });
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function resolveSubscribeOptions(options: SubscribeOptions = {}): MemberOptions & { fromOffset: 'earliest' | 'latest'; sole: boolean; keys: ((key: string) => boolean) | null } {
  const bad = (field: string, rule: string): never => {
    throw new MfError('MF_BAD_REQUEST', `subscribe: ${field} ${rule}`, { [field]: (options as Record<string, unknown>)[field] });
  };
  for (const k of Object.keys(options)) if (!SUBSCRIBE_KEYS.has(k)) bad(k, `is not an option (use ${[...SUBSCRIBE_KEYS].join(', ')})`);
  const o = { ...DEFAULTS, ...stripUndefined(options) };
  if (typeof o.ackTimeoutMs !== 'number' || !(o.ackTimeoutMs > 0) || o.ackTimeoutMs > 2 ** 31 - 1) bad('ackTimeoutMs', 'must be a number of ms > 0 (at most 2^31-1)');
  if (!Number.isInteger(o.maxAttempts) || o.maxAttempts < 1) bad('maxAttempts', 'must be an integer >= 1');
  if (!Number.isInteger(o.maxInFlight) || o.maxInFlight < 1) bad('maxInFlight', 'must be an integer >= 1');
  if (typeof o.retryBackoffMs !== 'number' || !(o.retryBackoffMs >= 0) || !Number.isFinite(o.retryBackoffMs)) bad('retryBackoffMs', 'must be a number of ms >= 0');
  if (o.fromOffset !== 'earliest' && o.fromOffset !== 'latest') bad('fromOffset', "must be 'earliest' or 'latest'");
  if (typeof o.sole !== 'boolean') bad('sole', 'must be a boolean');
  if (o.keys !== undefined && typeof o.keys !== 'function') bad('keys', 'must be a function of the key');
  const { keys, ...rest } = o;
  return { ...rest, keys: keys ?? null };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
