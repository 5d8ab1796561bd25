/**
 * The session integrations of a workflow's Task (docs/asl.md#platform-integrations), the same wherever the engine
 * runs: `session:start` starts a session in the execution's app and answers its state; `session:start.sync` also
 * waits until it ends, answers its final state, and fails the Task with MF_SESSION_FAILED when it failed. The Task's
 * TimeoutSeconds and HeartbeatSeconds bound the wait, as on AWS; when they expire (or the execution stops), the
 * session the Task waits for is stopped, as AWS stops a `.sync` job, so nothing outlives the wait unowned.
 */
import { TaskFailure, type IntegrationCall } from '../asl/index.js';
import { MfError, toMfError } from '../errors.js';
import type { SessionReply, SessionState, SessionTaskOp } from './types.js';

/** The app's sessions, as a session Task reaches them: the frontend's registry, or the frontend asked over a socket. */
export interface SessionTaskService {
  start(spec: unknown): Promise<SessionState>;
  /** Resolves with the final state once the session has ended (at once when it already has). */
  waitEnded(sessionId: string): Promise<SessionState>;
  stop(sessionId: string, reason: string): Promise<unknown>;
}

export async function runSessionTask(service: SessionTaskService, call: IntegrationCall): Promise<SessionState> {
  const started = await service.start(call.input);
  if (call.integration === 'session:start') return started;
  const stop = () => void service.stop(started.sessionId, `the Task '${call.stateName}' waiting for it ended (timeout or stop)`).catch(() => undefined);
  if (call.signal.aborted) stop();
  else call.signal.addEventListener('abort', stop, { once: true });
  let final: SessionState;
  try {
    final = started.status === 'RUNNING' ? await service.waitEnded(started.sessionId) : started;
  } finally {
    call.signal.removeEventListener('abort', stop);
  }
  if (final.status === 'FAILED') throw new TaskFailure('MF_SESSION_FAILED', JSON.stringify(final));
  return final;
}

/** The frontend's side of a session Task asked over a sandbox's socket: never rejects, a failure is an error reply. */
export async function serveSessionTask(service: SessionTaskService, op: SessionTaskOp): Promise<SessionReply> {
  try {
    const value = op.op === 'start' ? await service.start(op.spec) : op.op === 'wait' ? await service.waitEnded(op.sessionId) : await service.stop(op.sessionId, op.reason);
    return { ok: true, value };
  } catch (err) {
    return { ok: false, error: toMfError(err).toJSON() };
  }
}

/** A SessionTaskService that asks over a socket (the engine in a sandbox asks the frontend). */
export function askingSessionTasks(ask: (op: SessionTaskOp) => Promise<SessionReply>): SessionTaskService {
  const call = async (op: SessionTaskOp): Promise<unknown> => {
    const reply = await ask(op);
    if (!reply.ok) throw MfError.fromJSON(reply.error);
    return reply.value;
  };
  return {
    start: async (spec) => (await call({ op: 'start', spec })) as SessionState,
    waitEnded: async (sessionId) => (await call({ op: 'wait', sessionId })) as SessionState,
    stop: (sessionId, reason) => call({ op: 'stop', sessionId, reason }),
  };
}
