/**
 * A message channel over a stream socket: one JSON document per line. JSON.stringify never emits a raw newline,
 * so framing is a split on '\n'. Used between the frontend and each sandbox agent (a Unix socket, which can be
 * bind-mounted into a container).
 */
import type { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';

export class JsonLineChannel<In, Out> {
  private pending = '';
  private readonly decoder = new StringDecoder('utf8');
  private closed = false;

  constructor(
    private readonly socket: Socket,
    onMessage: (message: In) => void,
    onClose: (error: Error | null) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      // Most messages arrive whole in one chunk: avoid concatenation when nothing is pending.
      const text = this.pending === '' ? this.decoder.write(chunk) : this.pending + this.decoder.write(chunk);
      let start = 0;
      let newline = text.indexOf('\n', start);
      while (newline !== -1) {
        const line = text.slice(start, newline);
        start = newline + 1;
        if (line.length > 0) onMessage(JSON.parse(line) as In);
        newline = text.indexOf('\n', start);
      }
      this.pending = start === text.length ? '' : text.slice(start);
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
