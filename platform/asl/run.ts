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
import type { ExecutionLimits, ExecutionResult, HistoryEvent } from '../protocol.js';

export type { ExecutionLimits };
import { parseTimestamp } from './choice.js';
import { RESULT_PATH_MATCH_FAILURE, StatesError, errorMatches, locate, runtimeError, statePrefix } from './errors.js';
import { queryError, type StatesValues } from './jsonata.js';
import { PathNotFound, PathSetError, evaluate, setPath, type ParsedPath } from './jsonpath.js';
import type {
  Catcher,
  ChoiceState,
  FailState,
  JsonataField,
  MapState,
  ParallelState,
  PassState,
  ResultPathSpec,
  Retrier,
  Selector,
  StateMachine,
  State,
  SubMachine,
  SucceedState,
  TaskState,
  WaitState,
} from './model.js';
import type { ContextThunk } from './payload.js';
import { functionNameFromRef, type Integration } from './resource.js';
import { passesResultThrough, takesInputAsIs } from './pass-through.js';
import { plain, RawJson } from './raw-json.js';
import { Variables } from './variables.js';

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

/** One call of a platform integration (`arn:mf:states:::<integration>`): its Parameters or Arguments as `input`. */
export interface IntegrationCall {
  integration: Integration;
  input: unknown;
  stateName: string;
  /** Aborted as a TaskCall's is; the integration then undoes what it started (a `.sync` wait stops its session). */
  signal: AbortSignal;
}

/** Runs a platform integration: resolves with the Task's result, or throws TaskFailure, under the TaskInvoker contract. */
export type IntegrationInvoker = (call: IntegrationCall) => Promise<unknown>;

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
  /** The platform integrations; absent: a Task naming one fails with States.Runtime. */
  integrate?: IntegrationInvoker;
  executionId: string;
  executionName: string;
  /** ISO 8601 start time; `$$.Execution.StartTime` renders it as YYYY-MM-DDTHH:MM:SS.mmmZ. */
  startTime: string;
  stateMachineName?: string;
  /** When given, history events are emitted; when absent, no history work is done at all. */
  onEvent?: (e: HistoryEvent) => void;
  /** Aborts the execution: it ends FAILED with error "States.Aborted". */
  signal?: AbortSignal;
  /** The platform's bounds on one execution, whatever its definition says (docs/limits.md). */
  limits?: ExecutionLimits;
  /**
   * Called at every transition between top-level states with the next state and its raw input: a checkpoint from
   * which `resumeAt` can continue the execution (recovery after a sandbox dies). Not called inside Parallel/Map.
   */
  onTransition?: (next: string, input: unknown, variables: Readonly<Record<string, unknown>>) => void;
  /**
   * Continue an execution at a top-level state with its raw input (and the top-level variables of the checkpoint),
   * instead of at StartAt with the execution input.
   */
  resumeAt?: { state: string; input: unknown; variables?: Readonly<Record<string, unknown>> };
}

/**
 * Synchronous states (Pass, Choice) only await microtasks, so a loop of them would never let the event loop turn:
 * every this many transitions the execution yields to it, so that the other executions of its app keep running.
 */
const YIELD_EVERY = 64;

const ACCOUNT = '000000000000';
const REGION = 'local';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/mfbench-local`;

/** Thrown inside the engine when work is cancelled (never escapes runExecution). */
class Cancelled extends Error {
  override readonly name = 'Cancelled';
}

interface Exec {
  readonly invoke: TaskInvoker;
  readonly integrate: IntegrationInvoker | null;
  readonly emit: ((e: HistoryEvent) => void) | null;
  readonly transition: ((next: string, input: unknown, variables: Readonly<Record<string, unknown>>) => void) | null;
  /** The top-level machine: transitions are reported only at this level. */
  readonly root: SubMachine;
  readonly execution: Readonly<Record<string, unknown>>;
  readonly stateMachine: Readonly<Record<string, unknown>>;
  readonly maxTransitions: number;
  /** States entered so far, across the whole execution. */
  transitions: number;
  /** History events so far, counted whether or not history is kept, so that event ids in causes never depend on it. */
  events: number;
}

/** Counts one history event; true when history is kept and the caller should build and emit it. */
function recording(x: Exec): x is Exec & { readonly emit: (e: HistoryEvent) => void } {
  x.events++;
  return x.emit !== null;
}

interface Step {
  next: string | null;
  output: unknown;
  /** The state's Assign: new variable values, stored once the state is done (every field saw the old ones). */
  assigned?: Record<string, unknown> | null;
}

/** What a Task, Parallel or Map produced: its output and its assignments. */
type Outcome = Omit<Step, 'next'>;

interface MapItem {
  Index: number;
  Value: unknown;
}

// ------------------------------------------------------------------------------------------------ helpers

function contextThunk(x: Exec, vars: Variables, state: string, enteredAt: number, retryCount: number | undefined, mapItem?: MapItem): ContextThunk {
  let built: unknown;
  const thunk = () => {
    if (built === undefined) {
      const st: Record<string, unknown> = { Name: state, EnteredTime: new Date(enteredAt).toISOString() };
      if (retryCount !== undefined) st.RetryCount = retryCount;
      const c: Record<string, unknown> = { Execution: x.execution, StateMachine: x.stateMachine, State: st };
      if (mapItem) c.Map = { Item: mapItem };
      built = c;
    }
    return built;
  };
  return Object.assign(thunk, { vars });
}

/** Evaluates a JSONata field of a state, catcher or rule (present by the caller's check). */
function jsonata(s: { jsonata: State['jsonata'] }, field: JsonataField, values: StatesValues, ctx: ContextThunk, state: string): Promise<unknown> {
  return s.jsonata![field]!(values, ctx, state);
}

/** A JSONata state's Output (default: `fallback`) and Assign, both against the same `$states` and variables. */
async function jsonataOutcome(s: { jsonata: State['jsonata'] }, values: StatesValues, fallback: unknown, ctx: ContextThunk, state: string): Promise<Outcome> {
  const j = s.jsonata!;
  const output = j.Output ? await j.Output(values, ctx, state) : fallback;
  const assigned = j.Assign ? ((await j.Assign(values, ctx, state)) as Record<string, unknown>) : null;
  return { output, assigned };
}

/** A JSONata value that must be a whole number (TimeoutSeconds, MaxConcurrency...). */
async function jsonataInt(s: { jsonata: State['jsonata'] }, field: JsonataField, values: StatesValues, ctx: ContextThunk, state: string, min: number): Promise<number> {
  const v = await jsonata(s, field, values, ctx, state);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw queryError(state, `The field '${field}' must be ${min > 0 ? 'a positive' : 'a non-negative'} integer, but its JSONata expression returned ${JSON.stringify(v)}.`);
  return v;
}

function stateError(state: string, msg: string): StatesError {
  return runtimeError(statePrefix(state) + msg);
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
    if (e instanceof PathSetError) throw new StatesError(RESULT_PATH_MATCH_FAILURE, statePrefix(state) + e.message);
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

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** States.Runtime: fatal, so no Retry or Catch can keep a runaway execution going. */
function transitionLimit(max: number): StatesError {
  return runtimeError(`The execution reached the limit of ${max} state transitions (maxTransitions) and was stopped`);
}

function retryDelayMs(r: Retrier, attempt: number): number {
  let s = r.intervalSeconds * r.backoffRate ** attempt;
  if (r.maxDelaySeconds !== undefined) s = Math.min(s, r.maxDelaySeconds);
  if (r.jitter === 'FULL') s = Math.random() * s;
  return s * 1000;
}

/** A named function's Task whose result becomes its output unchanged and feeds no Assign: a RawJson result stays raw. */
function passesRawResult(s: TaskState): boolean {
  return passesResultThrough(s) && s.assign === null;
}

// ------------------------------------------------------------------------------------------------ machine loop

async function runMachine(x: Exec, sub: SubMachine, input: unknown, signal: AbortSignal, vars: Variables, startAt = sub.startAt): Promise<unknown> {
  let state = sub.states.get(startAt)!;
  let value = input;
  const transition = x.transition !== null && sub === x.root ? x.transition : null;
  for (;;) {
    if (++x.transitions > x.maxTransitions) throw transitionLimit(x.maxTransitions);
    if (x.transitions % YIELD_EVERY === 0) await yieldToEventLoop();
    if (signal.aborted) throw new Cancelled();
    const enteredAt = Date.now();
    if (recording(x)) x.emit({ t: now(), type: state.enteredEvent, state: state.name, input: value });
    const enteredEventId = x.events;
    // A raw result is parsed only by a state that reads into its input; a Task that takes it as is passes it on.
    if (value instanceof RawJson && !takesInputAsIs(state)) value = value.value;
    let step: Step;
    try {
      switch (state.type) {
        case 'Pass':
          step = state.jsonata ? await runPassJsonata(x, vars, state, value, enteredAt) : runPass(x, vars, state, value, enteredAt);
          break;
        case 'Choice':
          step = state.jsonata ? await runChoiceJsonata(x, vars, state, value, enteredAt) : runChoice(x, vars, state, value, enteredAt);
          break;
        case 'Succeed':
          step = state.jsonata ? await runSucceedJsonata(x, vars, state, value, enteredAt) : runSucceed(x, vars, state, value, enteredAt);
          break;
        case 'Fail':
          throw await runFail(x, vars, state, value, enteredAt);
        case 'Wait':
          step = await runWait(x, vars, state, value, enteredAt, signal);
          break;
        default:
          step = await runWithErrorHandling(x, vars, state, value, enteredAt, signal);
      }
    } catch (e) {
      throw e instanceof StatesError ? locate(e, state.name, enteredEventId) : e;
    }
    if (step.assigned) vars.assign(step.assigned, state.name);
    if (recording(x)) x.emit({ t: now(), type: state.exitedEvent, state: state.name, output: step.output });
    if (step.next === null) return step.output;
    value = step.output;
    state = sub.states.get(step.next)!;
    if (transition) transition(state.name, value, vars.bindings());
  }
}

// Assign (JSONPath) sees the state's result as `$`: ResultSelector's output for Task, Parallel and Map, Parameters'
// or Result's for Pass, the effective input for Choice and Wait, the error output for a catcher.

function runPass(x: Exec, vars: Variables, s: PassState, raw: unknown, enteredAt: number): Step {
  const ctx = contextThunk(x, vars, s.name, enteredAt, undefined);
  const eff = select(s.inputPath, raw, ctx, s.name);
  const result = s.parameters ? s.parameters(eff, ctx) : s.hasResult ? s.result : eff;
  const assigned = s.assign ? (s.assign(result, ctx) as Record<string, unknown>) : null;
  const out = applyResultPath(s.resultPath, raw, result, s.name);
  return { next: s.next, output: select(s.outputPath, out, ctx, s.name), assigned };
}

async function runPassJsonata(x: Exec, vars: Variables, s: PassState, raw: unknown, enteredAt: number): Promise<Step> {
  const ctx = contextThunk(x, vars, s.name, enteredAt, undefined);
  return { next: s.next, ...(await jsonataOutcome(s, { input: raw }, raw, ctx, s.name)) };
}

function runSucceed(x: Exec, vars: Variables, s: SucceedState, raw: unknown, enteredAt: number): Step {
  const ctx = contextThunk(x, vars, s.name, enteredAt, undefined);
  return { next: null, output: select(s.outputPath, select(s.inputPath, raw, ctx, s.name), ctx, s.name) };
}

async function runSucceedJsonata(x: Exec, vars: Variables, s: SucceedState, raw: unknown, enteredAt: number): Promise<Step> {
  const ctx = contextThunk(x, vars, s.name, enteredAt, undefined);
  return { next: null, ...(await jsonataOutcome(s, { input: raw }, raw, ctx, s.name)) };
}

function noChoiceMatched(s: ChoiceState): StatesError {
  return new StatesError('States.NoChoiceMatched', `No choice rule of state '${s.name}' matched the input and there is no Default`);
}

/** The matched rule's Assign applies (its own, else the state's); with no rule matched (Default), the state's. */
function runChoice(x: Exec, vars: Variables, s: ChoiceState, raw: unknown, enteredAt: number): Step {
  const ctx = contextThunk(x, vars, s.name, enteredAt, undefined);
  const eff = select(s.inputPath, raw, ctx, s.name);
  const rule = s.choices.find((c) => c.cond(eff, ctx));
  const next = rule ? rule.next : s.default;
  if (next === null) throw noChoiceMatched(s);
  const assign = rule ? rule.assign : s.assign; // a rule's Assign already falls back to the state's (load.ts)
  const assigned = assign ? (assign(eff, ctx) as Record<string, unknown>) : null;
  return { next, output: select(s.outputPath, eff, ctx, s.name), assigned };
}

async function runChoiceJsonata(x: Exec, vars: Variables, s: ChoiceState, raw: unknown, enteredAt: number): Promise<Step> {
  const ctx = contextThunk(x, vars, s.name, enteredAt, undefined);
  const values = { input: raw };
  for (const rule of s.choices) {
    const hit = rule.jsonata!.Condition ? await jsonata(rule, 'Condition', values, ctx, s.name) : rule.cond(raw, ctx);
    if (typeof hit !== 'boolean') throw queryError(s.name, `The Condition of a choice rule must evaluate to a boolean, but it returned ${JSON.stringify(hit)}.`);
    if (!hit) continue;
    return { next: rule.next, ...(await jsonataOutcome(rule, values, raw, ctx, s.name)) };
  }
  if (s.default === null) throw noChoiceMatched(s);
  return { next: s.default, ...(await jsonataOutcome(s, values, raw, ctx, s.name)) };
}

async function runFail(x: Exec, vars: Variables, s: FailState, raw: unknown, enteredAt: number): Promise<StatesError> {
  const ctx = contextThunk(x, vars, s.name, enteredAt, undefined);
  const pick = async (expr: FailState['errorPath'], text: string | null, literal: string | null, field: 'Error' | 'Cause'): Promise<string | null> => {
    if (s.jsonata?.[field]) {
      const v = await jsonata(s, field, { input: raw }, ctx, s.name);
      if (typeof v !== 'string') throw queryError(s.name, `The field '${field}' must be a string, but its JSONata expression returned ${JSON.stringify(v)}.`);
      return v;
    }
    if (!expr) return literal;
    const v = expr(raw, ctx);
    if (typeof v !== 'string') throw stateError(s.name, `The ${field}Path parameter must reference a string value, got ${JSON.stringify(v)} from ${text}`);
    return v;
  };
  const error = await pick(s.errorPath, s.errorPathText, s.error, 'Error');
  const cause = await pick(s.causePath, s.causePathText, s.cause, 'Cause');
  if (recording(x)) x.emit({ t: now(), type: 'FailStateFailed', state: s.name, error, cause });
  return new StatesError(error, cause);
}

async function runWait(x: Exec, vars: Variables, s: WaitState, raw: unknown, enteredAt: number, signal: AbortSignal): Promise<Step> {
  const ctx = contextThunk(x, vars, s.name, enteredAt, undefined);
  const eff = select(s.inputPath, raw, ctx, s.name);
  let ms = 0;
  if (s.jsonata?.Seconds) ms = (await jsonataInt(s, 'Seconds', { input: raw }, ctx, s.name, 0)) * 1000;
  else if (s.jsonata?.Timestamp) {
    const v = await jsonata(s, 'Timestamp', { input: raw }, ctx, s.name);
    const ts = parseTimestamp(v);
    if (!ts) throw queryError(s.name, `The field 'Timestamp' must be an ISO-8601 extended offset date-time format string, but its JSONata expression returned ${JSON.stringify(v)}.`);
    ms = ts[0] * 1000 + ts[1] / 1e6 - Date.now();
  } else if (s.seconds !== undefined) ms = s.seconds * 1000;
  else if (s.timestamp !== undefined) ms = s.timestamp[0] * 1000 + s.timestamp[1] / 1e6 - Date.now();
  else if (s.secondsPath) {
    const v = readPath(s.secondsPath, eff, ctx, s.name);
    // AWS takes whole seconds only, as for Seconds.
    if (typeof v !== 'number' || !Number.isInteger(v)) throw stateError(s.name, `The SecondsPath parameter does not reference an integer: ${s.secondsPath.text} == ${JSON.stringify(v)}`);
    if (v < 0) throw stateError(s.name, `The SecondsPath parameter references a negative value: ${s.secondsPath.text} == ${v}`);
    ms = v * 1000;
  } else if (s.timestampPath) {
    const v = readPath(s.timestampPath, eff, ctx, s.name);
    const ts = parseTimestamp(v);
    if (!ts) throw stateError(s.name, `The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: ${s.timestampPath.text} == ${JSON.stringify(v)}`);
    ms = ts[0] * 1000 + ts[1] / 1e6 - Date.now();
  }
  if (ms > 0) {
    if (recording(x)) x.emit({ t: now(), type: 'WaitStateWaiting', state: s.name, ms });
    await sleep(ms, signal);
  }
  if (s.jsonata) return { next: s.next, ...(await jsonataOutcome(s, { input: raw }, raw, ctx, s.name)) };
  return { next: s.next, output: select(s.outputPath, eff, ctx, s.name), assigned: s.assign ? (s.assign(eff, ctx) as Record<string, unknown>) : null };
}

// ------------------------------------------------------------------------------------------------ Retry / Catch

type Failing = TaskState | ParallelState | MapState;

async function runWithErrorHandling(x: Exec, vars: Variables, s: Failing, raw: unknown, enteredAt: number, signal: AbortSignal): Promise<Step> {
  let counts: number[] | null = null;
  let retryCount = 0;
  for (;;) {
    const ctx = contextThunk(x, vars, s.name, enteredAt, retryCount);
    try {
      const out =
        s.type === 'Task' ? await runTask(x, s, raw, ctx, signal) : s.type === 'Parallel' ? await runParallel(x, vars, s, raw, ctx, signal) : await runMap(x, vars, s, raw, ctx, enteredAt, signal);
      return { next: s.next, ...out };
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
          if (recording(x)) x.emit({ t: now(), type: 'StateRetryScheduled', state: s.name, error: e.error, cause: e.cause, attempt: retryCount, delayMs: delay });
          await sleep(delay, signal);
          continue;
        }
      }
      const c: Catcher | undefined = s.catch.find((k) => errorMatches(k.errorEquals, e.error));
      if (!c) throw e;
      raw = plain(raw); // a catcher's ResultPath writes into the input
      const errorOutput: Record<string, unknown> = { Error: e.error };
      if (e.cause !== null) errorOutput.Cause = e.cause;
      if (recording(x)) x.emit({ t: now(), type: 'StateErrorCaught', state: s.name, error: e.error, cause: e.cause, next: c.next });
      // A catcher's output goes to its Next as is: the state's OutputPath does not apply to it.
      if (c.jsonata) return { next: c.next, ...(await jsonataOutcome(c, { input: raw, errorOutput }, errorOutput, ctx, s.name)) };
      return { next: c.next, output: applyResultPath(c.resultPath, raw, errorOutput, s.name), assigned: c.assign ? (c.assign(errorOutput, ctx) as Record<string, unknown>) : null };
    }
  }
}

/** The end of a Task, Parallel or Map: ResultSelector, Assign, ResultPath, OutputPath; or JSONata's Output and Assign. */
async function finish(s: Failing, raw: unknown, result: unknown, ctx: ContextThunk): Promise<Outcome> {
  if (s.jsonata) return jsonataOutcome(s, { input: raw, result }, result, ctx, s.name);
  if (s.resultPath !== undefined) raw = plain(raw); // ResultPath writes the result into the input (or keeps the input)
  const selected = s.resultSelector ? s.resultSelector(result, ctx) : result;
  const assigned = s.assign ? (s.assign(selected, ctx) as Record<string, unknown>) : null;
  return { output: select(s.outputPath, applyResultPath(s.resultPath, raw, selected, s.name), ctx, s.name), assigned };
}

/** The effective input of a Task or Parallel: InputPath then Parameters, or JSONata's Arguments. */
async function argumentsOf(s: TaskState | ParallelState, raw: unknown, ctx: ContextThunk): Promise<{ eff: unknown; args: unknown }> {
  if (s.jsonata) return { eff: raw, args: s.jsonata.Arguments ? await jsonata(s, 'Arguments', { input: raw }, ctx, s.name) : raw };
  const eff = select(s.inputPath, raw, ctx, s.name);
  return { eff, args: s.parameters ? s.parameters(eff, ctx) : eff };
}

// ------------------------------------------------------------------------------------------------ Task

async function runTask(x: Exec, s: TaskState, raw: unknown, ctx: ContextThunk, signal: AbortSignal): Promise<Outcome> {
  const { eff, args: params } = await argumentsOf(s, raw, ctx);
  let functionName: string | null = null;
  let payload: unknown;
  if (s.resource.kind === 'lambda') {
    functionName = s.resource.functionName;
    payload = params;
  } else if (s.resource.kind === 'integration') {
    payload = params;
  } else {
    const p = (typeof params === 'object' && params !== null ? params : {}) as Record<string, unknown>;
    const ref = p.FunctionName;
    const fn = typeof ref === 'string' ? functionNameFromRef(ref) : null;
    if (fn === null) throw stateError(s.name, `${s.jsonata ? 'Arguments' : 'Parameters'}.FunctionName is not a function name or Lambda function ARN: ${JSON.stringify(ref)}`);
    functionName = fn;
    payload = 'Payload' in p ? p.Payload : {};
  }
  const timeoutSeconds = s.jsonata?.TimeoutSeconds
    ? await jsonataInt(s, 'TimeoutSeconds', { input: raw }, ctx, s.name, 1)
    : s.timeoutSecondsPath
      ? positiveInt(s.timeoutSecondsPath, eff, ctx, s.name, 'TimeoutSecondsPath')
      : s.timeoutSeconds;
  const heartbeatSeconds = s.jsonata?.HeartbeatSeconds
    ? await jsonataInt(s, 'HeartbeatSeconds', { input: raw }, ctx, s.name, 1)
    : s.heartbeatSecondsPath
      ? positiveInt(s.heartbeatSecondsPath, eff, ctx, s.name, 'HeartbeatSecondsPath')
      : s.heartbeatSeconds;
  if (recording(x)) x.emit({ t: now(), type: 'TaskScheduled', state: s.name, resource: s.resourceText, functionName, input: payload, timeoutSeconds, heartbeatSeconds });

  let result: unknown;
  try {
    const integration = s.resource.kind === 'integration' ? s.resource.integration : null;
    const start: (callSignal: AbortSignal) => Promise<unknown> =
      integration !== null
        ? (callSignal) => {
            if (!x.integrate) throw new TaskFailure('States.Runtime', `this engine runs no platform integrations (${s.resourceText})`);
            return x.integrate({ integration, input: payload, stateName: s.name, signal: callSignal });
          }
        : (callSignal) => {
            const call: TaskCall = { functionName: functionName!, input: payload, stateName: s.name, signal: callSignal };
            if (timeoutSeconds !== undefined) call.timeoutSeconds = timeoutSeconds;
            if (heartbeatSeconds !== undefined) call.heartbeatSeconds = heartbeatSeconds;
            return x.invoke(call);
          };
    result = await callWithTimeouts(s.name, start, timeoutSeconds, heartbeatSeconds, signal);
  } catch (e) {
    if (e instanceof Cancelled) throw e;
    const err = e instanceof TaskFailure ? new StatesError(e.error, e.cause) : toStatesError(e);
    if (recording(x)) x.emit({ t: now(), type: err.error === 'States.Timeout' ? 'TaskTimedOut' : 'TaskFailed', state: s.name, error: err.error, cause: err.cause });
    throw err;
  }
  if (result === undefined) result = null;
  if (result instanceof RawJson && !passesRawResult(s)) result = result.value;
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
  if (recording(x)) x.emit({ t: now(), type: 'TaskSucceeded', state: s.name, output: result });
  return finish(s, raw, result, ctx);
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
 * Starts a Task's call (a function's invocation or a platform integration) under the state's timeouts. The call
 * settles only once the started promise has: on a timeout or an abort from above, the callee is told through the
 * signal it was given and stops or abandons its work (the TaskInvoker contract), so nothing that follows (a Retry, a
 * Catch, the next state) runs beside the attempt it replaces.
 */
function callWithTimeouts(
  stateName: string,
  start: (signal: AbortSignal) => Promise<unknown>,
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
    p = start(ctl ? ctl.signal : signal);
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
async function runParallel(x: Exec, vars: Variables, s: ParallelState, raw: unknown, ctx: ContextThunk, signal: AbortSignal): Promise<Outcome> {
  const { args: input } = await argumentsOf(s, raw, ctx);
  if (recording(x)) x.emit({ t: now(), type: 'ParallelStateStarted', state: s.name, branches: s.branches.length });
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
        runMachine(x, b, input, ctl.signal, vars.child()).then(
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
    if (!(e instanceof Cancelled) && recording(x)) x.emit({ t: now(), type: 'ParallelStateFailed', state: s.name, ...errFields(e) });
    throw e;
  } finally {
    dispose();
  }
  if (recording(x)) x.emit({ t: now(), type: 'ParallelStateSucceeded', state: s.name });
  return finish(s, raw, results, ctx);
}

function errFields(e: unknown): { error: string | null; cause: string | null } {
  return e instanceof StatesError ? { error: e.error, cause: e.cause } : { error: 'MF_INTERNAL', cause: String(e) };
}

async function runMap(x: Exec, vars: Variables, s: MapState, raw: unknown, ctx: ContextThunk, enteredAt: number, signal: AbortSignal): Promise<Outcome> {
  const eff = select(s.inputPath, raw, ctx, s.name);
  const input = { input: raw };
  const items = s.jsonata?.Items ? await jsonata(s, 'Items', input, ctx, s.name) : s.itemsPath ? readPath(s.itemsPath, eff, ctx, s.name) : eff;
  if (!Array.isArray(items)) {
    const what = `${s.jsonata?.Items ? 'the Items expression' : s.itemsPath ? s.itemsPath.text : 'the input'} is ${JSON.stringify(items)?.slice(0, 200)}`;
    if (s.jsonata) throw queryError(s.name, `Items of the Map state must be a JSON array; ${what}`);
    throw stateError(s.name, `Items of the Map state must be a JSON array; ${what}`);
  }
  const maxConcurrency = s.jsonata?.MaxConcurrency
    ? await jsonataInt(s, 'MaxConcurrency', input, ctx, s.name, 0)
    : s.maxConcurrencyPath
      ? positiveInt(s.maxConcurrencyPath, eff, ctx, s.name, 'MaxConcurrencyPath', true)
      : s.maxConcurrency;
  const tolCount = s.jsonata?.ToleratedFailureCount
    ? await jsonataInt(s, 'ToleratedFailureCount', input, ctx, s.name, 0)
    : s.toleratedFailureCountPath
      ? positiveInt(s.toleratedFailureCountPath, eff, ctx, s.name, 'ToleratedFailureCountPath', true)
      : s.toleratedFailureCount;
  let tolPct = s.toleratedFailurePercentage;
  if (s.jsonata?.ToleratedFailurePercentage) {
    const v = await jsonata(s, 'ToleratedFailurePercentage', input, ctx, s.name);
    if (typeof v !== 'number' || v < 0 || v > 100) throw queryError(s.name, `The field 'ToleratedFailurePercentage' must be a number from 0 to 100, but its JSONata expression returned ${JSON.stringify(v)}.`);
    tolPct = v;
  } else if (s.toleratedFailurePercentagePath) {
    const v = readPath(s.toleratedFailurePercentagePath, eff, ctx, s.name);
    if (typeof v !== 'number' || v < 0 || v > 100) throw stateError(s.name, `ToleratedFailurePercentagePath must reference a number from 0 to 100, got ${JSON.stringify(v)}`);
    tolPct = v;
  }
  const tolerant = tolCount !== undefined || tolPct !== undefined;
  const n = items.length;
  if (recording(x)) x.emit({ t: now(), type: 'MapStateStarted', state: s.name, length: n });
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
        const itemCtx = () => contextThunk(x, vars, s.name, enteredAt, undefined, { Index: i, Value: item });
        if (s.jsonata?.ItemSelector) {
          jsonata(s, 'ItemSelector', { input: raw }, itemCtx(), s.name).then((input) => launch(i, input), fail);
          return;
        }
        let input: unknown;
        try {
          input = s.itemSelector ? s.itemSelector(eff, itemCtx()) : item;
        } catch (e) {
          return fail(e);
        }
        launch(i, input);
      };
      const launch = (i: number, input: unknown): void => {
        if (done) return;
        if (recording(x)) x.emit({ t: now(), type: 'MapIterationStarted', state: s.name, index: i });
        running++;
        runMachine(x, s.processor, input, ctl.signal, vars.child()).then(
          (v) => {
            running--;
            if (done) return settledAfterFailure();
            out[i] = v;
            if (recording(x)) x.emit({ t: now(), type: 'MapIterationSucceeded', state: s.name, index: i });
            if (--remaining === 0) resolve(out);
            else startOne();
          },
          (e) => {
            running--;
            if (done) return settledAfterFailure();
            if (recording(x)) x.emit({ t: now(), type: 'MapIterationFailed', state: s.name, index: i, ...errFields(e) });
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
    if (!(e instanceof Cancelled) && recording(x)) x.emit({ t: now(), type: 'MapStateFailed', state: s.name, ...errFields(e) });
    throw e;
  } finally {
    dispose();
  }
  if (recording(x)) x.emit({ t: now(), type: 'MapStateSucceeded', state: s.name });
  return finish(s, raw, results, ctx);
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
    // Read only when a path asks for $$.Execution.Input: a raw input is parsed then, not before.
    get Input(): unknown {
      return plain(input);
    },
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
    integrate: options.integrate ?? null,
    emit: options.onEvent ?? null,
    transition: options.onTransition ?? null,
    root: machine.root,
    execution,
    stateMachine: { Id: smArn, Name: smName },
    maxTransitions: options.limits?.maxTransitions ?? Infinity,
    transitions: 0,
    events: 0,
  };
  if (recording(x)) x.emit({ t: now(), type: 'ExecutionStarted', input, executionId: execution.Id, stateMachine: smName });

  const root = new AbortController();
  let reason: 'aborted' | 'timeout' | 'limit' | null = null;
  const onAbort = () => {
    reason ??= 'aborted';
    root.abort();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  // One timer: the definition's TimeoutSeconds or the platform's bound, whichever comes first.
  const definitionMs = machine.timeoutSeconds !== undefined ? machine.timeoutSeconds * 1000 : Infinity;
  const limitMs = options.limits?.maxDurationMs ?? Infinity;
  let timer: NodeJS.Timeout | undefined;
  if (Math.min(definitionMs, limitMs) < Infinity)
    timer = setTimeout(
      () => {
        reason ??= definitionMs <= limitMs ? 'timeout' : 'limit';
        root.abort();
      },
      Math.min(definitionMs, limitMs, 2 ** 31 - 1),
    );

  let result: ExecutionResult;
  try {
    const vars = Variables.root();
    if (resume?.variables) vars.assign(resume.variables, resume.state);
    const output = resume ? await runMachine(x, machine.root, resume.input, root.signal, vars, resume.state) : await runMachine(x, machine.root, input, root.signal, vars);
    result = { status: 'SUCCEEDED', output };
  } catch (e) {
    if (e instanceof StatesError) result = { status: 'FAILED', error: e.error, cause: e.cause };
    else if (e instanceof Cancelled)
      result =
        reason === 'timeout'
          ? { status: 'FAILED', error: 'States.Timeout', cause: `The execution timed out after ${machine.timeoutSeconds} s (TimeoutSeconds)` }
          : reason === 'limit'
            ? { status: 'FAILED', error: 'States.Timeout', cause: `The execution ran longer than the limit of ${limitMs / 1000} s (maxExecutionSeconds)` }
            : { status: 'FAILED', error: 'States.Aborted', cause: 'The execution was aborted' };
    else result = { status: 'FAILED', error: 'MF_INTERNAL', cause: `ASL engine error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` };
  } finally {
    if (timer) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (recording(x)) {
    if (result.status === 'SUCCEEDED') x.emit({ t: now(), type: 'ExecutionSucceeded', output: result.output });
    else x.emit({ t: now(), type: result.error === 'States.Aborted' ? 'ExecutionAborted' : result.error === 'States.Timeout' && (reason === 'timeout' || reason === 'limit') ? 'ExecutionTimedOut' : 'ExecutionFailed', error: result.error, cause: result.cause });
  }
  return result;
}
