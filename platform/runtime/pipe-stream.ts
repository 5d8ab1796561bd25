/**
 * One end of a data pipe (docs/sessions.md#pipes): a Duplex over a Unix or TCP socket between two session
 * functions. Bytes go through as they are, in frames of [u32 length][payload], so that a deliberate end (an empty
 * frame) can be told from a peer that died: both close the socket, but only the first sends the empty frame first.
 * A pipe that closes any other way fails with MF_PIPE_BROKEN on this side; nothing waits for ever.
 * Backpressure is the socket's own: a full socket holds back writes, and a full read buffer pauses the socket.
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { now } from '../clock.js';
import { MfError } from '../errors.js';

const HEADER_BYTES = 4;
const END_FRAME = Buffer.alloc(HEADER_BYTES);

export interface PipeTotals {
  bytesIn: number;
  bytesOut: number;
  opened: number;
  closed: number;
  outcome: 'ok' | 'broken';
}

export class PipeStream extends Duplex {
  private bytesIn = 0;
  private bytesOut = 0;
  private readonly opened = now();
  /** Payload bytes still to come in the current frame. */
  private remaining = 0;
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  private endSeen = false;
  private endSent = false;
  private reported = false;

  constructor(
    private readonly socket: Socket,
    readonly pipeId: string,
    /** The instance at the other end. */
    readonly peer: string,
    private readonly onClosed: (totals: PipeTotals) => void,
    /** Bytes already read from the socket past the opening line. */
    initial?: Buffer,
  ) {
    super({ allowHalfOpen: true });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      if (!this.endSeen) this.destroy(broken(pipeId, peer, 'the peer closed the pipe without ending it (it died or destroyed it)'));
    });
    socket.on('error', (err) => this.destroy(broken(pipeId, peer, err.message)));
    socket.on('close', () => {
      if (!this.endSeen) this.destroy(broken(pipeId, peer, 'the connection closed'));
      else this.report('ok');
    });
    if (initial && initial.length > 0) this.onData(initial);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (chunk.length === 0) return callback();
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header.writeUInt32BE(chunk.length);
    this.bytesOut += chunk.length;
    this.socket.cork();
    this.socket.write(header);
    this.socket.write(chunk, callback);
    this.socket.uncork();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.endSent = true;
    this.socket.end(END_FRAME, () => callback());
  }

  override _read(): void {
    this.socket.resume();
  }

  /**
   * A destroy after the peer's end, with no error or with the AbortError a finished for-await loop gives, is this
   * side being done: the peer is told with the end frame, and the record waits for the socket to close. Any other
   * destroy breaks the pipe at once.
   */
  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const readerDone = this.endSeen && (err === null || err.name === 'AbortError');
    if (readerDone && !this.socket.destroyed) {
      if (!this.endSent) {
        this.endSent = true;
        this.socket.end(END_FRAME);
      }
      callback(null);
      return;
    }
    this.socket.destroy();
    this.report(err === null ? 'ok' : 'broken');
    callback(err);
  }

  /**
   * Records this end now, as its instance exits: its socket may not have closed yet (the peer's end frame still on its
   * way) and would otherwise leave no record. An end this side sent is a deliberate end; anything else is broken.
   */
  reportAtExit(): void {
    this.report(this.endSent ? 'ok' : 'broken');
  }

  private report(outcome: 'ok' | 'broken'): void {
    if (this.reported) return;
    this.reported = true;
    this.onClosed({ bytesIn: this.bytesIn, bytesOut: this.bytesOut, opened: this.opened, closed: now(), outcome });
  }

  private onData(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.endSeen) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - offset);
        this.remaining -= n;
        this.bytesIn += n;
        if (!this.push(chunk.subarray(offset, offset + n))) this.socket.pause();
        offset += n;
        continue;
      }
      const n = Math.min(HEADER_BYTES - this.headerFill, chunk.length - offset);
      chunk.copy(this.header, this.headerFill, offset, offset + n);
      this.headerFill += n;
      offset += n;
      if (this.headerFill < HEADER_BYTES) return;
      this.headerFill = 0;
      this.remaining = this.header.readUInt32BE(0);
      if (this.remaining === 0) {
        this.endSeen = true;
        this.push(null);
      }
    }
  }
}

function broken(pipeId: string, peer: string, why: string): MfError {
  return new MfError('MF_PIPE_BROKEN', `the pipe ${pipeId} to "${peer}" broke: ${why}`, { pipeId, peer });
}
