/**
 * What a session function sees as `context.session` and `context.pipe` (docs/sessions.md#the-api). It lives in the
 * session worker; every call that needs the rest of the session is one message to the sandbox agent over `post`,
 * except pipe bytes, which go straight between the two workers' sockets.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { now } from '../clock.js';
import { MfError, type ErrorBody } from '../errors.js';
import type { PipeAddress, RemotePipeTarget, SessionIdentity, SessionMessage, SessionRecord, SessionTarget, SessionWorkerToAgent } from '../sessions/types.js';
import { PipeStream } from './pipe-stream.js';

export interface FunctionSession extends AsyncIterable<SessionMessage> {
  /** The session's id, this instance's id (`<function>.<n>`) and its alias. */
  readonly id: string;
  readonly instance: string;
  readonly alias: string | null;
  /** False once the session is stopping or this instance called exit(). */
  isRunning(): boolean;
  /**
   * Up to `count` (default: all waiting) messages; when none is waiting, waits up to `timeoutMs` (default: until the
   * session stops) for one. An empty array means the wait ended with none.
   */
  getMessages(options?: { count?: number; timeoutMs?: number }): Promise<SessionMessage[]>;
  /** Sends to one instance (id or alias), every instance of {function}, or {all: true} (every other instance). */
  send(target: SessionTarget, message: unknown): Promise<void>;
  setAlias(alias: string): void;
  /** Tells the platform this instance is alive (required every policy.heartbeatSeconds when the session sets it). */
  heartbeat(): void;
  /** Ends this instance as done (not failed); the handler's return does the same. */
  exit(): void;
}

export interface FunctionPipes {
  /**
   * A byte stream to a running instance (id or alias) of this session, or `{session, instance}` of another session of
   * the app (wherever it runs: the platform brokers it); rejects with MF_PIPE_TARGET_NOT_RUNNING.
   */
  open(target: string | RemotePipeTarget): Promise<Duplex>;
  /** The next pipe another instance opened to this one; null when `timeoutMs` passed or the session stopped first. */
  accept(options?: { timeoutMs?: number }): Promise<Duplex | null>;
}

/** The longest opening line of a pipe: {"pipeId","from"}. */
const MAX_OPENING_BYTES = 1024;
/** Records are sent to the agent in batches, off the function's path. */
const RECORD_FLUSH_MS = 50;

type Waiter<T> = { resolve(v: T): void; timer: NodeJS.Timeout | null };

export class SessionRuntime {
  private running = true;
  private readonly inbox: Array<SessionMessage & { record: Extract<SessionRecord, { kind: 'message' }> }> = [];
  private readonly messageWaiters: Array<Waiter<void>> = [];
  private readonly incomingPipes: PipeStream[] = [];
  private readonly openPipes = new Set<PipeStream>();
  private readonly pipeWaiters: Array<Waiter<PipeStream | null>> = [];
  private readonly pendingCalls = new Map<number, (result: { error: ErrorBody | null; target?: PipeAddress | null }) => void>();
  private nextCall = 0;
  private records: SessionRecord[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private server: Server | null = null;
  private alias: string | null;
  readonly session: FunctionSession;
  readonly pipe: FunctionPipes;

  constructor(
    private readonly identity: SessionIdentity,
    private readonly maxMessageBytes: number,
    private readonly post: (m: SessionWorkerToAgent) => void,
    /** Called once when the instance ends by exit(). */
    private readonly onExit: () => void,
  ) {
    this.alias = identity.alias;
    const self = this;
    this.session = {
      id: identity.sessionId,
      instance: identity.instance,
      get alias() {
        return self.alias;
      },
      isRunning: () => this.running,
      getMessages: (options) => this.getMessages(options?.count ?? Infinity, options?.timeoutMs ?? null),
      send: (target, message) => this.send(target, message),
      setAlias: (alias) => {
        this.alias = alias;
        this.post({ t: 'alias', alias });
      },
      heartbeat: () => this.post({ t: 'heartbeat' }),
      exit: () => {
        if (!this.running) return;
        this.stop();
        this.onExit();
      },
      [Symbol.asyncIterator]: () => this.iterate(),
    };
    this.pipe = { open: (target) => this.openPipe(target), accept: (options) => this.acceptPipe(options?.timeoutMs ?? null) };
  }

  /** Listens for pipes at the identity's socket path before the handler runs. */
  async listen(): Promise<void> {
    // The path is this instance's for good: a worker it replaces (a restart) may have left its socket file behind.
    await rm(this.identity.pipePath, { force: true });
    const server = createServer({ allowHalfOpen: true }, (socket) => this.onPipeConnection(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.identity.pipePath, () => resolve());
    });
  }

  /** A message the agent routed here. */
  deliver(from: string, json: string, sent: number, routed: number): void {
    const body: unknown = JSON.parse(json);
    const record = { kind: 'message' as const, sessionId: this.identity.sessionId, from, to: this.identity.instance, bytes: Buffer.byteLength(json), t: { sent, routed, delivered: 0 } };
    this.inbox.push({ from, body, record });
    const waiter = this.messageWaiters.shift();
    if (waiter) settle(waiter, undefined);
  }

  /** The answer to a send or a pipe-open. */
  answer(id: number, result: { error: ErrorBody | null; target?: PipeAddress | null }): void {
    const resolve = this.pendingCalls.get(id);
    this.pendingCalls.delete(id);
    resolve?.(result);
  }

  /** The session is stopping (or this instance exits): waits end, the iterator finishes, isRunning() is false. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const w of this.messageWaiters.splice(0)) settle(w, undefined);
    for (const w of this.pipeWaiters.splice(0)) settle(w, null);
  }

  /** Records the pipes still open, sends what is left of the records, and closes the pipe server. */
  close(): void {
    for (const pipe of this.openPipes) pipe.reportAtExit();
    this.flush();
    this.server?.close();
  }

  private async getMessages(count: number, timeoutMs: number | null): Promise<SessionMessage[]> {
    if (this.inbox.length === 0 && this.running) {
      await new Promise<void>((resolve) => {
        const waiter: Waiter<void> = { resolve, timer: null };
        if (timeoutMs !== null) {
          waiter.timer = setTimeout(() => {
            const i = this.messageWaiters.indexOf(waiter);
            if (i !== -1) this.messageWaiters.splice(i, 1);
            resolve();
          }, Math.max(0, timeoutMs));
        }
        this.messageWaiters.push(waiter);
      });
    }
    const taken = this.inbox.splice(0, Math.min(count, this.inbox.length));
    const delivered = now();
    const messages = taken.map(({ from, body, record }) => {
      record.t.delivered = delivered;
      this.records.push(record);
      return { from, body };
    });
    // Sent at once: the delivery records are the agent's acknowledgement, and what is not acknowledged is given to
    // a restarted instance again (docs/sessions.md#guarantees).
    if (messages.length > 0) this.flush();
    return messages;
  }

  private async *iterate(): AsyncGenerator<SessionMessage> {
    for (;;) {
      const batch = await this.getMessages(Infinity, null);
      if (batch.length === 0 && !this.running) return;
      yield* batch;
    }
  }

  private send(target: SessionTarget, message: unknown): Promise<void> {
    const json = JSON.stringify(message) ?? 'null';
    const bytes = Buffer.byteLength(json);
    if (bytes > this.maxMessageBytes) {
      return Promise.reject(new MfError('MF_SESSION_MESSAGE_TOO_LARGE', `the message is ${bytes} bytes, over the session's limit of ${this.maxMessageBytes}`, { bytes, limit: this.maxMessageBytes }));
    }
    return this.call((id) => ({ t: 'send', id, target, json, sent: now() })).then(() => undefined);
  }

  private call(message: (id: number) => SessionWorkerToAgent): Promise<PipeAddress | null> {
    const id = this.nextCall++;
    return new Promise((resolve, reject) => {
      this.pendingCalls.set(id, (r) => (r.error ? reject(MfError.fromJSON(r.error)) : resolve(r.target ?? null)));
      this.post(message(id));
    });
  }

  private async openPipe(target: string | RemotePipeTarget): Promise<Duplex> {
    const found = await this.call((id) => ({ t: 'pipe-open', id, target }));
    if (!found) throw new MfError('MF_INTERNAL', 'the agent answered a pipe open without a target');
    const pipeId = randomBytes(6).toString('hex');
    const socket = connect({ path: found.path, allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', (err) => reject(new MfError('MF_PIPE_TARGET_NOT_RUNNING', `the pipe to ${JSON.stringify(target)} could not connect: ${err.message}`, { target })));
    });
    // Across sessions the acceptor knows the opener by its session too.
    const remote = typeof target !== 'string' && target.session !== this.identity.sessionId;
    socket.write(JSON.stringify({ pipeId, from: remote ? `${this.identity.sessionId}/${this.identity.instance}` : this.identity.instance }) + '\n');
    return this.live(new PipeStream(socket, pipeId, found.peer, (totals) => this.keepPipe(pipeId, found.peer, 'opener', totals)));
  }

  private acceptPipe(timeoutMs: number | null): Promise<Duplex | null> {
    const ready = this.incomingPipes.shift();
    if (ready) return Promise.resolve(ready);
    if (!this.running) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter: Waiter<PipeStream | null> = { resolve, timer: null };
      if (timeoutMs !== null) {
        waiter.timer = setTimeout(() => {
          const i = this.pipeWaiters.indexOf(waiter);
          if (i !== -1) this.pipeWaiters.splice(i, 1);
          resolve(null);
        }, Math.max(0, timeoutMs));
      }
      this.pipeWaiters.push(waiter);
    });
  }

  /** A pipe someone opened: its first line names it; then it is a PipeStream for accept(). */
  private onPipeConnection(socket: Socket): void {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(10);
      if (nl === -1) {
        if (head.length > MAX_OPENING_BYTES) socket.destroy();
        return;
      }
      socket.off('data', onData);
      socket.pause();
      let opening: { pipeId?: unknown; from?: unknown };
      try {
        opening = JSON.parse(head.subarray(0, nl).toString('utf8')) as typeof opening;
      } catch {
        socket.destroy();
        return;
      }
      const pipeId = String(opening.pipeId);
      const peer = String(opening.from);
      const stream = this.live(new PipeStream(socket, pipeId, peer, (totals) => this.keepPipe(pipeId, peer, 'acceptor', totals), head.subarray(nl + 1)));
      const waiter = this.pipeWaiters.shift();
      if (waiter) settle(waiter, stream);
      else this.incomingPipes.push(stream);
    };
    socket.on('data', onData);
    socket.on('error', () => undefined); // before the opening line, a failed connection is nobody's stream yet
  }

  /** Tracks a pipe until it reports, so that close() can record one still open as the instance exits. */
  private live(pipe: PipeStream): PipeStream {
    this.openPipes.add(pipe);
    return pipe;
  }

  private keepPipe(pipeId: string, peer: string, side: 'opener' | 'acceptor', totals: { bytesIn: number; bytesOut: number; opened: number; closed: number; outcome: 'ok' | 'broken' }): void {
    const { bytesIn, bytesOut, opened, closed, outcome } = totals;
    for (const pipe of this.openPipes) if (pipe.pipeId === pipeId) this.openPipes.delete(pipe);
    this.keep({ kind: 'pipe', sessionId: this.identity.sessionId, pipeId, instance: this.identity.instance, peer, side, bytesIn, bytesOut, t: { opened, closed }, outcome });
  }

  private keep(record: SessionRecord): void {
    this.records.push(record);
    this.flushTimer ??= setTimeout(() => this.flush(), RECORD_FLUSH_MS);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.records.length === 0) return;
    const items = this.records;
    this.records = [];
    this.post({ t: 'records', items });
  }
}

function settle<T>(waiter: Waiter<T>, value: T): void {
  if (waiter.timer) clearTimeout(waiter.timer);
  waiter.resolve(value);
}
