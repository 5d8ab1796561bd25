/**
 * The interpreter: runs a loaded state machine against an input, calling Task functions through an injected
 * invoker. It is a library with no I/O of its own, so the same code runs in the sandbox agent (functions local) and
 * in tests (functions in-process).
 *
 * Hot-path rules: no history work at all when no onEvent is given; no deep copies (ResultPath is copy-on-write
 * along the path, everything else shares structure, so values handed out must be treated as immutable); the
 * context object `$$` is built only when a path reads it; synchronous states (Pass, Choice, Succeed, Fail) do not
 * go through a promise.
 */
import { randomUUID } from 'node:crypto';
import { now } from '../clock.js';
import type { ExecutionResult, HistoryEvent } from '../protocol.js';
import { parseTimestamp } from './choice.js';
import { RESULT_PATH_MATCH_FAILURE, StatesError, errorMatches, runtimeError } from './errors.js';
import { PathNotFound, PathSetError, evaluate, setPath, type ParsedPath } from './jsonpath.js';
import type {
  Catcher,
  ChoiceState,
  FailState,
  MapState,
  ParallelState,
  PassState,
  ResultPathSpec,
  Retrier,
  Selector,
  StateMachine,
  SubMachine,
  SucceedState,
  TaskState,
  WaitState,
} from './model.js';
import type { ContextThunk } from './payload.js';
import { functionNameFromRef } from './resource.js';

/** One call of a Task's function. */
export interface TaskCall {
  functionName: string;
  input: unknown;
  stateName: string;
  timeoutSeconds?: number;
  heartbeatSeconds?: number;
  /** Aborted when the result is no longer wanted (execution aborted or timed out, a sibling branch failed, Task timeout). */
  signal: AbortSignal;
}

/**
 * Runs a function; resolves with the handler's return value, or throws TaskFailure when the function failed. Once
 * `signal` aborts, the invoker must settle as soon as the invocation has stopped or been abandoned (it will never
 * deliver again): the engine waits for that before it runs anything in the invocation's place.
 */
export type TaskInvoker = (call: TaskCall) => Promise<unknown>;

/**
 * What an invoker throws when the function failed: `error` is the Lambda errorType (e.g. "ZeroDivisionError", or
 * "States.Timeout" / "MF_WORKER_EXITED" / "MF_FUNCTION_MEMORY_EXCEEDED" for platform faults), `cause` the JSON text
 * Lambda would report (`{"errorType","errorMessage","trace"}`).
 */
export class TaskFailure extends Error {
  override readonly name = 'TaskFailure';
  constructor(
    readonly error: string,
    override readonly cause: string,
  ) {
    super(`${error}: ${cause}`);
  }
}

export interface RunOptions {
  invoke: TaskInvoker;
  executionId: string;
  executionName: string;
  /** ISO 8601 start time; `$$.Execution.StartTime` renders it as YYYY-MM-DDTHH:MM:SS.mmmZ. */
  startTime: string;
  stateMachineName?: string;
  /** When given, history events are emitted; when absent, no history work is done at all. */
  onEvent?: (e: HistoryEvent) => void;
  /** Aborts the execution: it ends FAILED with error "States.Aborted". */
  signal?: AbortSignal;
  /**
   * Called at every transition between top-level states with the next state and its raw input: a checkpoint from
   * which `resumeAt` can continue the execution (recovery after a sandbox dies). Not called inside Parallel/Map.
   */
  onTransition?: (next: string, input: unknown) => void;
  /** Continue an execution at a top-level state with its raw input, instead of at StartAt with the execution input. */
  resumeAt?: { state: string; input: unknown };
}

const ACCOUNT = '000000000000';
const REGION = 'local';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/mfbench-local`;

/** Thrown inside the engine when work is cancelled (never escapes runExecution). */
class Cancelled extends Error {
  override readonly name = 'Cancelled';
}

interface Exec {
  readonly invoke: TaskInvoker;
  readonly emit: ((e: HistoryEvent) => void) | null;
  readonly transition: ((next: string, input: unknown) => void) | null;
  /** The top-level machine: transitions are reported only at this level. */
  readonly root: SubMachine;
  readonly execution: Readonly<Record<string, unknown>>;
  readonly stateMachine: Readonly<Record<string, unknown>>;
}

interface Step {
  next: string | null;
  output: unknown;
}

interface MapItem {
  Index: number;
  Value: unknown;
}

// ------------------------------------------------------------------------------------------------ helpers

function contextThunk(x: Exec, state: string, enteredAt: number, retryCount: number | undefined, mapItem?: MapItem): ContextThunk {
  let built: unknown;
  return () => {
    if (built === undefined) {
      const st: Record<string, unknown> = { Name: state, EnteredTime: new Date(enteredAt).toISOString() };
      if (retryCount !== undefined) st.RetryCount = retryCount;
      const c: Record<string, unknown> = { Execution: x.execution, StateMachine: x.stateMachine, State: st };
      if (mapItem) c.Map = { Item: mapItem };
      built = c;
    }
    return built;
  };
}

function stateError(state: string, msg: string): StatesError {
  return runtimeError(`An error occurred while executing the state '${state}'. ${msg}`);
}

function select(sel: Selector, value: unknown, ctx: ContextThunk, state: string): unknown {
  if (sel === undefined) return value;
  if (sel === null) return {};
  try {
    return evaluate(sel, value, ctx);
  } catch (e) {
    if (e instanceof PathNotFound) throw stateError(state, e.message);
    throw e;
  }
}

function applyResultPath(rp: ResultPathSpec, raw: unknown, result: unknown, state: string): unknown {
  if (rp === undefined) return result;
  if (rp === null) return raw;
  try {
    return setPath(rp, raw, result);
  } catch (e) {
    if (e instanceof PathSetError) throw new StatesError(RESULT_PATH_MATCH_FAILURE, `An error occurred while executing the state '${state}'. ${e.message}`);
    throw e;
  }
}

function readPath(p: ParsedPath, value: unknown, ctx: ContextThunk, state: string): unknown {
  try {
    return evaluate(p, value, ctx);
  } catch (e) {
    if (e instanceof PathNotFound) throw stateError(state, e.message);
    throw e;
  }
}

function positiveInt(p: ParsedPath, value: unknown, ctx: ContextThunk, state: string, field: string, allowZero = false): number {
  const v = readPath(p, value, ctx, state);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || (!allowZero && v === 0))
    throw stateError(state, `The ${field} parameter references ${allowZero ? 'an invalid value (expected a non-negative integer)' : 'an invalid value (expected a positive integer)'}: ${p.text} == ${JSON.stringify(v)}`);
  return v;
}

/** Resolves after ms, or rejects with Cancelled when the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new Cancelled());
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout;
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Cancelled());
    };
    const arm = (left: number) => {
      timer = setTimeout(
        () => {
          if (left > 2 ** 31 - 1) arm(left - (2 ** 31 - 1));
          else {
            signal.removeEventListener('abort', onAbort);
            resolve();
          }
        },
        Math.min(left, 2 ** 31 - 1),
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
    arm(ms);
  });
}

/** An AbortController that also aborts when the parent does; `dispose` unlinks it. */
function childController(parent: AbortSignal): { ctl: AbortController; dispose: () => void } {
  const ctl = new AbortController();
  if (parent.aborted) {
    ctl.abort();
    return { ctl, dispose: () => {} };
  }
  const on = () => ctl.abort();
  parent.addEventListener('abort', on, { once: true });
  return { ctl, dispose: () => parent.removeEventListener('abort', on) };
}

const noop = (): void => {};

function retryDelayMs(r: Retrier, attempt: number): number {
  let s = r.intervalSeconds * r.backoffRate ** attempt;
  if (r.maxDelaySeconds !== undefined) s = Math.min(s, r.maxDelaySeconds);
  if (r.jitter === 'FULL') s = Math.random() * s;
  return s * 1000;
}

// ------------------------------------------------------------------------------------------------ machine loop

async function runMachine(x: Exec, sub: SubMachine, input: unknown, signal: AbortSignal, startAt = sub.startAt): Promise<unknown> {
  let state = sub.states.get(startAt)!;
  let value = input;
  const transition = x.transition !== null && sub === x.root ? x.transition : null;
  for (;;) {
    if (signal.aborted) throw new Cancelled();
    const enteredAt = Date.now();
    if (x.emit) x.emit({ t: now(), type: state.enteredEvent, state: state.name, input: value });
    let step: Step;
    switch (state.type) {
      case 'Pass':
        step = runPass(x, state, value, enteredAt);
        break;
      case 'Choice':
        step = runChoice(x, state, value, enteredAt);
        break;
      case 'Succeed':
        step = runSucceed(x, state, value, enteredAt);
        break;
      case 'Fail':
        throw runFail(x, state, value, enteredAt);
      case 'Wait':
        step = await runWait(x, state, value, enteredAt, signal);
        break;
      default:
        step = await runWithErrorHandling(x, state, value, enteredAt, signal);
    }
    if (x.emit) x.emit({ t: now(), type: state.exitedEvent, state: state.name, output: step.output });
    if (step.next === null) return step.output;
    value = step.output;
    state = sub.states.get(step.next)!;
    if (transition) transition(state.name, value);
  }
}

function runPass(x: Exec, s: PassState, raw: unknown, enteredAt: number): Step {
  const ctx = contextThunk(x, s.name, enteredAt, undefined);
  const eff = select(s.inputPath, raw, ctx, s.name);
  const result = s.parameters ? s.parameters(eff, ctx) : s.hasResult ? s.result : eff;
  const out = applyResultPath(s.resultPath, raw, result, s.name);
  return { next: s.next, output: select(s.outputPath, out, ctx, s.name) };
}

function runSucceed(x: Exec, s: SucceedState, raw: unknown, enteredAt: number): Step {
  const ctx = contextThunk(x, s.name, enteredAt, undefined);
  return { next: null, output: select(s.outputPath, select(s.inputPath, raw, ctx, s.name), ctx, s.name) };
}

function runChoice(x: Exec, s: ChoiceState, raw: unknown, enteredAt: number): Step {
  const ctx = contextThunk(x, s.name, enteredAt, undefined);
  const eff = select(s.inputPath, raw, ctx, s.name);
  let next: string | null = null;
  for (const c of s.choices)
    if (c.cond(eff, ctx)) {
      next = c.next;
      break;
    }
  if (next === null) next = s.default;
  if (next === null) throw new StatesError('States.NoChoiceMatched', `No choice rule of state '${s.name}' matched the input and there is no Default`);
  return { next, output: select(s.outputPath, eff, ctx, s.name) };
}

function runFail(x: Exec, s: FailState, raw: unknown, enteredAt: number): StatesError {
  const ctx = contextThunk(x, s.name, enteredAt, undefined);
  const pick = (expr: FailState['errorPath'], text: string | null, literal: string | null, field: string): string | null => {
    if (!expr) return literal;
    const v = expr(raw, ctx);
    if (typeof v !== 'string') throw stateError(s.name, `The ${field} parameter must reference a string value, got ${JSON.stringify(v)} from ${text}`);
    return v;
  };
  const error = pick(s.errorPath, s.errorPathText, s.error, 'ErrorPath');
  const cause = pick(s.causePath, s.causePathText, s.cause, 'CausePath');
  if (x.emit) x.emit({ t: now(), type: 'FailStateFailed', state: s.name, error, cause });
  return new StatesError(error, cause);
}

async function runWait(x: Exec, s: WaitState, raw: unknown, enteredAt: number, signal: AbortSignal): Promise<Step> {
  const ctx = contextThunk(x, s.name, enteredAt, undefined);
  const eff = select(s.inputPath, raw, ctx, s.name);
  let ms = 0;
  if (s.seconds !== undefined) ms = s.seconds * 1000;
  else if (s.timestamp !== undefined) ms = s.timestamp[0] * 1000 + s.timestamp[1] / 1e6 - Date.now();
  else if (s.secondsPath) {
    const v = readPath(s.secondsPath, eff, ctx, s.name);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw stateError(s.name, `The SecondsPath parameter does not reference a number: ${s.secondsPath.text} == ${JSON.stringify(v)}`);
    if (v < 0) throw stateError(s.name, `The SecondsPath parameter references a negative value: ${s.secondsPath.text} == ${v}`);
    ms = v * 1000;
  } else if (s.timestampPath) {
    const v = readPath(s.timestampPath, eff, ctx, s.name);
    const ts = parseTimestamp(v);
    if (!ts) throw stateError(s.name, `The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: ${s.timestampPath.text} == ${JSON.stringify(v)}`);
    ms = ts[0] * 1000 + ts[1] / 1e6 - Date.now();
  }
  if (ms > 0) {
    if (x.emit) x.emit({ t: now(), type: 'WaitStateWaiting', state: s.name, ms });
    await sleep(ms, signal);
  }
  return { next: s.next, output: select(s.outputPath, eff, ctx, s.name) };
}

// ------------------------------------------------------------------------------------------------ Retry / Catch

type Failing = TaskState | ParallelState | MapState;

async function runWithErrorHandling(x: Exec, s: Failing, raw: unknown, enteredAt: number, signal: AbortSignal): Promise<Step> {
  let counts: number[] | null = null;
  let retryCount = 0;
  for (;;) {
    try {
      const ctx = contextThunk(x, s.name, enteredAt, retryCount);
      const out =
        s.type === 'Task' ? await runTask(x, s, raw, ctx, signal) : s.type === 'Parallel' ? await runParallel(x, s, raw, ctx, signal) : await runMap(x, s, raw, ctx, enteredAt, signal);
      return { next: s.next, output: select(s.outputPath, out, ctx, s.name) };
    } catch (e) {
      if (!(e instanceof StatesError) || e.fatal) throw e;
      const ri = s.retry.findIndex((r) => errorMatches(r.errorEquals, e.error));
      if (ri >= 0) {
        counts ??= new Array<number>(s.retry.length).fill(0);
        const r = s.retry[ri]!;
        if (counts[ri]! < r.maxAttempts) {
          const delay = retryDelayMs(r, counts[ri]!);
          counts[ri]!++;
          retryCount++;
          if (x.emit) x.emit({ t: now(), type: 'StateRetryScheduled', state: s.name, error: e.error, cause: e.cause, attempt: retryCount, delayMs: delay });
          await sleep(delay, signal);
          continue;
        }
      }
      const c: Catcher | undefined = s.catch.find((k) => errorMatches(k.errorEquals, e.error));
      if (!c) throw e;
      const errorOutput: Record<string, unknown> = { Error: e.error };
      if (e.cause !== null) errorOutput.Cause = e.cause;
      if (x.emit) x.emit({ t: now(), type: 'StateErrorCaught', state: s.name, error: e.error, cause: e.cause, next: c.next });
      // A catcher's output goes to its Next as is: the state's OutputPath does not apply to it.
      return { next: c.next, output: applyResultPath(c.resultPath, raw, errorOutput, s.name) };
    }
  }
}

// ------------------------------------------------------------------------------------------------ Task

async function runTask(x: Exec, s: TaskState, raw: unknown, ctx: ContextThunk, signal: AbortSignal): Promise<unknown> {
  const eff = select(s.inputPath, raw, ctx, s.name);
  const params = s.parameters ? s.parameters(eff, ctx) : eff;
  let functionName: string;
  let payload: unknown;
  if (s.resource.kind === 'lambda') {
    functionName = s.resource.functionName;
    payload = params;
  } else {
    const p = (typeof params === 'object' && params !== null ? params : {}) as Record<string, unknown>;
    const ref = p.FunctionName;
    const fn = typeof ref === 'string' ? functionNameFromRef(ref) : null;
    if (fn === null) throw stateError(s.name, `Parameters.FunctionName is not a function name or Lambda function ARN: ${JSON.stringify(ref)}`);
    functionName = fn;
    payload = 'Payload' in p ? p.Payload : {};
  }
  const timeoutSeconds = s.timeoutSecondsPath ? positiveInt(s.timeoutSecondsPath, eff, ctx, s.name, 'TimeoutSecondsPath') : s.timeoutSeconds;
  const heartbeatSeconds = s.heartbeatSecondsPath ? positiveInt(s.heartbeatSecondsPath, eff, ctx, s.name, 'HeartbeatSecondsPath') : s.heartbeatSeconds;
  if (x.emit) x.emit({ t: now(), type: 'TaskScheduled', state: s.name, resource: s.resourceText, functionName, input: payload, timeoutSeconds, heartbeatSeconds });

  let result: unknown;
  try {
    result = await invokeWithTimeouts(x, s.name, functionName, payload, timeoutSeconds, heartbeatSeconds, signal);
  } catch (e) {
    if (e instanceof Cancelled) throw e;
    const err = e instanceof TaskFailure ? new StatesError(e.error, e.cause) : toStatesError(e);
    if (x.emit) x.emit({ t: now(), type: err.error === 'States.Timeout' ? 'TaskTimedOut' : 'TaskFailed', state: s.name, error: err.error, cause: err.cause });
    throw err;
  }
  if (result === undefined) result = null;
  if (s.resource.kind === 'lambda-invoke') {
    const requestId = randomUUID();
    result = {
      ExecutedVersion: '$LATEST',
      Payload: result,
      SdkHttpMetadata: {
        HttpHeaders: { 'Content-Type': 'application/json', 'X-Amz-Executed-Version': '$LATEST', 'x-amzn-RequestId': requestId },
        HttpStatusCode: 200,
      },
      SdkResponseMetadata: { RequestId: requestId },
      StatusCode: 200,
    };
  }
  if (x.emit) x.emit({ t: now(), type: 'TaskSucceeded', state: s.name, output: result });
  const selected = s.resultSelector ? s.resultSelector(result, ctx) : result;
  return applyResultPath(s.resultPath, raw, selected, s.name);
}

/** Anything an invoker throws that is not a TaskFailure: a platform fault, counted as a task failure. */
function toStatesError(e: unknown): StatesError {
  if (e instanceof StatesError) return e;
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return new StatesError(typeof code === 'string' ? code : e.name, e.message);
  }
  return new StatesError('Error', String(e));
}

/**
 * Calls the invoker under the state's timeouts. The call settles only once the invoker's promise has: on a timeout or
 * an abort from above, the invoker is told through `call.signal` and stops the invocation or abandons it (the
 * TaskInvoker contract), so nothing that follows (a Retry, a Catch, the next state) runs beside the attempt it replaces.
 */
function invokeWithTimeouts(
  x: Exec,
  stateName: string,
  functionName: string,
  input: unknown,
  timeoutSeconds: number | undefined,
  heartbeatSeconds: number | undefined,
  signal: AbortSignal,
): Promise<unknown> {
  if (signal.aborted) return Promise.reject(new Cancelled());
  // Without timeouts the call can share its parent's signal (no controller to make and link: the hot path).
  const timed = timeoutSeconds !== undefined || heartbeatSeconds !== undefined;
  const { ctl, dispose } = timed ? childController(signal) : { ctl: null, dispose: noop };
  let expired: StatesError | null = null;
  const timers: NodeJS.Timeout[] = [];
  const expire = (e: StatesError) => {
    expired ??= e;
    ctl!.abort();
  };
  // The engine has no heartbeat channel from a function: a Task running longer than HeartbeatSeconds has, by
  // definition, sent no heartbeat, so it fails with States.HeartbeatTimeout as on AWS.
  if (heartbeatSeconds !== undefined && (timeoutSeconds === undefined || heartbeatSeconds < timeoutSeconds))
    timers.push(setTimeout(() => expire(new StatesError('States.HeartbeatTimeout', `Task '${stateName}' sent no heartbeat for ${heartbeatSeconds} s`)), heartbeatSeconds * 1000));
  if (timeoutSeconds !== undefined)
    timers.push(setTimeout(() => expire(new StatesError('States.Timeout', `Task '${stateName}' timed out after ${timeoutSeconds} s`)), timeoutSeconds * 1000));
  const cleanup = () => {
    for (const t of timers) clearTimeout(t);
    dispose();
  };
  let p: Promise<unknown>;
  try {
    const call: TaskCall = { functionName, input, stateName, signal: ctl ? ctl.signal : signal };
    if (timeoutSeconds !== undefined) call.timeoutSeconds = timeoutSeconds;
    if (heartbeatSeconds !== undefined) call.heartbeatSeconds = heartbeatSeconds;
    p = x.invoke(call);
  } catch (e) {
    p = Promise.reject(e);
  }
  // Whatever the invocation answered after its timeout or an abort, the state's outcome is that timeout or abort.
  return p.then(
    (v) => {
      cleanup();
      if (expired) throw expired;
      if (signal.aborted) throw new Cancelled();
      return v;
    },
    (e: unknown) => {
      cleanup();
      throw expired ?? (signal.aborted ? new Cancelled() : e);
    },
  );
}

// ------------------------------------------------------------------------------------------------ Parallel / Map

/**
 * The join of a fan-out: resolves with all results in order, or rejects with the first failure after aborting the
 * others. `remaining` is the join counter; a cross-sandbox join (KNIX) would keep it in storage and decrement it
 * atomically, with the same all-done / first-failure rules (docs/asl.md).
 */
async function runParallel(x: Exec, s: ParallelState, raw: unknown, ctx: ContextThunk, signal: AbortSignal): Promise<unknown> {
  const eff = select(s.inputPath, raw, ctx, s.name);
  const input = s.parameters ? s.parameters(eff, ctx) : eff;
  if (x.emit) x.emit({ t: now(), type: 'ParallelStateStarted', state: s.name, branches: s.branches.length });
  const { ctl, dispose } = childController(signal);
  let results: unknown[];
  try {
    results = await new Promise<unknown[]>((resolve, reject) => {
      const out = new Array<unknown>(s.branches.length);
      let remaining = s.branches.length;
      let failure: { e: unknown } | null = null;
      // The join waits for every branch, even after a failure has aborted the others, so that a Retry of this state
      // never runs beside invocations of the attempt it replaces.
      const settled = () => {
        if (--remaining === 0) (failure ? reject(failure.e) : resolve(out));
      };
      s.branches.forEach((b, i) => {
        runMachine(x, b, input, ctl.signal).then(
          (v) => {
            out[i] = v;
            settled();
          },
          (e) => {
            if (!failure) {
              failure = { e };
              ctl.abort();
            }
            settled();
          },
        );
      });
    });
  } catch (e) {
    if (x.emit && !(e instanceof Cancelled)) x.emit({ t: now(), type: 'ParallelStateFailed', state: s.name, ...errFields(e) });
    throw e;
  } finally {
    dispose();
  }
  if (x.emit) x.emit({ t: now(), type: 'ParallelStateSucceeded', state: s.name });
  const selected = s.resultSelector ? s.resultSelector(results, ctx) : results;
  return applyResultPath(s.resultPath, raw, selected, s.name);
}

function errFields(e: unknown): { error: string | null; cause: string | null } {
  return e instanceof StatesError ? { error: e.error, cause: e.cause } : { error: 'MF_INTERNAL', cause: String(e) };
}

async function runMap(x: Exec, s: MapState, raw: unknown, ctx: ContextThunk, enteredAt: number, signal: AbortSignal): Promise<unknown> {
  const eff = select(s.inputPath, raw, ctx, s.name);
  const items = s.itemsPath ? readPath(s.itemsPath, eff, ctx, s.name) : eff;
  if (!Array.isArray(items))
    throw stateError(s.name, `Items of the Map state must be a JSON array; ${s.itemsPath ? s.itemsPath.text : 'the input'} is ${JSON.stringify(items)?.slice(0, 200)}`);
  const maxConcurrency = s.maxConcurrencyPath ? positiveInt(s.maxConcurrencyPath, eff, ctx, s.name, 'MaxConcurrencyPath', true) : s.maxConcurrency;
  const tolCount = s.toleratedFailureCountPath ? positiveInt(s.toleratedFailureCountPath, eff, ctx, s.name, 'ToleratedFailureCountPath', true) : s.toleratedFailureCount;
  let tolPct = s.toleratedFailurePercentage;
  if (s.toleratedFailurePercentagePath) {
    const v = readPath(s.toleratedFailurePercentagePath, eff, ctx, s.name);
    if (typeof v !== 'number' || v < 0 || v > 100) throw stateError(s.name, `ToleratedFailurePercentagePath must reference a number from 0 to 100, got ${JSON.stringify(v)}`);
    tolPct = v;
  }
  const tolerant = tolCount !== undefined || tolPct !== undefined;
  const n = items.length;
  if (x.emit) x.emit({ t: now(), type: 'MapStateStarted', state: s.name, length: n });
  const { ctl, dispose } = childController(signal);
  let results: unknown[];
  try {
    results = await new Promise<unknown[]>((resolve, reject) => {
      const out = new Array<unknown>(n);
      if (n === 0) return resolve(out);
      let nextIndex = 0;
      let remaining = n;
      let failures = 0;
      let done = false;
      // Iterations started and not yet settled: a failure rejects only once they all have (as in runParallel).
      let running = 0;
      let failure: { e: unknown } | null = null;
      const fail = (e: unknown) => {
        if (done) return;
        done = true;
        failure = { e };
        ctl.abort();
        if (running === 0) reject(e);
      };
      const settledAfterFailure = () => {
        if (running === 0 && failure) reject(failure.e);
      };
      // Either threshold, when given, fails the Map once it is exceeded.
      const exceeded = () => (tolCount !== undefined && failures > tolCount) || (tolPct !== undefined && (failures * 100) / n > tolPct);
      const startOne = (): void => {
        if (done || nextIndex >= n) return;
        const i = nextIndex++;
        const item = items[i];
        let input: unknown;
        try {
          input = s.itemSelector ? s.itemSelector(eff, contextThunk(x, s.name, enteredAt, undefined, { Index: i, Value: item })) : item;
        } catch (e) {
          return fail(e);
        }
        if (x.emit) x.emit({ t: now(), type: 'MapIterationStarted', state: s.name, index: i });
        running++;
        runMachine(x, s.processor, input, ctl.signal).then(
          (v) => {
            running--;
            if (done) return settledAfterFailure();
            out[i] = v;
            if (x.emit) x.emit({ t: now(), type: 'MapIterationSucceeded', state: s.name, index: i });
            if (--remaining === 0) resolve(out);
            else startOne();
          },
          (e) => {
            running--;
            if (done) return settledAfterFailure();
            if (x.emit) x.emit({ t: now(), type: 'MapIterationFailed', state: s.name, index: i, ...errFields(e) });
            if (!tolerant || !(e instanceof StatesError) || e.fatal) return fail(e);
            failures++;
            if (exceeded())
              return fail(new StatesError('States.ExceedToleratedFailureThreshold', `The specified tolerated failure threshold was exceeded (${failures} of ${n} iterations failed)`));
            out[i] = e.cause === null ? { Error: e.error } : { Error: e.error, Cause: e.cause };
            if (--remaining === 0) resolve(out);
            else startOne();
          },
        );
      };
      const width = maxConcurrency === 0 ? n : Math.min(maxConcurrency, n);
      for (let k = 0; k < width; k++) startOne();
    });
  } catch (e) {
    if (x.emit && !(e instanceof Cancelled)) x.emit({ t: now(), type: 'MapStateFailed', state: s.name, ...errFields(e) });
    throw e;
  } finally {
    dispose();
  }
  if (x.emit) x.emit({ t: now(), type: 'MapStateSucceeded', state: s.name });
  const selected = s.resultSelector ? s.resultSelector(results, ctx) : results;
  return applyResultPath(s.resultPath, raw, selected, s.name);
}

// ------------------------------------------------------------------------------------------------ entry point

function arnPart(s: string): string {
  return s.replace(/:/g, '-') || '-';
}

/**
 * Runs one execution. Never rejects for ASL-level failures: a failed execution resolves to
 * `{status: 'FAILED', error, cause}` (an abort gives error "States.Aborted", a machine-level TimeoutSeconds
 * "States.Timeout").
 */
export async function runExecution(machine: StateMachine, input: unknown, options: RunOptions): Promise<ExecutionResult> {
  const smName = options.stateMachineName ?? machine.name;
  const smArn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${arnPart(smName)}`;
  const start = new Date(options.startTime);
  const execution = {
    Id: options.executionId.startsWith('arn:') ? options.executionId : `arn:aws:states:${REGION}:${ACCOUNT}:execution:${arnPart(smName)}:${arnPart(options.executionId)}`,
    Input: input,
    Name: options.executionName,
    RoleArn: ROLE_ARN,
    StartTime: Number.isNaN(start.getTime()) ? options.startTime : start.toISOString(),
    RedriveCount: 0,
  };
  const resume = options.resumeAt;
  if (resume && !machine.root.states.has(resume.state)) {
    return { status: 'FAILED', error: 'States.Runtime', cause: `cannot resume at "${resume.state}": the state machine has no top-level state of that name` };
  }
  const x: Exec = {
    invoke: options.invoke,
    emit: options.onEvent ?? null,
    transition: options.onTransition ?? null,
    root: machine.root,
    execution,
    stateMachine: { Id: smArn, Name: smName },
  };
  if (x.emit) x.emit({ t: now(), type: 'ExecutionStarted', input, executionId: execution.Id, stateMachine: smName });

  const root = new AbortController();
  let reason: 'aborted' | 'timeout' | null = null;
  const onAbort = () => {
    reason ??= 'aborted';
    root.abort();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  let timer: NodeJS.Timeout | undefined;
  if (machine.timeoutSeconds !== undefined)
    timer = setTimeout(() => {
      reason ??= 'timeout';
      root.abort();
    }, machine.timeoutSeconds * 1000);

  let result: ExecutionResult;
  try {
    const output = resume ? await runMachine(x, machine.root, resume.input, root.signal, resume.state) : await runMachine(x, machine.root, input, root.signal);
    result = { status: 'SUCCEEDED', output };
  } catch (e) {
    if (e instanceof StatesError) result = { status: 'FAILED', error: e.error, cause: e.cause };
    else if (e instanceof Cancelled)
      result =
        reason === 'timeout'
          ? { status: 'FAILED', error: 'States.Timeout', cause: `The execution timed out after ${machine.timeoutSeconds} s (TimeoutSeconds)` }
          : { status: 'FAILED', error: 'States.Aborted', cause: 'The execution was aborted' };
    else result = { status: 'FAILED', error: 'MF_INTERNAL', cause: `ASL engine error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` };
  } finally {
    if (timer) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (x.emit) {
    if (result.status === 'SUCCEEDED') x.emit({ t: now(), type: 'ExecutionSucceeded', output: result.output });
    else x.emit({ t: now(), type: result.error === 'States.Aborted' ? 'ExecutionAborted' : result.error === 'States.Timeout' && reason === 'timeout' ? 'ExecutionTimedOut' : 'ExecutionFailed', error: result.error, cause: result.cause });
  }
  return result;
}
