/**
 * Sessions as a frontend whose hosts are remote serves them (docs/distributed.md, "Sessions on hosts"). It owns no
 * sandboxes: a session start goes to the host the placement rule picks, and everything asked of a session later goes
 * to the host the broker's session directory names (hosts/sessions.ts), so any frontend reaches any session. A host
 * that does not answer is given until the host registry counts it gone (its heartbeat entry expires); a session whose
 * host is gone, or lives again as another process, has failed with it: the first frontend to find that records the
 * session FAILED (reason `host-lost: …`), and every frontend answers that from then on. Nothing waits unbounded.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { MfError } from '../../errors.js';
import { checkSessionStart, checkTarget } from '../../sessions/spec.js';
import type { SessionTaskService } from '../../sessions/task.js';
import type { SessionRecord, SessionReply, SessionState } from '../../sessions/types.js';
import type { AppRegistry } from '../apps.js';
import type { EndedSession, SessionService } from '../sessions.js';
import { HOST_TTL_MS, type HostInfo, type HostRegistry } from './registry.js';
import { HOST_REPLY_MS, lostRecord, lostState, type HostAnswer, type HostSessionRequest, type SessionDirectory, type SessionEntry } from './sessions.js';

/** How long a host that does not answer is asked again before it must have left the registry. */
const UNANSWERED_FOR_MS = HOST_TTL_MS + 4_000;
/** How often a waiter for a session's end looks again. */
const WAIT_POLL_MS = 1_000;

export class RemoteSessions implements SessionService {
  constructor(
    private readonly apps: AppRegistry,
    private readonly directory: SessionDirectory,
    private readonly hosts: HostRegistry,
    /** The host the placement rule picks for a new session (placement/on-hosts.ts). */
    private readonly place: () => Promise<HostInfo>,
  ) {}

  async start(appName: string, body: unknown): Promise<SessionState> {
    const app = this.apps.get(appName);
    // Bad input is refused here, before a host is bothered; the host checks it again.
    checkSessionStart(
      body,
      app.prepared.functions.map((f) => f.name),
    );
    const host = await this.place();
    const answer = await this.directory.ask(host.hostId, { op: 'start', app: appName, body });
    if (answer === 'unanswered') throw new MfError('MF_HOST_LOST', `host "${host.hostId}" did not answer the session start`, { host: host.hostId });
    return parsed<SessionState>(answer);
  }

  async list(appName: string): Promise<SessionState[]> {
    this.apps.get(appName);
    const mine = await this.directory.all(appName);
    const states = await Promise.all(mine.map((s) => this.state(appName, s.sessionId).catch(() => null)));
    return states.filter((s): s is SessionState => s !== null);
  }

  async state(appName: string, sessionId: string): Promise<SessionState> {
    const r = await this.ask(appName, sessionId, { op: 'state', app: appName, sessionId });
    return 'ended' in r ? r.ended : parsed<SessionState>(r.answer);
  }

  async records(appName: string, sessionId: string): Promise<SessionRecord[]> {
    const r = await this.ask(appName, sessionId, { op: 'records', app: appName, sessionId }, { askEnded: true });
    return 'ended' in r ? [lostRecord(r.ended)] : parsed<SessionRecord[]>(r.answer);
  }

  /** The message is serialised once, here, and crosses the broker as that text. */
  async send(appName: string, sessionId: string, body: unknown): Promise<void> {
    const b = (typeof body === 'object' && body !== null ? body : {}) as { target?: unknown; message?: unknown };
    if (!('message' in b)) throw new MfError('MF_BAD_REQUEST', 'a session message takes {"target"?, "message"}');
    const target = checkTarget(b.target);
    const r = await this.ask(appName, sessionId, { op: 'send', app: appName, sessionId, target }, { payload: JSON.stringify(b.message) ?? 'null' });
    if ('ended' in r) throw endedError(r.ended);
    parsed(r.answer);
  }

  /** The host answers the messages as JSON text, passed on as it is. */
  async receive(appName: string, sessionId: string, count: number, timeoutMs: number): Promise<string> {
    const r = await this.ask(appName, sessionId, { op: 'receive', app: appName, sessionId, count, timeoutMs }, { waitMs: timeoutMs });
    if ('ended' in r) throw endedError(r.ended);
    if (!r.answer.ok) throw MfError.fromJSON(r.answer.error);
    return r.answer.text;
  }

  async stop(appName: string, sessionId: string, reason = 'stopped by request'): Promise<SessionState> {
    const r = await this.ask(appName, sessionId, { op: 'stop', app: appName, sessionId, reason });
    return 'ended' in r ? r.ended : parsed<SessionState>(r.answer);
  }

  /** Looks every second (a workflow's Tasks run on hosts, which wait on their own sessions without this). */
  async waitEnded(appName: string, sessionId: string): Promise<SessionState> {
    for (;;) {
      const state = await this.state(appName, sessionId);
      if (state.status !== 'RUNNING') return state;
      await sleep(WAIT_POLL_MS);
    }
  }

  tasks(appName: string): SessionTaskService {
    return {
      start: (spec) => this.start(appName, spec),
      waitEnded: (sessionId) => this.waitEnded(appName, sessionId),
      stop: (sessionId, reason) => this.stop(appName, sessionId, reason),
    };
  }

  /** The hosts stop an app's sessions themselves when its manifest goes from the broker (hosts/agent.ts). */
  async stopApp(): Promise<void> {}

  /** Pipes are brokered by the hosts whose sandboxes they join; none starts here. */
  async broker(): Promise<SessionReply> {
    return { ok: false, error: new MfError('MF_INTERNAL', 'a frontend with remote hosts has no sandboxes to broker a pipe for').toJSON() };
  }

  onEnded(_end: EndedSession): void {}

  /**
   * Asks the session's host, or answers its final state when it has ended (with `askEnded`, an ended session's host
   * is still asked: it keeps the records). A host that does not answer is asked again until it is gone from the
   * registry; a host gone, or alive as another process that does not know the session, has lost it.
   */
  private async ask(
    appName: string,
    sessionId: string,
    req: HostSessionRequest,
    options: { payload?: string; waitMs?: number; askEnded?: boolean } = {},
  ): Promise<{ answer: HostAnswer } | { ended: SessionState }> {
    this.apps.get(appName);
    const deadline = Date.now() + UNANSWERED_FOR_MS;
    for (;;) {
      const found = await this.directory.get(appName, sessionId);
      if (!found || found.entry.app !== appName) throw notFound(sessionId, appName);
      const { entry, revision } = found;
      if (entry.ended && entry.state && !options.askEnded) return { ended: entry.state };
      const answer = await this.directory.ask(entry.hostId, req, options);
      if (answer !== 'unanswered' && (answer.ok || answer.error.code !== 'MF_SESSION_NOT_FOUND')) return { answer };
      const host = (await this.liveHosts()).find((h) => h.hostId === entry.hostId);
      if (entry.ended && entry.state && (answer === 'unanswered' || host?.startedAt !== entry.hostStartedAt)) return { ended: entry.state };
      if (!host || host.startedAt !== entry.hostStartedAt) return { ended: await this.lost(sessionId, entry, revision, host) };
      // The host lives as the process that runs the session: it did not answer in time, or the session just ended.
      if (answer !== 'unanswered') {
        const again = await this.directory.get(appName, sessionId);
        if (again?.entry.ended && again.entry.state) return { ended: again.entry.state };
        return { answer };
      }
      if (Date.now() > deadline) throw new MfError('MF_HOST_LOST', `host "${entry.hostId}", which runs session ${sessionId}, did not answer for ${UNANSWERED_FOR_MS} ms`, { host: entry.hostId, session: sessionId });
      await sleep(250);
    }
  }

  /** The live hosts; a read the broker does not answer within HOST_REPLY_MS is MF_STORAGE_FAILED, not a hang. */
  private async liveHosts(): Promise<HostInfo[]> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new MfError('MF_STORAGE_FAILED', `the broker did not list the live hosts within ${HOST_REPLY_MS} ms`)), HOST_REPLY_MS);
    });
    try {
      return await Promise.race([this.hosts.live(), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Records the session FAILED with its host; if its host wrote a real end first, that end stands. */
  private async lost(sessionId: string, entry: SessionEntry, revision: number, host: HostInfo | undefined): Promise<SessionState> {
    const why = host ? `host "${entry.hostId}" was restarted (a new process with the same id does not run it)` : `host "${entry.hostId}" stopped heartbeating`;
    const state = lostState(sessionId, entry, why);
    const now = await this.directory.endIfUnchanged(sessionId, revision, { ...entry, state, ended: true });
    return now.state ?? state;
  }
}

function parsed<T = unknown>(answer: HostAnswer): T {
  if (!answer.ok) throw MfError.fromJSON(answer.error);
  return JSON.parse(answer.text) as T;
}

function notFound(sessionId: string, app: string): MfError {
  return new MfError('MF_SESSION_NOT_FOUND', `no session "${sessionId}" in app "${app}"`, { session: sessionId, app });
}

function endedError(state: SessionState): MfError {
  return new MfError('MF_SESSION_ENDED', `session ${state.sessionId} has ${state.status === 'FAILED' ? 'failed' : 'ended'}: ${state.reason ?? ''}`, { session: state.sessionId, status: state.status, reason: state.reason });
}
