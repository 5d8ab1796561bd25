/**
 * The committed position of one consumer group on one topic: a small append-only file of JSON lines,
 *   {"c":<committed>,"a":[<settled offsets above it>],"f":{"<offset>":<failed attempts>}}
 * with each field optional. `c`: every offset below it is settled (acknowledged or dead-lettered); `a`: offsets at or
 * above `c` settled out of order; `f`: the last failed attempt of a still unsettled message, so that attempt numbers
 * (and the way to the dead-letter topic) survive a restart. Lines are written in batches off the hot path; the file
 * is rewritten as one snapshot line on open and whenever it grows long.
 */
import { open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { MfError } from '../../errors.js';

export interface OffsetsLine {
  c?: number;
  a?: number[];
  f?: Record<string, number>;
}

/** The state a group's journal holds. */
export interface GroupPosition {
  /** null: the group has never been created. */
  committed: number | null;
  settled: Set<number>;
  failures: Map<number, number>;
}

/** Where the lines come from: the group's changes since the last flush, and its whole state for a compaction. */
export interface OffsetsSource {
  delta(): OffsetsLine | null;
  snapshot(): OffsetsLine;
}

/** Rewrite the file as one snapshot line after this many appended lines. */
const COMPACT_AFTER = 4096;

export function applyLine(position: GroupPosition, line: OffsetsLine): void {
  if (typeof line.c === 'number' && (position.committed === null || line.c > position.committed)) position.committed = line.c;
  for (const o of line.a ?? []) position.settled.add(o);
  for (const [o, n] of Object.entries(line.f ?? {})) position.failures.set(Number(o), n);
  const c = position.committed ?? 0;
  for (const o of position.settled) if (o < c) position.settled.delete(o);
  for (const o of position.failures.keys()) if (o < c || position.settled.has(o)) position.failures.delete(o);
}

export class OffsetsJournal {
  private fh: FileHandle | null = null;
  private lines = 0;
  private scheduled = false;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private needsRewrite = false;
  private dirty = false;

  private constructor(
    private readonly path: string,
    private readonly source: OffsetsSource,
    private readonly onError: (err: MfError) => void,
  ) {}

  /** Reads a group's position (a torn last line is ignored) and compacts the file to one line. */
  static async load(path: string): Promise<GroupPosition> {
    const position: GroupPosition = { committed: null, settled: new Set(), failures: new Map() };
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return position;
      throw storageError(path, 'read', err);
    }
    for (const raw of text.split('\n')) {
      if (raw === '') continue;
      try {
        applyLine(position, JSON.parse(raw) as OffsetsLine);
      } catch {
        continue; // a torn last line from a crash mid-write: those acknowledgements are redelivered
      }
    }
    return position;
  }

  /** Starts appending; the file is first rewritten as the source's snapshot (which also drops a torn line). */
  static async open(path: string, source: OffsetsSource, onError: (err: MfError) => void): Promise<OffsetsJournal> {
    const journal = new OffsetsJournal(path, source, onError);
    try {
      await journal.rewrite();
    } catch (err) {
      throw storageError(path, 'write', err);
    }
    return journal;
  }

  /**
   * Marks the group as changed. At most one write is in flight per group: changes made meanwhile are coalesced
   * into the next line, so acknowledging costs one file write per batch, not one per message.
   */
  touch(): void {
    this.dirty = true;
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      void this.flush().finally(() => {
        this.scheduled = false;
        if (this.dirty) this.touch();
      });
    });
  }

  /** Writes what changed (serialised with every other write of this file). */
  flush(): Promise<void> {
    this.chain = this.chain.then(() => {
      this.dirty = false;
      return this.write();
    });
    return this.chain;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    const fh = this.fh;
    this.fh = null;
    await fh?.close().catch(() => undefined);
  }

  private async write(): Promise<void> {
    const fh = this.fh;
    if (!fh) return;
    const line = this.source.delta();
    if (!line && !this.needsRewrite) return;
    try {
      if (this.needsRewrite || this.lines >= COMPACT_AFTER) {
        await this.rewrite();
        this.needsRewrite = false;
      } else {
        await fh.write(JSON.stringify(line) + '\n');
        this.lines++;
      }
    } catch (err) {
      // The acknowledgements are still in memory: the next flush writes a full snapshot.
      this.needsRewrite = true;
      this.onError(storageError(this.path, 'write', err));
    }
  }

  private async rewrite(): Promise<void> {
    await writeFile(`${this.path}.tmp`, JSON.stringify(this.source.snapshot()) + '\n');
    await rename(`${this.path}.tmp`, this.path);
    const old = this.fh;
    this.fh = await open(this.path, 'a');
    this.lines = 1;
    await old?.close().catch(() => undefined);
  }
}

function storageError(path: string, what: 'read' | 'write', err: unknown): MfError {
  return new MfError('MF_STORAGE_FAILED', `could not ${what} the bus offsets journal ${path}: ${(err as Error).message}`, { path }, { cause: err });
}
