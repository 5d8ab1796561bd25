/**
 * A message channel over a stream socket: one JSON document per line. JSON.stringify never emits a raw newline,
 * so framing is a split on '\n'. Used between the frontend and each sandbox agent (a Unix socket, which can be
 * bind-mounted into a container).
 */
import type { Socket } from 'node:net';

const NEWLINE = 0x0a;

export class JsonLineChannel<In, Out> {
  /** The bytes of a line not yet ended. */
  private pending: Buffer[] = [];
  private closed = false;

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
    this.socket.write(JSON.stringify(message) + '\n');
  }

  close(): void {
    this.socket.end();
  }
}
