/**
 * A message channel over a stream socket: one JSON document per line. JSON.stringify never emits a raw newline,
 * so framing is a split on '\n'. Used between the frontend and each sandbox agent (a Unix socket, which can be
 * bind-mounted into a container).
 *
 * Sends are batched per event-loop turn: every message sent while one turn's I/O callbacks run leaves in one write
 * (setImmediate runs right after them, so a lone message waits no timer). Under load that is one write and one
 * wake-up of the peer for many executions instead of one each.
 */
import type { Socket } from 'node:net';

const NEWLINE = 0x0a;

export class JsonLineChannel<In, Out> {
  /** The bytes of a line not yet ended. */
  private pending: Buffer[] = [];
  private closed = false;
  /** Lines sent in this turn, written together once its callbacks have run. */
  private outbox: string[] = [];

  constructor(
    private readonly socket: Socket,
    onMessage: (message: In) => void,
    onClose: (error: Error | null) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      // Only the new chunk is searched for line ends, so a large message arriving in many chunks costs linear time
      // (searching the whole pending text on every chunk made a 1 MB message cost tens of milliseconds). Splitting
      // bytes is safe: in UTF-8 the byte 0x0a is only ever a newline.
      let start = 0;
      let newline = chunk.indexOf(NEWLINE, start);
      while (newline !== -1) {
        const tail = chunk.subarray(start, newline);
        const line = this.pending.length === 0 ? tail : Buffer.concat([...this.pending, tail]);
        this.pending = [];
        start = newline + 1;
        if (line.length > 0) onMessage(JSON.parse(line.toString('utf8')) as In);
        newline = chunk.indexOf(NEWLINE, start);
      }
      if (start < chunk.length) this.pending.push(chunk.subarray(start));
    });
    let error: Error | null = null;
    socket.on('error', (err) => {
      error = err;
    });
    socket.on('close', () => {
      this.closed = true;
      onClose(error);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(message: Out): void {
    if (this.closed) return;
    if (this.outbox.push(JSON.stringify(message)) === 1) setImmediate(() => this.flush());
  }

  /** Writes the lines sent so far now (before a process exits, for one). */
  flush(): void {
    if (this.outbox.length === 0) return;
    const lines = this.outbox;
    this.outbox = [];
    if (!this.closed) this.socket.write(lines.join('\n') + '\n');
  }

  close(): void {
    this.flush();
    this.socket.end();
  }
}
