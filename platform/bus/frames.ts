/**
 * The platform's wire inside a host: a message channel over a stream whose frames are a JSON header line followed by
 * an optional payload of raw bytes. It carries the local bus (a pipe between the sandbox agent and a worker, a
 * worker's handover inbox) and the link across the sandbox wall (the Unix socket between the frontend and a sandbox
 * agent). The payload is a function's input or result, an execution's input or output, or a checkpoint's input, as
 * the JSON text it was serialised to once; its length travels in the header (`n`), so the receiver learns the
 * payload's size from the frame, never by serialising it again, and can pass the same bytes on without re-serialising,
 * escaping or parsing them (docs/architecture.md#decisions). A header must not have a top-level `n` of its own.
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

/** How a channel behaves beyond framing. */
export interface FrameChannelOptions {
  /** Called once when the stream closes, with the error that closed it, if any. */
  onClose?: (error: Error | null) => void;
  /**
   * Frames sent while one event-loop turn's callbacks run leave in one write (the stream is corked until
   * setImmediate, which runs right after them, so a lone frame waits no timer): under load that is one write and one
   * wake-up of the peer for many frames instead of one each. For the frontend <-> agent link.
   */
  batch?: boolean;
}

export class FrameChannel<In extends object, Out extends object> {
  /** Bytes received and not yet delivered. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The header whose payload is still arriving, and that payload's length. */
  private header: (In & Framed) | null = null;
  private closed = false;
  /** The stream is corked until the end of this turn (batch). */
  private corked = false;
  private readonly batch: boolean;

  constructor(
    private readonly stream: Duplex,
    private readonly onFrame: (frame: Frame<In>) => void,
    options: FrameChannelOptions = {},
  ) {
    this.batch = options.batch === true;
    stream.on('data', (chunk: Buffer) => this.receive(chunk));
    let error: Error | null = null;
    // A peer that died: its process's exit tells the story (and onClose hears of it).
    stream.on('error', (err) => {
      error = err;
    });
    stream.on('close', () => {
      this.closed = true;
      options.onClose?.(error);
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
    if (this.batch && !this.corked) {
      this.corked = true;
      this.stream.cork();
      setImmediate(() => this.flush());
    }
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

  /** Writes the frames batched in this turn now (before a process exits, for one). */
  flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.stream.uncork();
  }

  close(): void {
    this.flush();
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
