/**
 * The worker's message handling, loaded by main.ts right after it reported `booted`: loads the one function
 * this process serves, runs invocations (many may be in flight at once) and reports results; on an uncaught
 * exception or unhandled rejection it fails every in-flight invocation, flushes, and exits(1) so the agent
 * replaces it.
 */
import { now } from '../../clock.js';
import { MfError, toMfError } from '../../errors.js';
import type { AgentToWorker, LambdaError, WorkerToAgent } from '../../protocol.js';
import {
  abortInvocation,
  failAllInFlight,
  invokeHandler,
  loadFunction,
  resultSerializationError,
  RUNTIME_ERROR_TYPES,
  toLambdaError,
  unhandledRejectionError,
  type HandlerOutcome,
  type InvokeOptions,
  type LoadedFunction,
} from '../../runtime/index.js';
import { storageClient } from '../../storage/client.js';
import type { StorageReply } from '../../storage/types.js';

type InvokeMessage = Extract<AgentToWorker, { t: 'invoke' }>;
type ResultMessage = Extract<WorkerToAgent, { t: 'result' }>;

/** The result is serialised once, by process.send; a failure there is reported as ResultSerializationError. */
const pendingStorage = new Map<number, (reply: StorageReply) => void>();
let nextStorageId = 0;
/** context.storage: each call is one request to the sandbox agent, answered by a 'storage-result'. */
const storage = storageClient(
  (op) =>
    new Promise<StorageReply>((resolve) => {
      const id = nextStorageId++;
      pendingStorage.set(id, resolve);
      post({ t: 'storage', id, op });
    }),
);
const INVOKE_OPTIONS: InvokeOptions = { checkSerializable: false, storage };
/** How long a dying worker waits for its last messages to leave before exiting anyway. */
const FLUSH_TIMEOUT_MS = 2000;

let pendingWrites = 0;
let exiting = false;

function onSent(): void {
  pendingWrites--;
  if (exiting && pendingWrites === 0) process.exit(1);
}

/** Sends a message to the agent. Throws only if the message cannot be serialised. */
function post(msg: WorkerToAgent): void {
  if (!process.connected) return;
  (process.send as NonNullable<typeof process.send>)(msg, undefined, undefined, onSent);
  pendingWrites++;
}

/** Starts serving; returns the handler for the agent's messages. */
export function startWorker(): (m: AgentToWorker) => void {
  let loaded: LoadedFunction | undefined;
  let loading: Promise<LoadedFunction | undefined> | undefined;
  let loadReplied = false;
  let fatalError: LambdaError | undefined;

  const sendResult = (id: string, o: HandlerOutcome): void => {
    const msg: ResultMessage = { t: 'result', id, handlerStart: o.handlerStart, handlerEnd: o.handlerEnd, logs: o.logs, outcome: o.outcome };
    try {
      post(msg);
    } catch (err) {
      // The only value in the message that can fail to serialise is the function's result.
      msg.outcome = { ok: false, error: resultSerializationError(err) };
      post(msg);
    }
  };

  const failResult = (id: string, error: LambdaError): void => {
    const t = now();
    post({ t: 'result', id, handlerStart: t, handlerEnd: t, logs: [], outcome: { ok: false, error } });
  };

  const run = (fn: LoadedFunction, m: InvokeMessage): void => {
    invokeHandler(fn, m.event, { invocationId: m.id, executionId: m.executionId, idempotencyKey: m.idempotencyKey, deadline: m.deadline }, INVOKE_OPTIONS).then(
      (o) => sendResult(m.id, o),
      // invokeHandler never rejects; if it ever does, the agent still gets an answer.
      (err: unknown) => failResult(m.id, toLambdaError(err)),
    );
  };

  const onInvoke = (m: InvokeMessage): void => {
    if (fatalError !== undefined) return failResult(m.id, fatalError);
    if (loaded !== undefined) return run(loaded, m);
    if (loading !== undefined) {
      void loading.then((fn) => (fn !== undefined ? run(fn, m) : failResult(m.id, notLoaded('its function failed to load'))));
      return;
    }
    failResult(m.id, notLoaded('no function was loaded (send "load" first)'));
  };

  const onLoad = (m: Extract<AgentToWorker, { t: 'load' }>): void => {
    if (loading !== undefined) {
      const current = loaded?.spec.name ?? 'a function';
      post({
        t: 'load-failed',
        error: new MfError('MF_INTERNAL', `this worker already loaded ${current}; a worker serves one function (start a new worker)`, {
          requested: m.spec.name,
        }).toJSON(),
      });
      return;
    }
    loading = loadFunction(m.spec).then(
      (fn) => {
        loaded = fn;
        if (!loadReplied) {
          loadReplied = true;
          post({ t: 'loaded', initMs: fn.initMs });
        }
        return fn;
      },
      (err: unknown) => {
        if (!loadReplied) {
          loadReplied = true;
          post({ t: 'load-failed', error: toMfError(err).toJSON() });
        }
        return undefined;
      },
    );
  };

  const die = (error: LambdaError, what: string, detail: unknown): void => {
    if (fatalError !== undefined) return;
    fatalError = error;
    process.stderr.write(`mfbench worker ${process.pid}: ${what}: ${detail instanceof Error ? (detail.stack ?? detail.message) : String(detail)}\n`);
    if (loading !== undefined && !loadReplied) {
      // The module's own start-up code crashed the process while it was being imported.
      loadReplied = true;
      post({
        t: 'load-failed',
        error: new MfError('MF_FUNCTION_INIT_FAILED', `the function's module crashed the worker while loading: ${error.errorType}: ${error.errorMessage}`, {
          errorType: error.errorType,
          errorMessage: error.errorMessage,
          trace: error.trace,
        }).toJSON(),
      });
    }
    failAllInFlight(error);
    // The failed outcomes are sent from promise reactions: let them run, then wait for the writes to drain.
    setImmediate(() => {
      exiting = true;
      if (pendingWrites === 0 || !process.connected) process.exit(1);
      setTimeout(() => process.exit(1), FLUSH_TIMEOUT_MS).unref();
    });
  };

  process.on('uncaughtException', (err) => die(toLambdaError(err), 'uncaught exception', err));
  process.on('unhandledRejection', (reason) => die(unhandledRejectionError(reason), 'unhandled promise rejection', reason));

  return (m: AgentToWorker): void => {
    switch (m.t) {
      case 'invoke':
        onInvoke(m);
        return;
      case 'load':
        onLoad(m);
        return;
      case 'cancel':
        abortInvocation(m.id, m.reason);
        return;
      case 'storage-result': {
        const resolve = pendingStorage.get(m.id);
        pendingStorage.delete(m.id);
        resolve?.(m.reply);
        return;
      }
      default:
        process.stderr.write(`mfbench worker: ignoring unknown message ${JSON.stringify(m)?.slice(0, 200)}\n`);
    }
  };
}

function notLoaded(why: string): LambdaError {
  return { errorType: RUNTIME_ERROR_TYPES.functionNotLoaded, errorMessage: `this worker cannot run the invocation: ${why}`, trace: [] };
}
