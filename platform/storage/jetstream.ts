/**
 * JetStreamStorage: the global storage tier on a NATS JetStream broker (config `broker`). Layout (docs/distributed.md):
 *   KV bucket     mf-<app>     one entry per key: the stored value as JSON, or a pointer to the object store
 *   object store  mfobj-<app>  values larger than LARGE_VALUE_BYTES (a KV entry must fit in one NATS message)
 * Keys are escaped into KV's alphabet by brokerToken, which keeps prefixes (list is a prefix scan). An increment is a
 * compare-and-set on the entry's revision, retried when another writer got there first, so concurrent increments
 * from any number of processes each count once.
 */
import { JSONCodec, type KV, type NatsConnection, type ObjectStore } from 'nats';
import { brokerToken, fromBrokerToken } from '../broker.js';
import { MfError } from '../errors.js';
import { checkOp, type GlobalTier, type StorageOp, type StorageResult, type StoredValue } from './types.js';

/** Values above this many bytes (as JSON) go to the object store; NATS's default message limit is 1 MiB. */
export const LARGE_VALUE_BYTES = 256 * 1024;
/** Compare-and-set rounds an increment tries before it reports contention. */
const MAX_CAS_ROUNDS = 1000;

/** What a KV entry holds: the value, or a note that it lives in the object store. */
type Entry = { v: StoredValue } | { obj: true };
const entries = JSONCodec<Entry>();

interface AppBuckets {
  kv: KV;
  objects: ObjectStore;
}

export class JetStreamStorage implements GlobalTier {
  private readonly buckets = new Map<string, Promise<AppBuckets>>();

  /** Storage on an open connection; the caller closes the connection after the storage. */
  /** `replicas`: copies of each KV bucket and object store in a JetStream cluster; 1 on a single server. */
  constructor(
    private readonly nc: NatsConnection,
    private readonly options: { replicas?: number } = {},
  ) {}

  async apply(app: string, op: StorageOp): Promise<StorageResult> {
    checkOp(op);
    const { kv, objects } = await this.open(app);
    return storageCall(op.op, async () => {
      switch (op.op) {
        case 'get': {
          const e = await kv.get(brokerToken(op.key));
          return e && e.operation === 'PUT' ? this.read(objects, op.key, entries.decode(e.value)) : null;
        }
        case 'list': {
          const prefix = brokerToken(op.prefix);
          const keys: string[] = [];
          for await (const k of await kv.keys()) if (k.startsWith(prefix)) keys.push(fromBrokerToken(k));
          return keys.sort();
        }
        case 'put': {
          const text = JSON.stringify({ v: op.value });
          if (Buffer.byteLength(text) <= LARGE_VALUE_BYTES) {
            await kv.put(brokerToken(op.key), Buffer.from(text));
          } else {
            // The object first: a reader that sees the pointer finds the object.
            await objects.putBlob({ name: brokerToken(op.key) }, Buffer.from(text));
            await kv.put(brokerToken(op.key), entries.encode({ obj: true }));
          }
          return undefined;
        }
        case 'delete': {
          const e = await kv.get(brokerToken(op.key));
          if (!e || e.operation !== 'PUT') return false;
          await kv.delete(brokerToken(op.key));
          if ('obj' in entries.decode(e.value)) await objects.delete(brokerToken(op.key)).catch(() => undefined);
          return true;
        }
        case 'increment':
          return this.increment(kv, objects, op.key, op.by);
      }
    });
  }

  async drop(app: string): Promise<void> {
    const { kv, objects } = await this.open(app);
    this.buckets.delete(app);
    await storageCall('drop', async () => {
      await kv.destroy();
      await objects.destroy();
    });
  }

  async close(): Promise<void> {
    this.buckets.clear();
  }

  private async increment(kv: KV, objects: ObjectStore, key: string, by: number): Promise<number> {
    const k = brokerToken(key);
    for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
      const e = await kv.get(k);
      const live = e !== null && e.operation === 'PUT';
      const current = live ? await this.read(objects, key, entries.decode(e.value)) : null;
      const base = current === null ? 0 : 'json' in current && typeof current.json === 'number' ? current.json : null;
      if (base === null) throw new MfError('MF_BAD_REQUEST', `"${key}" does not hold a number, so it cannot be incremented`, { key });
      const next = base + by;
      const value = entries.encode({ v: { json: next } });
      try {
        // create() fails if the key exists, update() if its revision moved on: either way another writer won this round.
        if (e === null) await kv.create(k, value);
        else await kv.update(k, value, e.revision);
        return next;
      } catch (err) {
        if (!isRevisionConflict(err)) throw err;
      }
    }
    throw new MfError('MF_STORAGE_FAILED', `increment of "${key}" lost ${MAX_CAS_ROUNDS} compare-and-set rounds to other writers`, { key });
  }

  private async read(objects: ObjectStore, key: string, entry: Entry): Promise<StoredValue | null> {
    if ('v' in entry) return entry.v;
    const blob = await objects.getBlob(brokerToken(key));
    return blob === null ? null : (JSON.parse(Buffer.from(blob).toString('utf8')) as { v: StoredValue }).v;
  }

  private open(app: string): Promise<AppBuckets> {
    let b = this.buckets.get(app);
    if (!b) {
      const name = brokerToken(app);
      const js = this.nc.jetstream();
      const replicas = this.options.replicas ?? 1;
      b = storageCall('open the buckets', async () => ({ kv: await js.views.kv(`mf-${name}`, { replicas }), objects: await js.views.os(`mfobj-${name}`, { replicas }) }));
      b.catch(() => this.buckets.delete(app));
      this.buckets.set(app, b);
    }
    return b;
  }
}

/** JetStream's answer when an expected revision (or "no such key" for create) does not hold. */
function isRevisionConflict(err: unknown): boolean {
  const text = String((err as Error)?.message ?? err);
  return /wrong last sequence|key exists/i.test(text);
}

async function storageCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof MfError) throw err;
    throw new MfError('MF_STORAGE_FAILED', `the broker's storage could not ${what}: ${(err as Error).message}`);
  }
}
