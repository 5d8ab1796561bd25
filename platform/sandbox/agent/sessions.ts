/**
 * The sandbox agent's sessions (docs/sessions.md): it starts one session worker per session function instance,
 * routes messages between them and from the frontend, hands out pipe addresses, and enforces each session's policy:
 * failures (restart or fail), heartbeats, memory, maximum lifetime and idle timeout. Pipe bytes never pass here.
 */
import { fork, type ChildProcess } from 'node:child_process';

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { now } from '../../clock.js';
import { MfError, toMfError, type ErrorBody } from '../../errors.js';
import type { FunctionSpec } from '../../manifest.js';
import type {
  AgentToSessionWorker,
  OutboxMessage,
  PipeAddress,
  RemotePipeTarget,
  InstanceStatus,
  SessionOp,
  SessionPolicy,
  SessionRecord,
  SessionReply,
  SessionSpec,
  SessionState,
  SessionStatus,
  SessionTarget,
  SessionWorkerToAgent,
} from '../../sessions/types.js';
import type { StorageOp, StorageReply } from '../../storage/types.js';
import { residentBytes } from './workers.js';

const SESSION_MAIN = fileURLToPath(new URL('../worker/session-main.js', import.meta.url));
/** How often heartbeats, memory, lifetime and idleness are checked. */
const CHECK_INTERVAL_MS = 100;
/** How long a stopping instance may take to return from its handler before it is killed. */
const STOP_GRACE_MS = 2000;
/** How long an ended session still answers the frontend's questions from here (it keeps its own copy). */
const ENDED_KEPT_MS = 30_000;
/** Records kept per session; older ones are dropped and counted. */
const MAX_RECORDS = 50_000;
/** Messages to "client" kept until read; the oldest are dropped (and counted) beyond this. */
const MAX_OUTBOX = 10_000;
/** The longest a client's receive waits for a message. */
const MAX_RECEIVE_WAIT_MS = 30_000;
/** Unix socket paths are limited to 107 bytes on Linux. */
const MAX_SOCKET_PATH = 107;

/** A session's end, for the frontend: its final state and its records. */
export interface SessionEnd {
  state: SessionState;
  records: SessionRecord[];
}

interface Instance {
  readonly id: string;
  readonly spec: FunctionSpec;
  readonly input: unknown;
  alias: string | null;
  status: InstanceStatus;
  child: ChildProcess | null;
  restarts: number;
  lastHeartbeat: number;
  /** Why the agent killed its worker, so that the exit names the cause. */
  killReason: string | null;
  /** Messages for it while it starts or restarts: delivered, in order, once it runs. */
  buffered: AgentToSessionWorker[];
  /** Messages its worker has but has not read yet, oldest first: a restarted worker gets them again. */
  unread: AgentToSessionWorker[];
  readonly pipePath: string;
}

class Session {
  status: SessionStatus = 'RUNNING';
  reason: string | null = null;
  readonly startedAt = now();
  readonly startedIso = new Date().toISOString();
  endedIso: string | null = null;
  lastActivity = now();
  sent = 0;
  delivered = 0;
  readonly records: SessionRecord[] = [];
  droppedRecords = 0;
  /** Messages the functions sent to "client", oldest first, and the client receives waiting for one. */
  readonly outbox: OutboxMessage[] = [];
  outboxDropped = 0;
  readonly receivers: Array<() => void> = [];
  /** Resolved once every instance runs or the session ended: the start request's answer waits for it. */
  readonly started: Promise<void>;
  markStarted!: () => void;

  constructor(
    readonly id: string,
    readonly policy: SessionPolicy,
    readonly instances: Instance[],
  ) {
    this.started = new Promise((resolve) => (this.markStarted = resolve));
  }

  keep(record: SessionRecord): void {
    if (this.records.length >= MAX_RECORDS) {
      this.records.shift();
      this.droppedRecords++;
    }
    this.records.push(record);
  }
}

export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private nextPipe = 0;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly app: string,
    readonly sandboxId: string,
    private readonly functions: ReadonlyMap<string, FunctionSpec>,
    /** The sandbox's folder: session workers run there and put their pipe sockets there. */
    private readonly dir: string,
    private readonly storage: (op: StorageOp) => Promise<StorageReply>,
    /** Tells the frontend a session ended, with its final state and records. */
    private readonly ended: (end: SessionEnd) => void,
    /** Asks the frontend for a pipe to an instance of another session of the app, wherever it runs. */
    private readonly broker: (to: RemotePipeTarget) => Promise<SessionReply>,
  ) {
    this.timer = setInterval(() => this.check(), CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  /** Serves one operation from the frontend. Never rejects: a failure is an error reply. */
  async handle(op: SessionOp): Promise<SessionReply> {
    try {
      switch (op.op) {
        case 'start':
          return { ok: true, value: await this.start(op.sessionId, op.spec) };
        case 'send':
          this.route(this.get(op.sessionId), 'client', op.target, op.json, op.sent);
          return { ok: true, value: null };
        case 'state':
          return { ok: true, value: this.state(this.get(op.sessionId)) };
        case 'records':
          return { ok: true, value: this.get(op.sessionId).records };
        case 'receive':
          return { ok: true, value: await this.receive(this.get(op.sessionId), op.count, op.timeoutMs) };
        case 'pipe-address': {
          const target = this.pipeTarget(this.get(op.sessionId), op.target);
          return { ok: true, value: { path: target.pipePath, peer: `${op.sessionId}/${target.id}` } satisfies PipeAddress };
        }
        case 'stop': {
          const session = this.get(op.sessionId);
          await this.end(session, 'STOPPED', op.reason);
          return { ok: true, value: this.state(session) };
        }
      }
    } catch (err) {
      return { ok: false, error: toMfError(err).toJSON() };
    }
  }

  /** Stops every session (the sandbox is going away) and waits for their workers to exit. */
  async shutdown(reason = 'the sandbox shut down'): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.all([...this.sessions.values()].map((s) => this.end(s, 'STOPPED', reason)));
  }

  // ------------------------------------------------------------------ lifecycle

  private async start(sessionId: string, spec: SessionSpec): Promise<SessionState> {
    if (this.closed) throw new MfError('MF_PLATFORM_CLOSED', 'the sandbox is shutting down');
    if (this.sessions.has(sessionId)) throw new MfError('MF_INTERNAL', `session ${sessionId} already exists`);
    const counts = new Map<string, number>();
    const instances = spec.functions.map((f): Instance => {
      const n = counts.get(f.function) ?? 0;
      counts.set(f.function, n + 1);
      const fn = this.functions.get(f.function);
      if (!fn) throw new MfError('MF_FUNCTION_NOT_FOUND', `the app has no function "${f.function}"`, { function: f.function });
      return { id: `${f.function}.${n}`, spec: fn, input: f.input, alias: f.alias, status: 'starting', child: null, restarts: 0, lastHeartbeat: now(), killReason: null, buffered: [], unread: [], pipePath: this.pipePath() };
    });
    const session = new Session(sessionId, spec.policy, instances);
    this.sessions.set(sessionId, session);
    for (const instance of instances) this.spawn(session, instance);
    await session.started;
    return this.state(session);
  }

  private pipePath(): string {
    const path = join(this.dir, `p${(this.nextPipe++).toString(36)}.sock`);
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) throw new MfError('MF_CONFIG_INVALID', `the pipe socket path is too long for a Unix socket (${path}); choose a shorter dataDir`, { path });
    return path;
  }

  private spawn(session: Session, instance: Instance): void {
    instance.status = instance.restarts === 0 ? 'starting' : 'restarting';
    instance.killReason = null;
    const child = fork(SESSION_MAIN, [], { cwd: this.dir, execArgv: [], serialization: 'json', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('error', () => undefined); // a send to a worker that just died: its 'exit' tells the story
    instance.child = child;
    child.on('message', (m: SessionWorkerToAgent) => this.onWorkerMessage(session, instance, child, m));
    child.once('exit', (code, signal) => this.onWorkerExit(session, instance, child, code, signal));
    const identity = { sessionId: session.id, instance: instance.id, function: instance.spec.name, alias: instance.alias, pipePath: instance.pipePath };
    const deadline = session.startedAt + session.policy.maxLifetimeSeconds * 1000;
    child.send({ t: 'start', spec: instance.spec, identity, input: instance.input, deadline, maxMessageBytes: session.policy.maxMessageBytes } satisfies AgentToSessionWorker);
  }

  private onWorkerMessage(session: Session, instance: Instance, child: ChildProcess, m: SessionWorkerToAgent): void {
    if (instance.child !== child) return; // a worker already replaced
    switch (m.t) {
      case 'running': {
        const restarted = instance.status === 'restarting';
        instance.status = 'running';
        instance.lastHeartbeat = now();
        session.keep({ kind: 'lifecycle', sessionId: session.id, instance: instance.id, event: restarted ? 'restarted' : 'started', reason: null, t: now() });
        for (const message of instance.buffered.splice(0)) this.deliver(instance, child, message);
        if (session.instances.every((i) => i.status !== 'starting')) session.markStarted();
        return;
      }
      case 'send': {
        let error: ErrorBody | null = null;
        try {
          this.route(session, instance.id, m.target, m.json, m.sent);
        } catch (err) {
          error = toMfError(err).toJSON();
        }
        child.send({ t: 'send-result', id: m.id, error } satisfies AgentToSessionWorker);
        return;
      }
      case 'pipe-open':
        void this.pipeAddress(session, m.target).then(
          (target) => child.send({ t: 'pipe-target', id: m.id, target, error: null } satisfies AgentToSessionWorker),
          (err: unknown) => child.send({ t: 'pipe-target', id: m.id, target: null, error: toMfError(err).toJSON() } satisfies AgentToSessionWorker),
        );
        return;
      case 'heartbeat':
        instance.lastHeartbeat = now();
        return;
      case 'alias':
        if (session.instances.some((i) => i !== instance && i.alias === m.alias)) {
          process.stderr.write(`session ${session.id}: ${instance.id} cannot take the alias "${m.alias}": another instance has it\n`);
        } else instance.alias = m.alias;
        return;
      case 'records':
        for (const record of m.items) {
          if (record.kind === 'message') {
            session.delivered++;
            instance.unread.shift(); // read, in the order it was sent
          }
          session.keep(record);
        }
        return;
      case 'ended':
        if (session.status !== 'RUNNING') return; // stopping: the session's end decides its instances' states
        if (m.outcome.ok) {
          instance.status = 'exited';
          session.keep({ kind: 'lifecycle', sessionId: session.id, instance: instance.id, event: 'exited', reason: null, t: now() });
          if (session.status === 'RUNNING' && session.instances.every((i) => i.status === 'exited')) void this.end(session, 'COMPLETED', 'every instance exited');
          if (session.instances.every((i) => i.status !== 'starting')) session.markStarted();
        } else this.fail(session, instance, `${m.outcome.errorType}: ${m.outcome.errorMessage}`);
        return;
      case 'storage':
        void this.storage(m.op).then((reply) => {
          if (child.connected) child.send({ t: 'storage-result', id: m.id, reply } satisfies AgentToSessionWorker);
        });
        return;
    }
  }

  private onWorkerExit(session: Session, instance: Instance, child: ChildProcess, code: number | null, signal: string | null): void {
    if (instance.child !== child) return;
    instance.child = null;
    if (instance.status === 'exited' || instance.status === 'failed' || instance.status === 'stopped') return;
    this.fail(session, instance, instance.killReason ?? `its worker ${child.pid} exited (code ${code}, signal ${signal})`);
  }

  /** An instance failed: the policy restarts it (its buffered messages wait for it) or fails the session. */
  private fail(session: Session, instance: Instance, cause: string): void {
    if (instance.status === 'failed' || instance.status === 'stopped' || session.status !== 'RUNNING') return;
    session.keep({ kind: 'lifecycle', sessionId: session.id, instance: instance.id, event: 'failed', reason: cause, t: now() });
    const child = instance.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      // Its end was reported but the process lingers: the replacement must not share its pipe socket.
      instance.child = null;
      child.kill('SIGKILL');
    }
    if (session.policy.onFailure === 'restart' && instance.restarts < session.policy.maxRestarts && !this.closed) {
      instance.restarts++;
      instance.buffered.unshift(...instance.unread.splice(0));
      instance.status = 'restarting';
      this.spawn(session, instance);
      return;
    }
    instance.status = 'failed';
    void this.end(session, 'FAILED', `instance ${instance.id} failed: ${cause}`);
  }

  /** Ends a session: every instance is told to stop, killed after a grace period, and the frontend is told. */
  private async end(session: Session, status: Exclude<SessionStatus, 'RUNNING'>, reason: string): Promise<void> {
    if (session.status !== 'RUNNING') return;
    session.status = status;
    session.reason = reason;
    session.endedIso = new Date().toISOString();
    session.keep({ kind: 'lifecycle', sessionId: session.id, instance: null, event: 'ended', reason, t: now() });
    session.markStarted();
    for (const wake of session.receivers.splice(0)) wake();
    await Promise.all(
      session.instances.map((instance) => {
        if (instance.status !== 'exited' && instance.status !== 'failed') instance.status = 'stopped';
        const child = instance.child;
        if (!child) return;
        return stopWorker(child, reason);
      }),
    );
    this.ended({ state: this.state(session), records: session.records });
    // Still answered here for a while: the frontend may ask about it before it has read the 'ended' message
    // (a state read right after a failure would otherwise be MF_SESSION_NOT_FOUND).
    setTimeout(() => this.sessions.delete(session.id), ENDED_KEPT_MS).unref();
  }

  /** Heartbeats, memory, lifetime, idleness. */
  private check(): void {
    const t = now();
    for (const session of this.sessions.values()) {
      if (session.status !== 'RUNNING') continue;
      const { policy } = session;
      if (t - session.startedAt > policy.maxLifetimeSeconds * 1000) {
        void this.end(session, 'STOPPED', `max-lifetime: the session ran for its maximum of ${policy.maxLifetimeSeconds} s`);
        continue;
      }
      if (t - session.lastActivity > policy.idleTimeoutSeconds * 1000) {
        void this.end(session, 'STOPPED', `idle: no message for ${policy.idleTimeoutSeconds} s`);
        continue;
      }
      for (const instance of session.instances) {
        const child = instance.child;
        if (instance.status !== 'running' || !child || instance.killReason) continue;
        if (policy.heartbeatSeconds !== null && t - instance.lastHeartbeat > policy.heartbeatSeconds * 1000) {
          instance.killReason = `it missed its heartbeat deadline of ${policy.heartbeatSeconds} s`;
          child.kill('SIGKILL');
          continue;
        }
        // Read without blocking the agent's loop; the instance may have changed by the time the answer comes.
        void residentBytes(child.pid ?? -1).then((rss) => {
          if (rss === null || rss <= instance.spec.memoryMB * 1024 * 1024) return;
          if (instance.child !== child || instance.status !== 'running' || instance.killReason) return;
          instance.killReason = `it went over its memory limit of ${instance.spec.memoryMB} MB (MF_FUNCTION_MEMORY_EXCEEDED)`;
          child.kill('SIGKILL');
        });
      }
    }
  }

  // ------------------------------------------------------------------ routing

  private get(sessionId: string): Session {
    const session = this.sessions.get(sessionId);
    if (!session) throw new MfError('MF_SESSION_NOT_FOUND', `no session "${sessionId}" runs in app "${this.app}"`, { session: sessionId });
    return session;
  }

  /** Delivers one message to its targets, in the order each sender sent; buffered for an instance (re)starting. */
  private route(session: Session, from: string, target: SessionTarget, json: string, sent: number): void {
    if (session.status !== 'RUNNING') throw ended(session);
    const bytes = Buffer.byteLength(json);
    if (bytes > session.policy.maxMessageBytes) {
      throw new MfError('MF_SESSION_MESSAGE_TOO_LARGE', `the message is ${bytes} bytes, over the session's limit of ${session.policy.maxMessageBytes}`, { bytes, limit: session.policy.maxMessageBytes });
    }
    const routed = now();
    session.lastActivity = routed;
    if (target === 'client' && from !== 'client') {
      session.sent++;
      if (session.outbox.push({ from, json, sent, routed }) > MAX_OUTBOX) {
        session.outbox.shift();
        session.outboxDropped++;
      }
      session.receivers.shift()?.();
      return;
    }
    const targets = this.resolve(session, from, target);
    // All or none: a message to several instances is refused whole when one of them is full.
    const full = targets.find((i) => i.unread.length + i.buffered.length >= session.policy.maxBacklog);
    if (full) {
      throw new MfError('MF_SESSION_BACKLOG_FULL', `instance ${full.id} of session ${session.id} has ${session.policy.maxBacklog} messages unread (maxBacklog)`, { session: session.id, instance: full.id, limit: session.policy.maxBacklog });
    }
    for (const instance of targets) {
      const message: AgentToSessionWorker = { t: 'message', from, json, sent, routed };
      session.sent++;
      if (instance.status === 'running' && instance.child) this.deliver(instance, instance.child, message);
      else instance.buffered.push(message);
    }
  }

  /** Up to `count` messages to "client"; waits up to `timeoutMs` for one while the session runs. */
  private async receive(session: Session, count: number, timeoutMs: number): Promise<OutboxMessage[]> {
    if (session.outbox.length === 0 && session.status === 'RUNNING' && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          const i = session.receivers.indexOf(done);
          if (i !== -1) session.receivers.splice(i, 1);
          resolve();
        };
        const timer = setTimeout(done, Math.min(timeoutMs, MAX_RECEIVE_WAIT_MS));
        session.receivers.push(done);
      });
    }
    const taken = session.outbox.splice(0, Math.max(1, count));
    const delivered = now();
    for (const m of taken) {
      session.delivered++;
      session.keep({ kind: 'message', sessionId: session.id, from: m.from, to: 'client', bytes: Buffer.byteLength(m.json), t: { sent: m.sent, routed: m.routed, delivered } });
    }
    return taken;
  }

  private deliver(instance: Instance, child: ChildProcess, message: AgentToSessionWorker): void {
    instance.unread.push(message);
    child.send(message);
  }

  /** The live instances a target names (never the sender itself); 404 when it names none. */
  private resolve(session: Session, from: string, target: SessionTarget): Instance[] {
    const live = (i: Instance) => i.status === 'running' || i.status === 'starting' || i.status === 'restarting';
    let named: Instance[];
    if (typeof target === 'string') named = session.instances.filter((i) => i.alias === target || i.id === target);
    else if ('instance' in target) named = session.instances.filter((i) => i.id === target.instance);
    else if ('function' in target) named = session.instances.filter((i) => i.spec.name === target.function && i.id !== from);
    else named = session.instances.filter((i) => i.id !== from);
    const targets = named.filter(live);
    if (targets.length === 0) {
      const what = typeof target === 'string' ? target : JSON.stringify(target);
      throw new MfError('MF_SESSION_TARGET_NOT_FOUND', `session ${session.id} has no running instance named by ${what}`, {
        session: session.id,
        target,
        ...(named.length > 0 ? { status: named.map((i) => i.status) } : {}),
      });
    }
    return targets;
  }

  /** Where a pipe to `target` connects: an instance of this session here, or one of another session, brokered. */
  private async pipeAddress(session: Session, target: string | RemotePipeTarget): Promise<PipeAddress> {
    if (typeof target === 'string' || target.session === session.id) {
      const peer = this.pipeTarget(session, typeof target === 'string' ? target : target.instance);
      return { path: peer.pipePath, peer: peer.id };
    }
    if (session.status !== 'RUNNING') throw ended(session);
    const reply = await this.broker(target);
    if (!reply.ok) throw MfError.fromJSON(reply.error);
    return reply.value as PipeAddress;
  }

  private pipeTarget(session: Session, target: string): Instance {
    if (session.status !== 'RUNNING') throw ended(session);
    const named = session.instances.find((i) => i.alias === target || i.id === target) ?? session.instances.find((i) => i.spec.name === target && i.status === 'running');
    if (!named) throw new MfError('MF_SESSION_TARGET_NOT_FOUND', `session ${session.id} has no instance, alias or function "${target}"`, { session: session.id, target });
    if (named.status !== 'running') {
      throw new MfError('MF_PIPE_TARGET_NOT_RUNNING', `instance ${named.id} of session ${session.id} is ${named.status}, not running: no pipe can be opened to it`, { session: session.id, instance: named.id, status: named.status });
    }
    return named;
  }

  private state(session: Session): SessionState {
    return {
      sessionId: session.id,
      app: this.app,
      sandboxId: this.sandboxId,
      status: session.status,
      reason: session.reason,
      startedAt: session.startedIso,
      endedAt: session.endedIso,
      policy: session.policy,
      instances: session.instances.map((i) => ({ id: i.id, function: i.spec.name, alias: i.alias, status: i.status, pid: i.child?.pid ?? null, restarts: i.restarts })),
      messages: { sent: session.sent, delivered: session.delivered, waitingForClient: session.outbox.length, droppedForClient: session.outboxDropped },
    };
  }
}

function ended(session: Session): MfError {
  return new MfError('MF_SESSION_ENDED', `session ${session.id} has ${session.status === 'FAILED' ? 'failed' : 'ended'}: ${session.reason ?? ''}`, { session: session.id, status: session.status, reason: session.reason });
}

/** Tells a session worker to stop, and kills it when it has not exited after the grace period. */
function stopWorker(child: ChildProcess, reason: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.connected) child.send({ t: 'stop', reason } satisfies AgentToSessionWorker);
    else child.kill('SIGKILL');
  });
}

