/**
 * One topic of the JournalBus: an append-only file of JSON lines, one message per line,
 *   {"o":<offset>,"k":<key>,"t":<publishedAt>,"p":<payload>}
 * with `p` last and omitted for an undefined payload. Offsets are assigned here, in call order. The newest messages
 * (and every message not yet written) stay in memory; older ones are read back from the file through a sparse
 * offset -> byte position index. A message becomes visible to consumers once its write has completed.
 */
import { createWriteStream, fsync, open as openFdCb, type WriteStream } from 'node:fs';
import { open, truncate } from 'node:fs/promises';
import { MfError } from '../../errors.js';
import { Deque } from './deque.js';

/** A message as the bus keeps it: the payload stays serialised, so that each delivery parses its own copy. */
export interface StoredMessage {
  readonly offset: number;
  readonly key: string;
  readonly publishedAt: number;
  readonly payloadJson: string | undefined;
}

/** One sparse index entry per this many offsets. */
const INDEX_EVERY = 256;
const CHUNK = 256 * 1024;

export function encodeLine(m: StoredMessage): string {
  const head = `{"o":${m.offset},"k":${JSON.stringify(m.key)},"t":${m.publishedAt}`;
  return m.payloadJson === undefined ? `${head}}\n` : `${head},"p":${m.payloadJson}}\n`;
}

/**
 * Parses one journal line (without its newline). The payload is sliced out, not parsed: `,"p":` cannot occur inside
 * the key (JSON escapes every quote in a string), so its first occurrence starts the payload.
 */
export function decodeLine(line: string): StoredMessage | null {
  const at = line.indexOf(',"p":');
  try {
    const head = JSON.parse(at === -1 ? line : `${line.slice(0, at)}}`) as { o?: unknown; k?: unknown; t?: unknown };
    if (typeof head.o !== 'number' || typeof head.k !== 'string' || typeof head.t !== 'number') return null;
    return { offset: head.o, key: head.k, publishedAt: head.t, payloadJson: at === -1 ? undefined : line.slice(at + 5, -1) };
  } catch {
    return null;
  }
}

/** The offset of a line from its `{"o":123,` prefix, without parsing the rest; null when the prefix is not there. */
function lineOffset(line: Buffer): number | null {
  // {"o":
  if (line.length < 7 || line[0] !== 0x7b || line[1] !== 0x22 || line[2] !== 0x6f || line[3] !== 0x22 || line[4] !== 0x3a) return null;
  let n = 0;
  for (let i = 5; i < line.length && i < 25; i++) {
    const c = line[i] as number;
    if (c === 0x2c) return i > 5 ? n : null;
    if (c < 0x30 || c > 0x39) return null;
    n = n * 10 + (c - 0x30);
  }
  return null;
}

/**
 * Calls `fn` for each complete line from byte `start` on (a view that is only valid during the call), with the
 * line's byte position; `fn` returning false stops. Returns the position after the last complete line, and whether
 * bytes without a final newline follow it (a torn write).
 */
async function forEachLine(path: string, start: number, fn: (line: Buffer, pos: number) => boolean | void): Promise<{ end: number; torn: boolean }> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { end: 0, torn: false };
    throw err;
  }
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let readPos = start;
    let lineStart = start;
    let parts: Buffer[] = []; // an incomplete line spanning chunks (copied: buf is reused)
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, readPos);
      if (bytesRead === 0) break;
      readPos += bytesRead;
      const chunk = buf.subarray(0, bytesRead);
      let from = 0;
      for (let nl = chunk.indexOf(10, from); nl !== -1; nl = chunk.indexOf(10, from)) {
        let line = chunk.subarray(from, nl);
        if (parts.length > 0) {
          parts.push(line);
          line = Buffer.concat(parts);
          parts = [];
        }
        if (fn(line, lineStart) === false) return { end: lineStart, torn: false };
        lineStart += line.length + 1;
        from = nl + 1;
      }
      if (from < bytesRead) parts.push(Buffer.from(chunk.subarray(from)));
    }
    return { end: lineStart, torn: parts.length > 0 };
  } finally {
    await fh.close();
  }
}

function openAppend(path: string): Promise<number> {
  return new Promise((resolve, reject) => openFdCb(path, 'a', (err, fd) => (err ? reject(err) : resolve(fd))));
}

export class TopicJournal {
  /** The offset the next publish gets. */
  private next = 0;
  /** Offsets below this are in the file (written, or found there at open). */
  private visible = 0;
  /** File size including writes in flight: the byte position of the next line. */
  private bytes = 0;
  private readonly index: { offset: number; pos: number }[] = [];
  private lastIndexed = -Infinity;
  /** The newest messages, contiguous up to `next - 1`, including every one not yet written. */
  private readonly window = new Deque<StoredMessage>();
  private stream: WriteStream | null = null;
  private fd = -1;
  private failure: MfError | null = null;
  private readonly listeners = new Set<() => void>();

  private constructor(
    readonly topic: string,
    readonly path: string,
    private readonly windowSize: number,
  ) {}

  /** Opens (or creates) a topic journal: scans it once, cuts a torn last line off, keeps the newest messages in memory. */
  static async open(topic: string, path: string, windowSize: number): Promise<TopicJournal> {
    const journal = new TopicJournal(topic, path, windowSize);
    try {
      await journal.load();
      journal.fd = await openAppend(path);
    } catch (err) {
      throw new MfError('MF_STORAGE_FAILED', `could not open the bus journal of topic "${topic}": ${(err as Error).message}`, { topic, path }, { cause: err });
    }
    const stream = createWriteStream(path, { fd: journal.fd });
    stream.on('error', (err) => journal.fail(err));
    journal.stream = stream;
    return journal;
  }

  get nextOffset(): number {
    return this.next;
  }

  /** Offsets below this may be delivered. */
  get visibleEnd(): number {
    return this.visible;
  }

  /** The oldest offset still in memory (older ones are read from the file). */
  get windowStart(): number {
    return this.window.peek()?.offset ?? this.next;
  }

  /** Calls `fn` whenever more messages become visible; returns the unsubscribe function. */
  onVisible(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  append(key: string, payloadJson: string | undefined, sync: boolean): Promise<number> {
    const stream = this.stream;
    if (this.failure) return Promise.reject(this.failure);
    if (!stream) return Promise.reject(new MfError('MF_PLATFORM_CLOSED', 'the global bus is closed', { topic: this.topic }));
    // A line ends at a newline: JSON text spliced in as it came (a pretty-printed request body, a sandbox's framed
    // bytes) may have one between tokens (never inside a string, where JSON escapes it), so such text is compacted.
    if (payloadJson?.includes('\n')) payloadJson = JSON.stringify(JSON.parse(payloadJson));
    const message: StoredMessage = { offset: this.next++, key, publishedAt: Date.now(), payloadJson };
    const line = encodeLine(message);
    this.window.push(message);
    if (message.offset - this.lastIndexed >= INDEX_EVERY) {
      this.index.push({ offset: message.offset, pos: this.bytes });
      this.lastIndexed = message.offset;
    }
    this.bytes += Buffer.byteLength(line);
    return new Promise((resolve, reject) => {
      stream.write(line, (err) => {
        if (err) {
          this.fail(err);
          reject(this.failure);
          return;
        }
        this.written(message.offset);
        if (!sync) {
          resolve(message.offset);
          return;
        }
        fsync(this.fd, (syncErr) => {
          if (syncErr) {
            this.fail(syncErr);
            reject(this.failure);
          } else resolve(message.offset);
        });
      });
    });
  }

  /** The first message in memory with an offset >= `offset`; 'evicted' when that part of the topic is only in the file. */
  fromWindow(offset: number): StoredMessage | 'evicted' | undefined {
    const first = this.window.peek();
    if (offset < (first?.offset ?? this.next)) return 'evicted';
    if (!first) return undefined;
    const guess = this.window.at(offset - first.offset); // contiguous unless the file had a corrupt line
    if (guess?.offset === offset) return guess;
    let lo = 0;
    let hi = this.window.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.window.at(mid) as StoredMessage).offset < offset) lo = mid + 1;
      else hi = mid;
    }
    return this.window.at(lo);
  }

  /** Visible messages with offset >= fromOffset (and the key, if given), at most `limit`, from the file and memory. */
  async read(fromOffset: number, limit: number, key?: string): Promise<StoredMessage[]> {
    const out: StoredMessage[] = [];
    let next = fromOffset;
    while (out.length < limit) {
      const start = this.windowStart;
      if (next < start) {
        // Everything below `start` was written before this read began, so the file has it.
        const last = await this.readFile(next, limit, key, out);
        next = Math.max(last + 1, start);
        continue; // the window may have moved on meanwhile: read the file again from `next`
      }
      const first = this.fromWindow(next);
      if (first === undefined || first === 'evicted') break;
      for (let i = first.offset - (this.window.peek() as StoredMessage).offset; out.length < limit; i++) {
        const m = this.window.at(i);
        if (!m || m.offset >= this.visible) break;
        if (m.offset >= next && (key === undefined || m.key === key)) out.push(m);
      }
      break;
    }
    return out;
  }

  /** Ends the write stream once pending writes are done. */
  async close(): Promise<void> {
    const stream = this.stream;
    this.stream = null;
    this.listeners.clear();
    if (!stream) return;
    if (this.failure) {
      stream.destroy();
      return;
    }
    await new Promise<void>((resolve) => stream.end(() => resolve()));
  }

  private async load(): Promise<void> {
    const tail = new Deque<{ pos: number; len: number }>();
    const { end, torn } = await forEachLine(this.path, 0, (line, pos) => {
      const offset = lineOffset(line);
      if (offset === null || offset < this.next) return; // not a message line: skipped
      this.next = offset + 1;
      if (offset - this.lastIndexed >= INDEX_EVERY) {
        this.index.push({ offset, pos });
        this.lastIndexed = offset;
      }
      tail.push({ pos, len: line.length });
      if (tail.length > this.windowSize) tail.shift();
    });
    // A torn last line is a write that never completed (so never acknowledged): cut it off, or the next append
    // would be glued onto it.
    if (torn) await truncate(this.path, end);
    this.bytes = end;
    this.visible = this.next;
    const first = tail.peek();
    if (first) {
      await forEachLine(this.path, first.pos, (line) => {
        const m = decodeLine(line.toString('utf8'));
        if (m && (this.window.peek() === undefined || m.offset > (this.window.at(this.window.length - 1) as StoredMessage).offset)) this.window.push(m);
      });
    }
  }

  /** Scans the file from the index entry before `from`; pushes matches into `out`; returns the last offset scanned. */
  private async readFile(from: number, limit: number, key: string | undefined, out: StoredMessage[]): Promise<number> {
    let pos = 0;
    let lo = 0;
    let hi = this.index.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.index[mid] as { offset: number }).offset <= from) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) pos = (this.index[lo - 1] as { pos: number }).pos;
    let last = from - 1;
    try {
      await forEachLine(this.path, pos, (line) => {
        const offset = lineOffset(line);
        if (offset === null || offset < from) return true;
        if (offset >= this.visible) return false;
        last = offset;
        const m = decodeLine(line.toString('utf8'));
        if (m && (key === undefined || m.key === key)) out.push(m);
        return out.length < limit;
      });
    } catch (err) {
      throw new MfError('MF_STORAGE_FAILED', `could not read the bus journal of topic "${this.topic}": ${(err as Error).message}`, { topic: this.topic, path: this.path }, { cause: err });
    }
    return last;
  }

  private written(offset: number): void {
    if (offset >= this.visible) this.visible = offset + 1;
    while (this.window.length > this.windowSize && (this.window.peek() as StoredMessage).offset < this.visible) this.window.shift();
    for (const fn of this.listeners) fn();
  }

  private fail(err: Error): void {
    this.failure ??= new MfError('MF_STORAGE_FAILED', `could not write the bus journal of topic "${this.topic}": ${err.message}`, { topic: this.topic, path: this.path }, { cause: err });
  }
}
