/**
 * The global storage tier: one durable key-value store per app, in the platform's data directory. Each store is
 * an in-memory map backed by an append-only journal (one JSON line per put, delete or increment); reading the
 * journal at open rebuilds the map, and a journal much larger than the live data is compacted on open.
 * Writes to one store are applied in order; an increment is atomic because it is applied by this one process.
 */
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MfError } from '../errors.js';
import type { GlobalTier, StorageOp, StorageResult, StoredValue } from './types.js';
import { checkOp } from './types.js';

type JournalEntry = { k: string; v: StoredValue } | { k: string; d: true };

/** Compact on open when the journal holds this many times more entries than live keys (and at least 1000). */
const COMPACT_FACTOR = 4;

export class AppStore {
  private readonly data = new Map<string, StoredValue>();
  private journal: WriteStream | null = null;
  private entries = 0;

  private constructor() {}

  static async open(dir: string): Promise<AppStore> {
    const store = new AppStore();
    await mkdir(dir, { recursive: true });
    const path = join(dir, 'journal.jsonl');
    if (existsSync(path)) {
      const text = await readFile(path, 'utf8');
      for (const line of text.split('\n')) {
        if (line === '') continue;
        let entry: JournalEntry;
        try {
          entry = JSON.parse(line) as JournalEntry;
        } catch {
          continue; // a torn last line from a crash mid-write: the write was never acknowledged
        }
        store.entries++;
        if ('d' in entry) store.data.delete(entry.k);
        else store.data.set(entry.k, entry.v);
      }
      if (store.entries >= 1000 && store.entries > COMPACT_FACTOR * store.data.size) await store.compact(path);
    }
    store.journal = createWriteStream(path, { flags: 'a' });
    return store;
  }

  /** Applies one operation; resolves once a change is handed to the journal. */
  async apply(op: StorageOp): Promise<StorageResult> {
    checkOp(op);
    switch (op.op) {
      case 'get':
        return this.data.get(op.key) ?? null;
      case 'list':
        return [...this.data.keys()].filter((k) => k.startsWith(op.prefix)).sort();
      case 'put':
        this.data.set(op.key, op.value);
        await this.append({ k: op.key, v: op.value });
        return undefined;
      case 'delete': {
        const had = this.data.delete(op.key);
        if (had) await this.append({ k: op.key, d: true });
        return had;
      }
      case 'increment': {
        const current = this.data.get(op.key);
        const base = current === undefined ? 0 : 'json' in current && typeof current.json === 'number' ? current.json : null;
        if (base === null) throw new MfError('MF_BAD_REQUEST', `"${op.key}" does not hold a number, so it cannot be incremented`, { key: op.key });
        const next = base + op.by;
        const value: StoredValue = { json: next };
        this.data.set(op.key, value);
        await this.append({ k: op.key, v: value });
        return next;
      }
    }
  }

  async close(): Promise<void> {
    const journal = this.journal;
    this.journal = null;
    if (journal) await new Promise<void>((resolve) => journal.end(() => resolve()));
  }

  private append(entry: JournalEntry): Promise<void> {
    const journal = this.journal;
    if (!journal) return Promise.reject(new MfError('MF_STORAGE_FAILED', 'the global store is closed'));
    this.entries++;
    return new Promise((resolve, reject) => {
      journal.write(JSON.stringify(entry) + '\n', (err) => (err ? reject(new MfError('MF_STORAGE_FAILED', `could not write the storage journal: ${err.message}`)) : resolve()));
    });
  }

  private async compact(path: string): Promise<void> {
    const lines = [...this.data].map(([k, v]) => JSON.stringify({ k, v }) + '\n').join('');
    await writeFile(path + '.tmp', lines);
    await rename(path + '.tmp', path);
    this.entries = this.data.size;
  }
}

/** The global tier for every app on a platform: stores opened on first use, under `<root>/<app>/`. */
export class GlobalStorage implements GlobalTier {
  private readonly stores = new Map<string, Promise<AppStore>>();

  constructor(private readonly root: string) {}

  async apply(app: string, op: StorageOp): Promise<StorageResult> {
    let store = this.stores.get(app);
    if (!store) {
      store = AppStore.open(join(this.root, app));
      this.stores.set(app, store);
    }
    return (await store).apply(op);
  }

  /** Closes one app's store and deletes its data (a remote platform's app removed by its adapter). */
  async drop(app: string): Promise<void> {
    const store = this.stores.get(app);
    this.stores.delete(app);
    if (store) await (await store).close();
    await rm(join(this.root, app), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    const stores = [...this.stores.values()];
    this.stores.clear();
    await Promise.all(stores.map(async (s) => (await s).close()));
  }
}
