/**
 * The local bus's wire: a message channel over a stream (a pipe between the sandbox agent and a worker) whose
 * frames are a JSON header line followed by an optional payload of raw bytes. The payload is a function's input or
 * result as the JSON text it was serialised to once; its length travels in the header (`n`), so the receiver learns
 * the payload's size from the frame, never by serialising it again, and can pass the same bytes on to the next
 * worker without re-serialising them (docs/architecture.md#decisions).
 */
import type { Duplex } from 'node:stream';

const NEWLINE = 0x0a;

/** A frame as it arrives: the header, and the payload's bytes (null when the frame has none). */
export interface Frame<H> {
  header: H;
  payload: Buffer | null;
}

/** The payload's byte count rides in the header under this key. */
interface Framed {
  n?: number;
}

export class FrameChannel<In extends object, Out extends object> {
  /** Bytes received and not yet delivered. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The header whose payload is still arriving, and that payload's length. */
  private header: (In & Framed) | null = null;
  private closed = false;

  constructor(
    private readonly stream: Duplex,
    private readonly onFrame: (frame: Frame<In>) => void,
  ) {
    stream.on('data', (chunk: Buffer) => this.receive(chunk));
    stream.on('error', () => undefined); // a peer that died: its process's exit tells the story
    stream.on('close', () => {
      this.closed = true;
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Sends one frame. `payload` is JSON text (or its UTF-8 bytes) serialised by the caller, once; the header and
   * the payload leave together. `onWritten` runs once the bytes left this process. False when the channel is
   * closed (nothing was sent, and `onWritten` will not run).
   */
  send(header: Out, payload?: Buffer | string, onWritten?: (err?: Error | null) => void): boolean {
    if (this.closed || this.stream.destroyed) return false;
    if (payload === undefined) {
      this.stream.write(JSON.stringify(header) + '\n', onWritten);
    } else if (typeof payload === 'string') {
      // Text goes out in the same write as its header: encoded once, by the stream.
      this.stream.write(JSON.stringify({ ...header, n: Buffer.byteLength(payload) }) + '\n' + payload, onWritten);
    } else {
      this.stream.cork();
      this.stream.write(JSON.stringify({ ...header, n: payload.length }) + '\n');
      this.stream.write(payload, onWritten);
      this.stream.uncork();
    }
    return true;
  }

  close(): void {
    this.stream.end();
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.header === null) {
        // Only the newest chunk can hold the header's end: earlier ones were searched when they came.
        const last = this.chunks[this.chunks.length - 1]!;
        const newline = last.indexOf(NEWLINE);
        if (newline === -1) return;
        const before = this.buffered - last.length;
        const all = this.take(before + newline + 1);
        const header = parseHeader<In & Framed>(all.toString('utf8', 0, all.length - 1));
        if (header === null) {
          // A peer that does not speak the protocol (a function dialling a worker's inbox): drop it, never throw.
          this.closed = true;
          this.stream.destroy();
          return;
        }
        this.header = header;
      }
      const n = this.header.n ?? 0;
      if (this.buffered < n) return;
      const header = this.header;
      this.header = null;
      const payload = n > 0 ? this.take(n) : null;
      if (n > 0) delete header.n;
      this.onFrame({ header, payload });
      if (this.buffered === 0) return;
    }
  }

  /** Removes and returns the first `count` buffered bytes (one copy at most). */
  private take(count: number): Buffer {
    const joined = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    const out = joined.subarray(0, count);
    const rest = joined.subarray(count);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }
}

/** A header line as an object; null when it is not a JSON object or its payload length is not a byte count. */
function parseHeader<H>(text: string): H | null {
  try {
    const h: unknown = JSON.parse(text);
    if (typeof h !== 'object' || h === null || Array.isArray(h)) return null;
    const n = (h as Framed).n;
    return n === undefined || (Number.isSafeInteger(n) && n >= 0) ? (h as H) : null;
  } catch {
    return null;
  }
}
