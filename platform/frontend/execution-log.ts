/**
 * Where finished executions live on disk: an append-only log in segment files, written in batches. One `writev` per
 * event-loop turn carries every execution that finished in it, instead of two files and a rename each (three opens,
 * three closes and a rename on the libuv pool per execution took a third of the frontend's CPU under load).
 *
 * A record is a header line and the two texts, each converted to bytes once:
 *   `+ <id> <viewBytes> <historyBytes> <historyIn>\n<view><history>\n`
 * where `historyIn` names the sandbox that kept the engine's history (`-` for none: docs/architecture.md#execution-history).
 * and a forgotten execution is a tombstone line `- <id>\n`. A record counts only when whole: a kill mid-write leaves a
 * torn tail that the next start ignores, and that start appends to a new segment, never after a torn tail. A segment
 * in which every record has been forgotten is deleted once every older segment is (so a tombstone never outlives the
 * record it kills); `segmentBytes` bounds how much a live record can keep on disk beside it.
 */
import { mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** Where one execution's record is: its segment and the byte ranges of its two texts. */
export interface LogLocation {
  readonly segment: number;
  readonly viewAt: number;
  readonly viewBytes: number;
  readonly historyBytes: number;
  /** The sandbox that kept the engine's part of the history, if one did. */
  readonly historyIn: string | null;
}

interface Pending {
  readonly chunks: Buffer[];
  readonly settle: { resolve(): void; reject(err: Error): void } | null;
}

const SEGMENT = /^(\d{8})\.log$/;

export class ExecutionLog {
  /** Segments on disk, oldest first; the last one is appended to once this run has appended. */
  private readonly segments: number[] = [];
  /** Records not yet forgotten, per segment. */
  private readonly live = new Map<number, number>();
  /** The segment this run appends to (a new one per run: never after a torn tail), its size and its file. */
  private current: { segment: number; size: number; handle: Promise<FileHandle> | null } | null = null;
  private batch: Pending[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private scheduled = false;

  constructor(
    private readonly dir: string,
    private readonly segmentBytes = 64 * 1024 * 1024,
  ) {}

  /**
   * Every record the earlier runs left, oldest first, without the forgotten ones. Called once, before the first
   * append (which then opens a segment after the newest one found).
   */
  async scan(): Promise<Map<string, LogLocation>> {
    const found = new Map<string, LogLocation>();
    const names = await readdir(this.dir).catch(() => [] as string[]);
    this.segments.push(...names.flatMap((n) => { const m = SEGMENT.exec(n); return m ? [Number(m[1])] : []; }).sort((a, b) => a - b));
    for (const segment of this.segments) {
      const bytes = await readFile(this.path(segment));
      let at = 0;
      while (at < bytes.length) {
        const eol = bytes.indexOf(10, at);
        if (eol < 0) break; // a torn header
        const [kind, id, viewBytes, historyBytes, historyIn = '-'] = bytes.toString('latin1', at, eol).split(' ');
        if (kind === '-' && id) {
          const was = found.get(id);
          if (was) this.count(was.segment, -1);
          found.delete(id);
          at = eol + 1;
          continue;
        }
        const location = { segment, viewAt: eol + 1, viewBytes: Number(viewBytes), historyBytes: Number(historyBytes), historyIn: historyIn === '-' ? null : historyIn };
        const end = location.viewAt + location.viewBytes + location.historyBytes;
        if (kind !== '+' || !id || !Number.isSafeInteger(location.viewBytes) || !Number.isSafeInteger(location.historyBytes) || bytes[end] !== 10) break; // torn
        found.set(id, location);
        this.count(segment, 1);
        at = end + 1;
      }
    }
    this.dropDeadSegments();
    return found;
  }

  /** Appends one finished execution; settles once its bytes are written (with every other record of its batch). */
  append(id: string, view: string, history: string, historyIn: string | null = null): { location: LogLocation; written: Promise<void> } {
    const viewBuf = Buffer.from(view);
    const historyBuf = Buffer.from(history);
    // Ids (UUIDs, sandbox ids) are made by the platform, never caller text: no spaces or newlines.
    const header = Buffer.from(`+ ${id} ${viewBuf.length} ${historyBuf.length} ${historyIn ?? '-'}\n`, 'latin1');
    const current = this.appendTarget();
    const location = { segment: current.segment, viewAt: current.size + header.length, viewBytes: viewBuf.length, historyBytes: historyBuf.length, historyIn };
    current.size += header.length + viewBuf.length + historyBuf.length + 1;
    this.count(location.segment, 1);
    const written = new Promise<void>((resolve, reject) => this.enqueue({ chunks: [header, viewBuf, historyBuf, NEWLINE], settle: { resolve, reject } }));
    return { location, written };
  }

  /** Forgets a record: a tombstone in the log; segments are deleted oldest first once nothing in them is live. */
  forget(id: string, location: LogLocation): void {
    const tombstone = Buffer.from(`- ${id}\n`, 'latin1');
    this.appendTarget().size += tombstone.length;
    this.enqueue({ chunks: [tombstone], settle: null });
    this.count(location.segment, -1);
    void this.flushing.then(() => this.dropDeadSegments());
  }

  /** One text of a record, read back from its segment. */
  async read(location: LogLocation, part: 'view' | 'history'): Promise<string> {
    const file = await open(this.path(location.segment), 'r');
    try {
      const length = part === 'view' ? location.viewBytes : location.historyBytes;
      const at = part === 'view' ? location.viewAt : location.viewAt + location.viewBytes;
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await file.read(buf, 0, length, at);
      if (bytesRead !== length) throw new Error(`segment ${location.segment} ends before the record (${bytesRead} of ${length} bytes)`);
      return buf.toString('utf8');
    } finally {
      await file.close();
    }
  }

  /** Writes what is queued and closes the segment file. */
  async close(): Promise<void> {
    await this.flush();
    const handle = this.current?.handle;
    this.current = null;
    if (handle) await (await handle).close().catch(() => undefined);
  }

  /** The segment the next record goes to: a new one at a run's first append, after a failed write, or when full. */
  private appendTarget(): { segment: number; size: number; handle: Promise<FileHandle> | null } {
    if (this.current !== null && this.current.size < this.segmentBytes) return this.current;
    if (this.batch.length > 0) void this.flush(); // the queued records belong to the segment being left
    const old = this.current?.handle;
    if (old) void this.flushing.then(async () => (await old).close()).catch(() => undefined);
    const segment = (this.segments.at(-1) ?? -1) + 1;
    this.segments.push(segment);
    this.current = { segment, size: 0, handle: null };
    return this.current;
  }

  private enqueue(p: Pending): void {
    this.batch.push(p);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  /** One `writev` for the batch, after the previous batch: the log's order is the order of `append` calls. */
  private flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.batch;
    this.batch = [];
    const current = this.current;
    if (batch.length === 0 || current === null) return this.flushing;
    const path = this.path(current.segment);
    const handle = (current.handle ??= mkdir(this.dir, { recursive: true }).then(() => open(path, 'a')));
    this.flushing = this.flushing.then(async () => {
      try {
        await (await handle).writev(batch.flatMap((p) => p.chunks));
        for (const p of batch) p.settle?.resolve();
      } catch (err) {
        for (const p of batch) p.settle?.reject(err as Error);
        if (this.current === current) current.size = this.segmentBytes; // offsets after a failed write do not hold: roll
      }
    });
    return this.flushing;
  }

  /** Deletes the oldest segments while nothing in them is live (never the one appended to). */
  private dropDeadSegments(): void {
    while (this.segments.length > 0 && this.segments[0] !== this.current?.segment && (this.live.get(this.segments[0]!) ?? 0) === 0) {
      void unlink(this.path(this.segments.shift()!)).catch(() => undefined);
    }
  }

  private count(segment: number, by: number): void {
    const n = (this.live.get(segment) ?? 0) + by;
    if (n <= 0) this.live.delete(segment);
    else this.live.set(segment, n);
  }

  private path(segment: number): string {
    return join(this.dir, `${String(segment).padStart(8, '0')}.log`);
  }
}

const NEWLINE = Buffer.from('\n');
