/**
 * A session worker: one process per session function instance (docs/sessions.md). Started by the agent's session
 * manager with child_process.fork, it loads the function, listens for pipes, runs the handler once with
 * `context.session` and `context.pipe`, and exits when the handler ends (or the instance calls exit()). It is a
 * process of its own, not a pooled invocation worker, because it runs for as long as the session does.
 */
import { toMfError } from '../../errors.js';
import { invokeHandler, loadFunction, type LoadedFunction } from '../../runtime/index.js';
import { SessionRuntime } from '../../runtime/session-context.js';
import type { AgentToSessionWorker, SessionWorkerToAgent } from '../../sessions/types.js';
import { storageOverMessages } from '../../storage/client.js';

if (typeof process.send !== 'function') {
  process.stderr.write('mfbench session worker: must be started by the sandbox agent with child_process.fork\n');
  process.exit(2);
}
// The agent died or let go of us: leave no orphan behind.
process.on('disconnect', () => process.exit(0));

/** How long an ending worker waits for its last messages to leave. */
const FLUSH_TIMEOUT_MS = 2000;
let pendingWrites = 0;
let exiting: number | null = null;

function post(message: SessionWorkerToAgent): void {
  if (!process.connected) return;
  pendingWrites++;
  process.send!(message, undefined, undefined, () => {
    pendingWrites--;
    if (exiting !== null && pendingWrites === 0) process.exit(exiting);
  });
}

function exitAfterFlush(code: number): void {
  if (exiting !== null) return;
  exiting = code;
  runtime?.close();
  if (pendingWrites === 0 || !process.connected) process.exit(code);
  setTimeout(() => process.exit(code), FLUSH_TIMEOUT_MS).unref();
}

function end(outcome: Extract<SessionWorkerToAgent, { t: 'ended' }>['outcome']): void {
  if (exiting !== null) return;
  runtime?.stop();
  post({ t: 'ended', outcome });
  exitAfterFlush(outcome.ok ? 0 : 1);
}

const { storage, answer: answerStorage } = storageOverMessages((id, op) => post({ t: 'storage', id, op }));

let runtime: SessionRuntime | null = null;

async function start(m: Extract<AgentToSessionWorker, { t: 'start' }>): Promise<void> {
  let fn: LoadedFunction;
  try {
    fn = await loadFunction(m.spec);
  } catch (err) {
    end({ ok: false, errorType: toMfError(err).code, errorMessage: toMfError(err).message });
    return;
  }
  const r = new SessionRuntime(m.identity, m.maxMessageBytes, post, () => end({ ok: true }));
  runtime = r;
  await r.listen();
  post({ t: 'running' });
  const info = { invocationId: `${m.identity.sessionId}/${m.identity.instance}`, executionId: null, deadline: m.deadline };
  const outcome = await invokeHandler(fn, m.input, info, { checkSerializable: false, storage, session: { session: r.session, pipe: r.pipe } });
  for (const line of outcome.logs) process.stdout.write(`${m.identity.instance}: ${line.message}\n`);
  end(outcome.outcome.ok ? { ok: true } : { ok: false, errorType: outcome.outcome.error.errorType, errorMessage: outcome.outcome.error.errorMessage });
}

process.on('message', (m: AgentToSessionWorker) => {
  switch (m.t) {
    case 'start':
      void start(m).catch((err: unknown) => end({ ok: false, errorType: 'MF_INTERNAL', errorMessage: toMfError(err).message }));
      return;
    case 'message':
      runtime?.deliver(m.from, m.json, m.sent, m.routed);
      return;
    case 'send-result':
      runtime?.answer(m.id, { error: m.error });
      return;
    case 'pipe-target':
      runtime?.answer(m.id, { error: m.error, target: m.target });
      return;
    case 'stop':
      runtime?.stop();
      return;
    case 'storage-result':
      answerStorage(m.id, m.reply);
      return;
  }
});

const crash = (err: unknown): void => {
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`mfbench session worker ${process.pid}: ${e.stack ?? e.message}\n`);
  end({ ok: false, errorType: e.name, errorMessage: e.message });
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
