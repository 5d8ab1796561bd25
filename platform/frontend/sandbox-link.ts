/**
 * The frontend's end of one sandbox: it opens a Unix socket, asks the backend to start a sandbox whose agent
 * connects to it, deploys the app into it, and then carries requests and their results. When the sandbox dies,
 * every request in flight fails with MF_SANDBOX_EXITED and the link reports itself dead.
 */
import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { RawJson } from '../asl/raw-json.js';
import { FrameChannel } from '../bus/frames.js';
import { now } from '../clock.js';
import { isMfError, MfError } from '../errors.js';
import { SANDBOX_APP_FILE, type AgentToFrontend, type Checkpoint, type CheckpointOnWire, type DoneMessage, type ExecutionResult, type FrontendToAgent, type HistoryReply, type ResultOnWire, type SandboxAppSpec, type SandboxRequest, type SandboxStartTimes } from '../protocol.js';
import type { AppUser, Sandbox, SandboxBackend } from '../sandbox/backend.js';
import type { RemotePipeTarget, SessionOp, SessionRecord, SessionReply, SessionState, SessionTaskOp } from '../sessions/types.js';
import type { StorageOp, StorageReply } from '../storage/types.js';
import { forEachLine } from './output-lines.js';

/** What a sandbox asks of the platform while it runs. */
export interface LinkHandlers {
  /** Serves the sandbox's global-tier storage requests, for that sandbox's app only. */
  storage(op: StorageOp): Promise<StorageReply>;
  /** Receives the newest checkpoints of executions running in the sandbox. */
  checkpoints(items: Checkpoint[]): void;
  /** Receives each line the sandbox's processes print (function output included), for the app's logs. */
  output(line: string, stream: 'stdout' | 'stderr'): void;
  /** A session that ran in the sandbox ended: its final state and records (docs/sessions.md). */
  sessionEnded(end: { state: SessionState; records: SessionRecord[] }): void;
  /** A pipe from one of the sandbox's session instances to an instance of another session of the app. */
  pipeBroker(to: RemotePipeTarget): Promise<SessionReply>;
  /** A session Task of a workflow running in the sandbox (start, wait for the end, stop), on the sandbox's app. */
  sessionTask(op: SessionTaskOp): Promise<SessionReply>;
}

/**
 * Whether a request's failure came from its sandbox dying from outside (killed while it served the request, or while
 * it was starting: a signal nobody in the platform sent), so the request may run again on another sandbox. A sandbox
 * that failed to start on its own (a deploy error, a crash, a timeout) would fail again: that is not retried.
 */
export function sandboxDiedFromOutside(err: unknown): boolean {
  if (isMfError(err, 'MF_SANDBOX_EXITED')) return true;
  if (!isMfError(err, 'MF_SANDBOX_START_FAILED')) return false;
  return err.details.signal === 'SIGKILL' || err.details.signal === 'SIGTERM';
}

/** How long a sandbox may take from create() to a deployed app (covers workers started at deploy). */
const START_TIMEOUT_MS = 30_000;
/** Unix socket paths are limited to 107 bytes on Linux. */
const MAX_SOCKET_PATH = 107;

export class SandboxLink {
  private readonly pending = new Map<string, { resolve(m: DoneMessage): void; reject(e: MfError): void }>();
  private readonly pendingSessions = new Map<number, (reply: SessionReply) => void>();
  private nextSessionOp = 0;
  private readonly pendingHistory = new Map<number, (reply: HistoryReply) => void>();
  private nextHistoryAsk = 0;
  private dead = false;
  private markClosed!: () => void;
  /** Resolves when the link is dead (the sandbox exited or was destroyed). */
  readonly closed = new Promise<void>((resolve) => (this.markClosed = resolve));
  readonly createdAt = Date.now();

  private constructor(
    readonly sandbox: Sandbox,
    private readonly server: Server,
    private readonly channel: FrameChannel<AgentToFrontend, FrontendToAgent>,
    readonly agentPid: number,
    /** How long the backend took to make the sandbox, and how long until the app was deployed in it. */
    readonly startTimes: SandboxStartTimes,
    private readonly dir: string,
    private readonly handlers: LinkHandlers,
    /** The functions this sandbox holds. */
    readonly functions: string[],
  ) {}

  get alive(): boolean {
    return !this.dead;
  }

  get id(): string {
    return this.sandbox.id;
  }

  /** Creates a sandbox with `backend`, waits for its agent, deploys `app` into it. Leaves nothing behind on failure. */
  static async create(
    backend: SandboxBackend,
    where: { sandboxId: string; dir: string; readPaths: string[]; memoryMB?: number; user?: AppUser | undefined },
    app: SandboxAppSpec,
    handlers: LinkHandlers,
  ): Promise<SandboxLink> {
    const { sandboxId, dir, readPaths } = where;
    const started = now();
    const socketPath = join(dir, 'bus.sock');
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      throw new MfError('MF_CONFIG_INVALID', `the sandbox socket path is too long for a Unix socket (${socketPath}); choose a shorter dataDir`, { socketPath });
    }
    const { user } = where;
    await mkdir(dir, { recursive: true });
    // The app goes in with the sandbox: its agent deploys it as it starts, with no deploy round trip (agent/main.ts).
    const appFile = join(dir, SANDBOX_APP_FILE);
    await writeFile(appFile, JSON.stringify(app), { mode: 0o600 });
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    if (user) {
      // The sandbox's folder and socket belong to the app's user alone (docs/security.md).
      await chown(socketPath, user.uid, user.gid);
      await chmod(socketPath, 0o600);
      await chown(appFile, user.uid, user.gid);
      await chown(dir, user.uid, user.gid);
      await chmod(dir, 0o700);
    }
    let sandbox: Sandbox | null = null;
    let timer: NodeJS.Timeout | undefined;
    try {
      let connectedAt = 0;
      const connected = new Promise<Socket>((resolve) =>
        server.once('connection', (socket: Socket) => {
          connectedAt = now();
          resolve(socket);
        }),
      );
      sandbox = await backend.create({
        sandboxId,
        app: app.app,
        dir,
        socketPath,
        readPaths,
        ...(where.memoryMB !== undefined ? { memoryMB: where.memoryMB } : {}),
        ...(user ? { user } : {}),
      });
      const createDone = now();
      forEachLine(sandbox.output.stdout, (line) => handlers.output(line, 'stdout'));
      forEachLine(sandbox.output.stderr, (line) => handlers.output(line, 'stderr'));
      const exited = sandbox.exited.then((exit) => {
        const tail = exit.logTail?.length ? `; its last output:\n${exit.logTail.join('\n')}` : '';
        throw new MfError('MF_SANDBOX_START_FAILED', `the sandbox agent exited before it was ready (code ${exit.code}, signal ${exit.signal})${tail}`, { sandboxId, ...exit });
      });
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new MfError('MF_SANDBOX_START_FAILED', `the sandbox was not ready within ${START_TIMEOUT_MS} ms`, { sandboxId })), START_TIMEOUT_MS);
      });
      const socket = await Promise.race([connected, exited, timeout]);

      // Messages before the link object exists (ready, deployed) are handled by this bootstrap listener.
      let link: SandboxLink | null = null;
      let onBoot: ((m: AgentToFrontend) => void) | null = null;
      const channel = new FrameChannel<AgentToFrontend, FrontendToAgent>(socket, ({ header, payload }) => (link ? link.onMessage(header, payload) : onBoot?.(header)), {
        batch: true,
        onClose: () => link?.onClose(),
      });
      const booted = new Promise<{ pid: number; deployed: boolean; error?: MfError }>((resolve) => {
        let pid = -1;
        onBoot = (m) => {
          // The agent deploys the app it found in its folder without being asked; `ready` comes first.
          if (m.t === 'ready') pid = m.pid;
          else if (m.t === 'deployed') resolve({ pid, deployed: true });
          else if (m.t === 'deploy-failed') resolve({ pid, deployed: false, error: MfError.fromJSON(m.error) });
        };
      });
      const boot = await Promise.race([booted, exited, timeout]);
      if (!boot.deployed) throw boot.error ?? new MfError('MF_SANDBOX_START_FAILED', 'deploy into the sandbox failed');
      const startTimes = { createMs: createDone - started, connectMs: connectedAt - started, totalMs: now() - started };
      link = new SandboxLink(sandbox, server, channel, boot.pid, startTimes, dir, handlers, app.functions.map((f) => f.name));
      const self = link;
      void sandbox.exited.then(() => self.onClose());
      return link;
    } catch (err) {
      await sandbox?.destroy();
      server.close();
      await rm(dir, { recursive: true, force: true });
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends an execute or invoke request (its input the frame's payload) and resolves with the agent's answer. */
  request(request: SandboxRequest): Promise<DoneMessage> {
    if (this.dead) return Promise.reject(new MfError('MF_SANDBOX_EXITED', `sandbox ${this.id} has exited`, { sandboxId: this.id }));
    return new Promise<DoneMessage>((resolve, reject) => {
      this.pending.set(request.header.id, { resolve, reject });
      this.channel.send(request.header, request.payload);
    });
  }

  /** Sends a session operation; a dead sandbox answers MF_SANDBOX_EXITED. Never rejects. */
  session(op: SessionOp): Promise<SessionReply> {
    if (this.dead) return Promise.resolve({ ok: false, error: this.exitedError().toJSON() });
    return new Promise((resolve) => {
      const id = this.nextSessionOp++;
      this.pendingSessions.set(id, resolve);
      this.channel.send({ t: 'session', id, op });
    });
  }

  /** Asks the sandbox for the history it keeps of an execution; a dead sandbox has none. Never rejects. */
  history(executionId: string): Promise<HistoryReply> {
    if (this.dead) return Promise.resolve({ kind: 'unknown' });
    return new Promise((resolve) => {
      const id = this.nextHistoryAsk++;
      this.pendingHistory.set(id, resolve);
      this.channel.send({ t: 'history', id, executionId });
    });
  }

  private exitedError(): MfError {
    return new MfError('MF_SANDBOX_EXITED', `sandbox ${this.id} has exited`, { sandboxId: this.id });
  }

  /** Aborts a request running in the sandbox: its running invocations are told to stop (docs/recovery.md). */
  abort(requestId: string, reason: string): void {
    if (!this.dead && this.pending.has(requestId)) this.channel.send({ t: 'abort', id: requestId, reason });
  }

  /** Asks the agent to shut down, and makes sure the sandbox is gone. */
  async destroy(): Promise<void> {
    if (!this.dead) this.channel.send({ t: 'shutdown' });
    const grace = new Promise((resolve) => setTimeout(resolve, 2000).unref());
    await Promise.race([this.sandbox.exited, grace]);
    await this.sandbox.destroy();
    this.onClose();
    await rm(this.dir, { recursive: true, force: true });
  }

  private onMessage(m: AgentToFrontend, payload: Buffer | null): void {
    if (m.t === 'done') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      p.resolve({ t: 'done', id: m.id, result: resultOf(m.result, payload), records: m.records, logs: m.logs });
    } else if (m.t === 'history-reply') {
      const resolve = this.pendingHistory.get(m.id);
      this.pendingHistory.delete(m.id);
      resolve?.(m.reply);
    } else if (m.t === 'storage') {
      void this.handlers.storage(m.op).then((reply) => this.channel.send({ t: 'storage-result', id: m.id, reply }));
    } else if (m.t === 'checkpoint') {
      const { t: _t, ...item } = m;
      this.handlers.checkpoints([checkpointOf(item, payload)]);
    } else if (m.t === 'session-reply') {
      const resolve = this.pendingSessions.get(m.id);
      this.pendingSessions.delete(m.id);
      resolve?.(m.reply);
    } else if (m.t === 'pipe-broker') {
      void this.handlers.pipeBroker(m.to).then((reply) => {
        if (!this.dead) this.channel.send({ t: 'pipe-brokered', id: m.id, reply });
      });
    } else if (m.t === 'session-task') {
      void this.handlers.sessionTask(m.op).then((reply) => {
        if (!this.dead) this.channel.send({ t: 'session-tasked', id: m.id, reply });
      });
    } else if (m.t === 'session-ended') {
      this.handlers.sessionEnded({ state: m.state, records: m.records });
    } else if (m.t === 'rejected') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      p.reject(MfError.fromJSON(m.error));
    }
  }

  private onClose(): void {
    if (this.dead) return;
    this.dead = true;
    this.server.close();
    for (const [id, p] of this.pending) {
      p.reject(new MfError('MF_SANDBOX_EXITED', `sandbox ${this.id} exited while serving the request`, { sandboxId: this.id, requestId: id }));
    }
    this.pending.clear();
    for (const resolve of this.pendingSessions.values()) resolve({ ok: false, error: this.exitedError().toJSON() });
    this.pendingSessions.clear();
    for (const resolve of this.pendingHistory.values()) resolve({ kind: 'unknown' });
    this.pendingHistory.clear();
    this.markClosed();
  }
}

/**
 * A payload from the sandbox as a RawJson checked once here: the sandbox is not trusted to send JSON (a function that
 * wrote on its worker's bus could make it send anything), and its bytes go on as they are (spliced into a stored
 * answer, a journal line), so they are parsed once, here, and never serialised again. Throws when they are not JSON.
 */
function checked(payload: Buffer | null): RawJson {
  const raw = new RawJson(payload ?? NULL_JSON);
  void raw.value;
  return raw;
}

const NULL_JSON = Buffer.from('null');

/** A sandbox's result: a SUCCEEDED output is the frame's bytes. Bytes that are not JSON fail the execution, not the platform. */
function resultOf(r: ResultOnWire, payload: Buffer | null): ExecutionResult {
  if (r.status !== 'SUCCEEDED') return r;
  try {
    return { status: 'SUCCEEDED', output: checked(payload) };
  } catch (err) {
    return { status: 'FAILED', error: 'MF_INTERNAL', cause: `the sandbox sent an output that is not JSON: ${(err as Error).message}` };
  }
}

/** A checkpoint with its input the frame's bytes, checked; one whose input is not JSON keeps its records and resumes nothing. */
function checkpointOf(c: CheckpointOnWire, payload: Buffer | null): Checkpoint {
  try {
    return { ...c, input: checked(payload) };
  } catch {
    return { ...c, state: '', input: null, unusable: true };
  }
}
