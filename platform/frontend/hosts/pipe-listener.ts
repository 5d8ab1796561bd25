/**
 * A host agent's end of pipes between hosts (docs/sessions.md#pipes-across-hosts). Sandboxes have no network, so
 * a pipe from an instance on one host to an instance on another is relayed by both host agents: the opener's host
 * joins the opener's Unix socket to a TCP connection to this listener, and this host joins that connection to the
 * target's pipe socket. The listener binds its own address (loopback by default; a host in a network namespace
 * binds its address there) and is advertised in the host registry. A connection must name a one-shot token this
 * host handed out for one target in the first TOKEN_BYTES bytes; anything else is closed at once.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { MfError } from '../../errors.js';
import { join2 } from '../pipe-relay.js';

/** The token, as hex, and a newline. */
export const TOKEN_BYTES = 33;
/** How long a token waits for its connection. */
const TOKEN_TTL_MS = 30_000;
/** How long a connection may take to send its token. */
const HELLO_WITHIN_MS = 10_000;

export class PipeListener {
  private readonly tokens = new Map<string, { path: string; timer: NodeJS.Timeout }>();
  private readonly open = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly host: string,
    readonly port: number,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listens on `host` (port 0: any free port). MF_CONFIG_INVALID when the address cannot be bound. */
  static async listen(host: string, port = 0): Promise<PipeListener> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new MfError('MF_CONFIG_INVALID', `the host's pipe listener cannot bind ${host}:${port}: ${err.message}`, { option: 'pipeAddress', value: `${host}:${port}` })));
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new MfError('MF_INTERNAL', 'a TCP listener without a port');
    return new PipeListener(server, host, address.port);
  }

  /** A one-shot token for a connection to reach the pipe socket at `path` (this host's sandbox). */
  expect(path: string): string {
    const token = randomBytes(16).toString('hex');
    const timer = setTimeout(() => this.tokens.delete(token), TOKEN_TTL_MS);
    timer.unref();
    this.tokens.set(token, { path, timer });
    return token;
  }

  async close(): Promise<void> {
    for (const { timer } of this.tokens.values()) clearTimeout(timer);
    this.tokens.clear();
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
    socket.setNoDelay(true);
    const giveUp = setTimeout(() => socket.destroy(), HELLO_WITHIN_MS);
    giveUp.unref();
    let hello = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      hello = Buffer.concat([hello, chunk]);
      if (hello.length < TOKEN_BYTES) return;
      socket.off('data', onData);
      socket.pause();
      clearTimeout(giveUp);
      const token = hello.subarray(0, TOKEN_BYTES - 1).toString('latin1');
      const found = hello[TOKEN_BYTES - 1] === 0x0a ? this.tokens.get(token) : undefined;
      if (!found) return void socket.destroy();
      clearTimeout(found.timer);
      this.tokens.delete(token);
      // Bytes that came with the token belong to the stream.
      const rest = hello.subarray(TOKEN_BYTES);
      if (rest.length > 0) socket.unshift(rest);
      join2(socket, connect({ path: found.path, allowHalfOpen: true }));
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
    socket.resume();
  }
}
