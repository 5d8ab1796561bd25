/**
 * Invoking a loaded function the way the Lambda Node.js runtime does: async handlers, callback handlers and
 * context.succeed/fail/done; the first completion wins and later ones are ignored.
 */
import { now } from '../clock.js';
import type { LambdaError, LogLine } from '../protocol.js';
import { resultSerializationError, toLambdaError } from './lambda-error.js';
import type { LoadedFunction } from './load.js';
import type { FunctionStorage } from '../storage/client.js';
import type { FunctionPipes, FunctionSession } from './session-context.js';
import { installConsoleCapture, LogSink, logStorage, makeLogger, type FunctionLogger } from './logs.js';

export interface InvocationInfo {
  /** The invocation id; the function sees it as `context.awsRequestId`. */
  invocationId: string;
  /** The workflow execution this invocation belongs to; null for a direct function invocation. */
  executionId: string | null;
  /** The step's idempotency key (the same across re-runs of the step); the invocation id when none is given. */
  idempotencyKey?: string;
  /** Epoch milliseconds (platform/clock.ts) by which the invocation must finish. */
  deadline: number;
}

export interface InvokeOptions {
  /**
   * Check that a successful result can be serialised to JSON (default true), turning a BigInt or circular
   * result into a `Runtime.ResultSerializationError` failure. The worker turns it off because it serialises the
   * result anyway when sending it, and reports the same failure if that throws (no second JSON pass).
   */
  checkSerializable?: boolean;
  /** The function's `context.storage` (docs/storage.md); absent where no sandbox agent serves storage. */
  storage?: FunctionStorage;
  /** A session function's `context.session` and `context.pipe` (docs/sessions.md); absent for other invocations. */
  session?: { session: FunctionSession; pipe: FunctionPipes };
}

/**
 * What the handler returned: its value, or the Lambda error it failed with. (The record's InvocationOutcome,
 * platform/records.ts, is the platform's view of the whole invocation, including timeouts and crashes.)
 */
export type HandlerResult = { ok: true; value: unknown } | { ok: false; error: LambdaError };

export interface HandlerOutcome {
  /** Epoch ms just before the handler was called. */
  handlerStart: number;
  /** Epoch ms of the first completion (promise settled, callback or context.succeed/fail/done called, or throw). */
  handlerEnd: number;
  /** The lines the function logged during the invocation (bounded; see logs.ts). */
  logs: LogLine[];
  outcome: HandlerResult;
}

/** The `context` object a handler receives (Lambda's fields plus our `executionId` and `log`). */
export interface LambdaContext {
  readonly functionName: string;
  readonly functionVersion: string;
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: string;
  readonly awsRequestId: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  readonly identity: undefined;
  readonly clientContext: undefined;
  /** Settable for compatibility; a persistent worker always returns as soon as the handler completes. */
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
  succeed(value?: unknown): void;
  fail(error?: unknown): void;
  done(error?: unknown, value?: unknown): void;
  /** Ours: the workflow execution id, null for a direct invocation. */
  readonly executionId: string | null;
  /** Ours: the same for every run of this step of this execution (retries, recoveries, restarts): dedupe side effects by it. */
  readonly idempotencyKey: string;
  /** Ours: a logger whose lines are kept with this invocation. */
  readonly log: FunctionLogger;
  /** Ours: hierarchical storage, local and global tiers (docs/storage.md). */
  readonly storage: FunctionStorage | undefined;
  /** Ours: the session this function instance runs in, and its data pipes; undefined outside a session (docs/sessions.md). */
  readonly session: FunctionSession | undefined;
  readonly pipe: FunctionPipes | undefined;
  /**
   * Ours: aborted when the platform no longer wants this invocation's result (a state's TimeoutSeconds or the
   * function's timeout expired, a Parallel sibling failed, the execution was stopped). A function that stops when
   * told keeps its worker; one that does not is abandoned (docs/recovery.md).
   */
  readonly signal: AbortSignal;
}

/** An invocation running in this process: how to fail it, and its abort controller once anyone asked for it. */
interface Running {
  fail(error: LambdaError): void;
  /** Made on first read of context.signal, so an invocation that never looks pays nothing. */
  controller: AbortController | null;
  /** Set when the abort came before anyone read context.signal. */
  abortReason: string | null;
}

/** The invocations running in this process, by invocation id. */
const inFlight = new Map<string, Running>();

/** Number of invocations running in this process. */
export function inFlightCount(): number {
  return inFlight.size;
}

/**
 * Fails every running invocation with `error` (used on an uncaught exception or unhandled rejection, which
 * cannot be attributed to one invocation). Returns how many were failed.
 */
export function failAllInFlight(error: LambdaError): number {
  const running = [...inFlight.values()];
  for (const r of running) r.fail(error);
  return running.length;
}

/** Aborts `context.signal` of a running invocation; false when it is not running (it finished meanwhile). */
export function abortInvocation(invocationId: string, reason: string): boolean {
  const r = inFlight.get(invocationId);
  if (!r) return false;
  if (r.controller) r.controller.abort(abortError(reason));
  else r.abortReason ??= reason;
  return true;
}

/** The reason a function sees on an aborted context.signal: a DOMException named AbortError, as fetch() uses. */
function abortError(reason: string): DOMException {
  return new DOMException(reason, 'AbortError');
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Runs one invocation of a loaded function. Never rejects: every failure of the function is a failed outcome
 * with a Lambda-shaped error. The successful value is the handler's raw result (undefined becomes null); it
 * becomes JSON when it crosses the IPC channel.
 *
 * Completion: a returned promise settles it; so do callback(err, value) and context.succeed/fail/done, whichever
 * comes first. A handler that returns a non-promise value: with arity >= 3 (callback style) the value is ignored
 * and the callback awaited, as Lambda does; otherwise a value other than undefined is the result, and undefined
 * means "wait for context.succeed/fail/done (or the callback)" (docs/functions.md explains the difference).
 */
export function invokeHandler(
  fn: LoadedFunction,
  event: unknown,
  info: InvocationInfo,
  options?: InvokeOptions,
): Promise<HandlerOutcome> {
  installConsoleCapture();
  const checkSerializable = options?.checkSerializable ?? true;
  const sink = new LogSink(info.invocationId);
  const deadline = info.deadline;

  return new Promise<HandlerOutcome>((resolve) => {
    let finished = false;
    let handlerStart = 0;

    const finish = (outcome: HandlerResult): void => {
      if (finished) return;
      finished = true;
      const handlerEnd = now();
      inFlight.delete(info.invocationId);
      resolve({ handlerStart, handlerEnd, logs: sink.close(), outcome });
    };
    const fail = (err: unknown): void => {
      if (!finished) finish({ ok: false, error: toLambdaError(err) });
    };
    const failWith = (error: LambdaError): void => finish({ ok: false, error });
    const succeed = (value: unknown): void => {
      if (finished) return;
      const v = value === undefined ? null : value;
      if (checkSerializable) {
        try {
          JSON.stringify(v);
        } catch (err) {
          failWith(resultSerializationError(err));
          return;
        }
      }
      finish({ ok: true, value: v });
    };
    const done = (err?: unknown, value?: unknown): void => {
      if (err !== undefined && err !== null) fail(err);
      else succeed(value);
    };

    let logger: FunctionLogger | undefined;
    const c = fn.constants;
    const context: LambdaContext = {
      functionName: c.functionName,
      functionVersion: c.functionVersion,
      invokedFunctionArn: c.invokedFunctionArn,
      memoryLimitInMB: c.memoryLimitInMB,
      awsRequestId: info.invocationId,
      logGroupName: c.logGroupName,
      logStreamName: c.logStreamName,
      identity: undefined,
      clientContext: undefined,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, Math.floor(deadline - now())),
      succeed: (value?: unknown) => succeed(value),
      // Lambda: context.fail() without an error reports the string "handled".
      fail: (err?: unknown) => fail(err === undefined || err === null ? 'handled' : err),
      done,
      executionId: info.executionId,
      idempotencyKey: info.idempotencyKey ?? info.invocationId,
      storage: options?.storage,
      session: options?.session?.session,
      pipe: options?.session?.pipe,
      get log(): FunctionLogger {
        return (logger ??= makeLogger(sink));
      },
      get signal(): AbortSignal {
        if (!running.controller) {
          running.controller = new AbortController();
          if (running.abortReason !== null) running.controller.abort(abortError(running.abortReason));
        }
        return running.controller.signal;
      },
    };

    const running: Running = { fail: failWith, controller: null, abortReason: null };
    inFlight.set(info.invocationId, running);

    logStorage.run(sink, () => {
      handlerStart = now();
      let returned: unknown;
      try {
        returned = fn.handler.call(fn.holder, event, context, done);
      } catch (err) {
        fail(err);
        return;
      }
      if (isThenable(returned)) {
        try {
          returned.then(succeed, fail);
        } catch (err) {
          fail(err);
        }
      } else if (!finished && fn.arity < 3 && returned !== undefined) {
        succeed(returned);
      }
    });
  });
}
