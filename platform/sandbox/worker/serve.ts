/**
 * The worker's message handling, loaded by main.ts right after it reported `booted`: loads the one function
 * this process serves, runs invocations (many may be in flight at once) and reports results; on an uncaught
 * exception or unhandled rejection it fails every in-flight invocation, flushes, and exits(1) so the agent
 * replaces it.
 */
import { Socket } from 'node:net';
import { FrameChannel, type Frame } from '../../bus/frames.js';
import { now } from '../../clock.js';
import { MfError, toMfError } from '../../errors.js';
import { LOCAL_BUS_FD, type AgentToWorker, type AgentToWorkerFrame, type LambdaError, type WorkerToAgent, type WorkerToAgentFrame } from '../../protocol.js';
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
import { storageOverMessages } from '../../storage/client.js';
import { HandoverLinks } from './handover.js';

type InvokeFrame = Frame<Extract<AgentToWorkerFrame, { t: 'invoke' }>>;

/** context.storage: each call is one request to the sandbox agent, answered by a 'storage-result'. */
const { storage, answer: answerStorage } = storageOverMessages((id, op) => post({ t: 'storage', id, op }));
const INVOKE_OPTIONS: InvokeOptions = { checkSerializable: false, storage };
/** How long a dying worker waits for its last messages to leave before exiting anyway. */
const FLUSH_TIMEOUT_MS = 2000;

let pendingWrites = 0;
let exiting = false;

function onSent(): void {
  pendingWrites--;
  if (exiting && pendingWrites === 0) process.exit(1);
}

/** Sends a control message to the agent over the IPC channel. */
function post(msg: WorkerToAgent): void {
  if (!process.connected) return;
  (process.send as NonNullable<typeof process.send>)(msg, undefined, undefined, onSent);
  pendingWrites++;
}

/** Cancels kept for invocations that have not arrived (a withdrawn hand-over's event may still come); oldest dropped first. */
const CANCELLED_AHEAD_KEPT = 1024;

class BoundedIds {
  private readonly ids = new Set<string>();
  constructor(private readonly max: number) {}

  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value as string);
  }

  /** Whether `id` was kept (and forgets it). */
  take(id: string): boolean {
    return this.ids.delete(id);
  }
}

/** Starts serving: opens the local bus (invocations and their results) and returns the handler of the IPC channel's control messages. */
export function startWorker(): (m: AgentToWorker) => void {
  let loaded: LoadedFunction | undefined;
  let loading: Promise<LoadedFunction | undefined> | undefined;
  let loadReplied = false;
  let fatalError: LambdaError | undefined;

  const bus = new FrameChannel<AgentToWorkerFrame, WorkerToAgentFrame>(openLocalBus(), (f) => onFrame(f));
  // Invocations handed over by the previous state's worker run exactly like the agent's.
  const handover = new HandoverLinks((f) => onInvoke(f));
  let maxHandoverBytes = 0;
  // A stopped execution must not go on through hand-overs, which the agent does not see: an invocation told to stop
  // forwards nothing, and a hand-over withdrawn before its event arrived (the cancel came first) never runs.
  const told = new Set<string>();
  const cancelledAhead = new BoundedIds(CANCELLED_AHEAD_KEPT);
  const postFrame = (header: WorkerToAgentFrame, payload?: Buffer): void => {
    if (bus.send(header, payload, onSent)) pendingWrites++;
  };

  /**
   * The result is serialised and encoded here, once; its bytes are the frame's payload and their length the agent's record. When
   * the agent planned the next state, the same text goes to the next worker first, so the agent hears of it off the
   * critical path (a result over the size limit is never handed over: the agent refuses it).
   */
  const sendResult = (m: InvokeFrame['header'], o: HandlerOutcome): void => {
    const header: WorkerToAgentFrame = { t: 'result', id: m.id, handlerStart: o.handlerStart, handlerEnd: o.handlerEnd, logs: o.logs };
    const stopped = told.delete(m.id);
    if (!o.outcome.ok) return postFrame({ ...header, error: o.outcome.error });
    let bytes: Buffer;
    try {
      // Encoded once: both frames below send these bytes, and their length is the size everyone measures.
      bytes = Buffer.from(JSON.stringify(o.outcome.value) ?? 'null');
    } catch (err) {
      return postFrame({ ...header, error: resultSerializationError(err) });
    }
    if (m.next && !stopped && fatalError === undefined && bytes.length <= maxHandoverBytes && handover.forward(m.next, m.executionId, bytes)) header.forwarded = true;
    postFrame(header, bytes);
  };

  const failResult = (id: string, error: LambdaError): void => {
    told.delete(id);
    const t = now();
    postFrame({ t: 'result', id, handlerStart: t, handlerEnd: t, logs: [], error });
  };

  const run = (fn: LoadedFunction, m: InvokeFrame): void => {
    const { id, executionId, idempotencyKey, deadline } = m.header;
    let event: unknown;
    try {
      event = m.payload === null ? null : JSON.parse(m.payload.toString('utf8'));
    } catch (err) {
      return failResult(id, toLambdaError(err));
    }
    invokeHandler(fn, event, { invocationId: id, executionId, idempotencyKey, deadline }, INVOKE_OPTIONS).then(
      (o) => sendResult(m.header, o),
      // invokeHandler never rejects; if it ever does, the agent still gets an answer.
      (err: unknown) => failResult(id, toLambdaError(err)),
    );
  };

  const onFrame = (f: Frame<AgentToWorkerFrame>): void => {
    if (f.header.t === 'invoke') return onInvoke(f as InvokeFrame);
    if (abortInvocation(f.header.id, f.header.reason)) told.add(f.header.id);
    else cancelledAhead.add(f.header.id);
  };

  const onInvoke = (m: InvokeFrame): void => {
    const id = m.header.id;
    // Withdrawn by the agent before its event came: it settled it already, and expects no answer.
    if (cancelledAhead.take(id)) return;
    if (fatalError !== undefined) return failResult(id, fatalError);
    if (loaded !== undefined) return run(loaded, m);
    if (loading !== undefined) {
      void loading.then((fn) => (fn !== undefined ? run(fn, m) : failResult(id, notLoaded('its function failed to load'))));
      return;
    }
    failResult(id, notLoaded('no function was loaded (send "load" first)'));
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
    // The inbox opens while the code loads: neither waits for the other.
    const inbox = m.handover ? handover.listen(m.handover.socket) : Promise.resolve(false);
    if (m.handover) maxHandoverBytes = m.handover.maxResultBytes;
    loading = Promise.all([loadFunction(m.spec), inbox]).then(
      ([fn, listening]) => {
        loaded = fn;
        if (!loadReplied) {
          loadReplied = true;
          post({ t: 'loaded', initMs: fn.initMs, handover: listening });
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
      case 'load':
        onLoad(m);
        return;
      case 'storage-result':
        answerStorage(m.id, m.reply);
        return;
      default:
        process.stderr.write(`mfbench worker: ignoring unknown message ${JSON.stringify(m)?.slice(0, 200)}\n`);
    }
  };
}

/** The pipe the agent opened at LOCAL_BUS_FD; a worker started without it cannot serve, and says so. */
function openLocalBus(): Socket {
  try {
    return new Socket({ fd: LOCAL_BUS_FD, readable: true, writable: true });
  } catch (err) {
    process.stderr.write(`mfbench worker: no local bus at fd ${LOCAL_BUS_FD} (start it as the sandbox agent does): ${String(err)}\n`);
    process.exit(2);
  }
}

function notLoaded(why: string): LambdaError {
  return { errorType: RUNTIME_ERROR_TYPES.functionNotLoaded, errorMessage: `this worker cannot run the invocation: ${why}`, trace: [] };
}
