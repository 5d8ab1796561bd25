/**
 * The sessions of a platform that owns its sandboxes (docs/sessions.md): a single platform, or a host agent that
 * runs the sessions frontends place on it (hosts/host-sessions.ts adds what the broker needs to know). Which sandbox
 * runs each live session, and the final state and records of those that ended. A session holds a slot on a sandbox of its app for its whole life; the sandbox's agent runs
 * it, and everything a caller asks of a live session is one operation to that agent.
 */
import { randomUUID } from 'node:crypto';
import { now } from '../clock.js';
import { MfError } from '../errors.js';
import { checkSessionStart, checkTarget } from '../sessions/spec.js';
import { toMfError } from '../errors.js';
import type { SessionTaskService } from '../sessions/task.js';
import type { OutboxMessage, PipeAddress, RemotePipeTarget, SessionOp, SessionPolicy, SessionRecord, SessionReply, SessionState } from '../sessions/types.js';
import { openRelay } from './pipe-relay.js';
import type { PipeOpener } from './sandboxes.js';
import type { AppRegistry } from './apps.js';
import type { SandboxLink } from './sandbox-link.js';

interface LiveSession {
  app: string;
  link: SandboxLink;
  policy: SessionPolicy;
  release(): void;
}

export interface EndedSession {
  state: SessionState;
  records: SessionRecord[];
}

/** Ended sessions kept for `GET` (oldest forgotten first). */
const MAX_ENDED = 1000;
/** Records kept across ended sessions; past it the oldest sessions lose theirs (their state stays). */
const MAX_ENDED_RECORDS = 200_000;

/** A platform's sessions as its HTTP API and workflows reach them: run here (SessionRegistry) or on host agents (hosts/remote-sessions.ts). */
export interface SessionService {
  start(appName: string, body: unknown): Promise<SessionState>;
  list(appName: string): Promise<SessionState[]>;
  state(appName: string, sessionId: string): Promise<SessionState>;
  records(appName: string, sessionId: string): Promise<SessionRecord[]>;
  send(appName: string, sessionId: string, body: unknown): Promise<void>;
  receive(appName: string, sessionId: string, count: number, timeoutMs: number): Promise<string>;
  stop(appName: string, sessionId: string, reason?: string): Promise<SessionState>;
  waitEnded(appName: string, sessionId: string): Promise<SessionState>;
  tasks(appName: string): SessionTaskService;
  /** `reason` says why (default: the app was deleted). */
  stopApp(appName: string, reason?: string): Promise<void>;
  broker(appName: string, to: RemotePipeTarget, opener: PipeOpener): Promise<SessionReply>;
  onEnded(end: EndedSession): void;
}

/**
 * What a host agent adds to the sessions it runs (hosts/host-sessions.ts): it records where each one runs and how
 * it ended on the broker, and brokers pipes to sessions of other hosts.
 */
export interface SessionHooks {
  /** A session is about to start here (`state` null) or has started (its state). */
  placed(sessionId: string, app: string, state: SessionState | null): Promise<void>;
  ended(end: EndedSession): void;
  /** A session that was placed here never started (its start failed). */
  abandoned(sessionId: string, app: string): void;
  /** A pipe to a session this registry does not run: null when no other place runs it either. */
  remotePipe(appName: string, to: RemotePipeTarget, opener: PipeOpener): Promise<SessionReply | null>;
}

export class SessionRegistry implements SessionService {
  private readonly live = new Map<string, LiveSession>();
  private readonly ended = new Map<string, EndedSession>();
  private endedRecords = 0;
  /** Who waits for a live session to end (a workflow's session:start.sync Task). */
  private readonly endWaiters = new Map<string, Array<(state: SessionState) => void>>();

  constructor(
    private readonly apps: AppRegistry,
    private readonly hooks: SessionHooks | null = null,
  ) {}

  /** Sessions running here now (a host agent advertises it, so placement counts them). */
  get liveCount(): number {
    return this.live.size;
  }

  /** Starts a session in a sandbox of the app; answers once every instance runs (or the session already ended). */
  async start(appName: string, body: unknown): Promise<SessionState> {
    const app = this.apps.get(appName);
    const spec = checkSessionStart(
      body,
      app.prepared.functions.map((f) => f.name),
    );
    const sessionId = randomUUID();
    await this.hooks?.placed(sessionId, appName, null);
    let held: Awaited<ReturnType<typeof app.sandboxes.hold>>;
    try {
      held = await app.sandboxes.hold();
    } catch (err) {
      this.hooks?.abandoned(sessionId, appName);
      throw err;
    }
    const { link, release } = held;
    this.live.set(sessionId, { app: appName, link, policy: spec.policy, release });
    // A sandbox that dies takes its sessions with it.
    void link.closed.then(() => this.lost(sessionId, link));
    try {
      const state = (await this.ask(sessionId, { op: 'start', sessionId, spec })) as SessionState;
      const ended = this.ended.get(sessionId)?.state;
      if (!ended) await this.hooks?.placed(sessionId, appName, state);
      return ended ?? state;
    } catch (err) {
      if (this.live.delete(sessionId)) release();
      if (!this.ended.has(sessionId)) this.hooks?.abandoned(sessionId, appName);
      throw err;
    }
  }

  /** The app's sessions, live ones as their agents see them now. */
  async list(appName: string): Promise<SessionState[]> {
    this.apps.get(appName);
    const live = [...this.live].filter(([, s]) => s.app === appName).map(([id]) => this.state(appName, id).catch(() => null));
    // A session that ended while its agent was asked is listed once, in its final state.
    const states = (await Promise.all(live)).filter((s): s is SessionState => s !== null && !this.ended.has(s.sessionId));
    for (const e of this.ended.values()) if (e.state.app === appName) states.push(e.state);
    return states;
  }

  async state(appName: string, sessionId: string): Promise<SessionState> {
    const ended = this.endedOf(appName, sessionId);
    if (ended) return ended.state;
    this.liveOf(appName, sessionId);
    return (await this.ask(sessionId, { op: 'state', sessionId })) as SessionState;
  }

  async records(appName: string, sessionId: string): Promise<SessionRecord[]> {
    const ended = this.endedOf(appName, sessionId);
    if (ended) return ended.records;
    this.liveOf(appName, sessionId);
    return (await this.ask(sessionId, { op: 'records', sessionId })) as SessionRecord[];
  }

  /** Sends a message from outside: `{ target?, message }`; the message is serialised once, here. */
  async send(appName: string, sessionId: string, body: unknown): Promise<void> {
    const ended = this.endedOf(appName, sessionId);
    if (ended) throw endedError(ended.state);
    this.liveOf(appName, sessionId);
    const b = (typeof body === 'object' && body !== null ? body : {}) as { target?: unknown; message?: unknown };
    if (!('message' in b)) throw new MfError('MF_BAD_REQUEST', 'a session message takes {"target"?, "message"}');
    await this.sendJson(appName, sessionId, b.target, JSON.stringify(b.message) ?? 'null');
  }

  /** Sends a message already serialised (a frontend sent it to this host as text: hosts/host-sessions.ts). */
  async sendJson(appName: string, sessionId: string, rawTarget: unknown, json: string): Promise<void> {
    const ended = this.endedOf(appName, sessionId);
    if (ended) throw endedError(ended.state);
    const session = this.liveOf(appName, sessionId);
    const target = checkTarget(rawTarget);
    const bytes = Buffer.byteLength(json);
    if (bytes > session.policy.maxMessageBytes) {
      throw new MfError('MF_SESSION_MESSAGE_TOO_LARGE', `the message is ${bytes} bytes, over the session's limit of ${session.policy.maxMessageBytes}`, { bytes, limit: session.policy.maxMessageBytes });
    }
    await this.ask(sessionId, { op: 'send', sessionId, target, json, sent: now() });
  }

  /**
   * Takes up to `count` messages the session's functions sent to "client", waiting up to `timeoutMs` for one; the
   * answer is JSON text with each message's own text spliced in, so a message is never serialised again.
   */
  async receive(appName: string, sessionId: string, count: number, timeoutMs: number): Promise<string> {
    const ended = this.endedOf(appName, sessionId);
    if (ended) throw endedError(ended.state);
    this.liveOf(appName, sessionId);
    const messages = (await this.ask(sessionId, { op: 'receive', sessionId, count, timeoutMs })) as OutboxMessage[];
    return `{"messages":[${messages.map((m) => `{"from":${JSON.stringify(m.from)},"body":${m.json}}`).join(',')}]}`;
  }

  /** Stops a session: its instances are told, killed after a grace period, and its final state answered. */
  async stop(appName: string, sessionId: string, reason = 'stopped by request'): Promise<SessionState> {
    const ended = this.endedOf(appName, sessionId);
    if (ended) return ended.state;
    this.liveOf(appName, sessionId);
    await this.ask(sessionId, { op: 'stop', sessionId, reason });
    return this.ended.get(sessionId)?.state ?? (await this.state(appName, sessionId));
  }

  /** Resolves with the session's final state once it has ended (at once when it already has). */
  waitEnded(appName: string, sessionId: string): Promise<SessionState> {
    const ended = this.endedOf(appName, sessionId);
    if (ended) return Promise.resolve(ended.state);
    this.liveOf(appName, sessionId);
    return new Promise((resolve) => {
      const waiters = this.endWaiters.get(sessionId);
      if (waiters) waiters.push(resolve);
      else this.endWaiters.set(sessionId, [resolve]);
    });
  }

  /** The app's sessions as a workflow's session Task reaches them (sessions/task.ts): always in the execution's app. */
  tasks(appName: string): SessionTaskService {
    return {
      start: (spec) => this.start(appName, spec),
      waitEnded: (sessionId) => this.waitEnded(appName, sessionId),
      stop: (sessionId, reason) => this.stop(appName, sessionId, reason),
    };
  }

  /** Stops every live session of an app (it is being deleted); their workers are gone when this resolves. */
  async stopApp(appName: string, reason = 'app-deleted: the app was deleted'): Promise<void> {
    const ids = [...this.live].filter(([, s]) => s.app === appName).map(([id]) => id);
    await Promise.all(ids.map((id) => this.stop(appName, id, reason).catch(() => undefined)));
    for (const [id, e] of this.ended) if (e.state.app === appName) this.forget(id);
  }

  /**
   * A pipe from an instance in the sandbox `opener` to an instance of another session of the same app: the target's
   * agent names its socket; in the same sandbox that is the address, in another one a relay joins the two
   * (pipe-relay.ts). Never rejects: a failure is an error reply for the opener's agent.
   */
  async broker(appName: string, to: RemotePipeTarget, opener: PipeOpener): Promise<SessionReply> {
    try {
      const live = this.live.get(to.session);
      if (!live || live.app !== appName) {
        const remote = this.ended.has(to.session) ? null : await this.hooks?.remotePipe(appName, to, opener);
        if (remote) return remote;
        throw notFound(to.session, appName);
      }
      const address = (await this.ask(to.session, { op: 'pipe-address', sessionId: to.session, target: to.instance })) as PipeAddress;
      if (live.link.id === opener.sandboxId) return { ok: true, value: address };
      const path = await openRelay(opener.dir, address.path);
      return { ok: true, value: { path, peer: address.peer } satisfies PipeAddress };
    } catch (err) {
      return { ok: false, error: toMfError(err).toJSON() };
    }
  }

  /** Where an instance of a live session here takes pipes (a Unix socket in its sandbox's folder). */
  async pipeAddress(appName: string, sessionId: string, instance: string): Promise<PipeAddress> {
    this.liveOf(appName, sessionId);
    return (await this.ask(sessionId, { op: 'pipe-address', sessionId, target: instance })) as PipeAddress;
  }

  /** The agent reported a session's end. */
  onEnded(end: EndedSession): void {
    const live = this.live.get(end.state.sessionId);
    if (!live) return;
    this.live.delete(end.state.sessionId);
    live.release();
    this.keepEnded(end);
  }

  private lost(sessionId: string, link: SandboxLink): void {
    const live = this.live.get(sessionId);
    if (!live || live.link !== link) return;
    this.live.delete(sessionId);
    live.release();
    const t = new Date().toISOString();
    const reason = `its sandbox ${link.id} exited`;
    this.keepEnded({
      state: { sessionId, app: live.app, sandboxId: link.id, status: 'FAILED', reason, startedAt: t, endedAt: t, policy: live.policy, instances: [], messages: { sent: 0, delivered: 0, waitingForClient: 0, droppedForClient: 0 } },
      records: [{ kind: 'lifecycle', sessionId, instance: null, event: 'ended', reason, t: now() }],
    });
  }

  private keepEnded(end: EndedSession): void {
    this.ended.set(end.state.sessionId, end);
    this.hooks?.ended(end);
    const waiters = this.endWaiters.get(end.state.sessionId);
    this.endWaiters.delete(end.state.sessionId);
    for (const resolve of waiters ?? []) resolve(end.state);
    this.endedRecords += end.records.length;
    if (this.ended.size > MAX_ENDED) this.forget(this.ended.keys().next().value!);
    for (const old of this.ended.values()) {
      if (this.endedRecords <= MAX_ENDED_RECORDS || old === end) break;
      this.endedRecords -= old.records.length;
      old.records = [];
    }
  }

  private forget(sessionId: string): void {
    this.endedRecords -= this.ended.get(sessionId)?.records.length ?? 0;
    this.ended.delete(sessionId);
  }

  private async ask(sessionId: string, op: SessionOp): Promise<unknown> {
    const live = this.live.get(sessionId);
    if (!live) throw notFound(sessionId);
    const reply = await live.link.session(op);
    if (!reply.ok) throw MfError.fromJSON(reply.error);
    return reply.value;
  }

  private liveOf(appName: string, sessionId: string): LiveSession {
    this.apps.get(appName);
    const live = this.live.get(sessionId);
    if (!live || live.app !== appName) throw notFound(sessionId, appName);
    return live;
  }

  private endedOf(appName: string, sessionId: string): EndedSession | null {
    this.apps.get(appName);
    const ended = this.ended.get(sessionId);
    return ended && ended.state.app === appName ? ended : null;
  }
}

function notFound(sessionId: string, app?: string): MfError {
  return new MfError('MF_SESSION_NOT_FOUND', `no session "${sessionId}"${app ? ` in app "${app}"` : ''}`, { session: sessionId, ...(app ? { app } : {}) });
}

function endedError(state: SessionState): MfError {
  return new MfError('MF_SESSION_ENDED', `session ${state.sessionId} has ${state.status === 'FAILED' ? 'failed' : 'ended'}: ${state.reason ?? ''}`, { session: state.sessionId, status: state.status, reason: state.reason });
}
