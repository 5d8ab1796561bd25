/**
 * A host agent's side of sessions on hosts (docs/distributed.md, "Sessions on hosts"): it runs the sessions placed
 * on it in its own sandboxes (SessionRegistry, as a single platform does), records on the broker where each one runs
 * and how it ended (hosts/sessions.ts), answers what frontends ask of them, and brokers pipes that cross hosts: to
 * an instance here, with a one-shot token for its pipe listener; from an instance here to another host's instance,
 * with a relay from the opener's sandbox folder to that host's listener over TCP.
 */
import { MfError } from '../../errors.js';
import type { RemotePipeTarget, SessionReply, SessionState } from '../../sessions/types.js';
import { openRelay } from '../pipe-relay.js';
import type { PipeOpener } from '../sandboxes.js';
import type { EndedSession, SessionHooks, SessionRegistry } from '../sessions.js';
import type { PipeListener } from './pipe-listener.js';
import { HostAnswerText, type HostSessionRequest, type PipeExport, type SessionDirectory, type SessionEntry } from './sessions.js';

export class HostSessions implements SessionHooks {
  /** Each session's directory writes, in order: a quick end never lands before its start. */
  private readonly writes = new Map<string, Promise<void>>();

  constructor(
    private readonly directory: SessionDirectory,
    private readonly hostId: string,
    private readonly hostStartedAt: number,
    private readonly listener: PipeListener,
  ) {}

  placed(sessionId: string, app: string, state: SessionState | null): Promise<void> {
    return this.write(sessionId, () => this.directory.put(sessionId, this.entry(app, state, false)));
  }

  ended(end: EndedSession): void {
    // Off the caller's path; a failed write leaves the entry RUNNING, which frontends then find unknown here and end.
    this.write(sessionId(end), () => this.directory.put(sessionId(end), this.entry(end.state.app, end.state, true))).catch(() => undefined);
  }

  abandoned(id: string, app: string): void {
    this.write(id, () => this.directory.remove(app, id)).catch(() => undefined);
  }

  async remotePipe(appName: string, to: RemotePipeTarget, opener: PipeOpener): Promise<SessionReply | null> {
    const found = await this.directory.get(appName, to.session);
    if (!found || found.entry.app !== appName || found.entry.ended || found.entry.hostId === this.hostId) return null;
    const { hostId } = found.entry;
    const answer = await this.directory.ask(hostId, { op: 'pipe-export', app: appName, sessionId: to.session, instance: to.instance });
    if (answer === 'unanswered') throw new MfError('MF_HOST_LOST', `host "${hostId}", which runs session ${to.session}, does not answer`, { host: hostId, session: to.session });
    if (!answer.ok) throw MfError.fromJSON(answer.error);
    const far = JSON.parse(answer.text) as PipeExport;
    const path = await openRelay(opener.dir, { host: far.host, port: far.port, token: far.token });
    return { ok: true, value: { path, peer: far.peer } };
  }

  /** Answers a frontend's (or another host's) request for a session of this host. `ready` deploys the app here. */
  async serve(sessions: SessionRegistry, ready: (app: string) => Promise<unknown>, req: HostSessionRequest, payload: string): Promise<unknown> {
    await ready(req.app);
    switch (req.op) {
      case 'start':
        return sessions.start(req.app, req.body);
      case 'list':
        return sessions.list(req.app);
      case 'state':
        return sessions.state(req.app, req.sessionId);
      case 'records':
        return sessions.records(req.app, req.sessionId);
      case 'send':
        return sessions.sendJson(req.app, req.sessionId, req.target, payload);
      case 'receive':
        return new HostAnswerText(await sessions.receive(req.app, req.sessionId, req.count, req.timeoutMs));
      case 'stop':
        return sessions.stop(req.app, req.sessionId, req.reason);
      case 'pipe-export': {
        const address = await sessions.pipeAddress(req.app, req.sessionId, req.instance);
        return { host: this.listener.host, port: this.listener.port, token: this.listener.expect(address.path), peer: address.peer } satisfies PipeExport;
      }
      default:
        throw new MfError('MF_BAD_REQUEST', `unknown session request ${JSON.stringify((req as { op?: unknown }).op)}`);
    }
  }

  /** Resolves once every directory write begun so far has landed (or failed): before the broker connection closes. */
  async flush(): Promise<void> {
    await Promise.all([...this.writes.values()].map((w) => w.catch(() => undefined)));
  }

  private entry(app: string, state: SessionState | null, ended: boolean): SessionEntry {
    return { app, hostId: this.hostId, hostStartedAt: this.hostStartedAt, state, ended };
  }

  private write(id: string, body: () => Promise<void>): Promise<void> {
    const next = (this.writes.get(id) ?? Promise.resolve()).catch(() => undefined).then(body);
    this.writes.set(id, next);
    const forget = (): void => {
      if (this.writes.get(id) === next) this.writes.delete(id);
    };
    next.then(forget, forget);
    return next;
  }
}

function sessionId(end: EndedSession): string {
  return end.state.sessionId;
}
