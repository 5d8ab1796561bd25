/**
 * The records every invocation and execution yields. Measuring code fills these with timestamps and facts only;
 * statistics and reports read them later. Field meanings are documented in docs/records.md.
 */
import type { ErrorBody } from './errors.js';

/**
 * How much start-up an invocation paid for, decided from identity (see `temperatureOf`), never guessed. `unknown`
 * is for other platforms' records when their evidence (OpenWhisk's initTime, a container id) is missing;
 * MicroFunctions always knows.
 */
export type Temperature = 'cold-sandbox' | 'cold-worker' | 'warm' | 'unknown';

/** Where the worker that ran an invocation came from. */
export type WorkerOrigin = 'existing' | 'pool' | 'spawn';

/** An invocation's outcome: a discriminated union, so a failed invocation is never read as a result. */
export type InvocationOutcome =
  | { state: 'ok' }
  | { state: 'error'; error: string; cause: string }
  | { state: 'timeout'; error: string; cause: string }
  | { state: 'crashed'; error: string; cause: string }
  /** Cancelled (its state timed out, a sibling failed, the execution was stopped) and did not stop when told. */
  | { state: 'abandoned'; error: string; cause: string };

/** Platform-side timestamps of one invocation, epoch milliseconds (platform/clock.ts). */
export interface InvocationTimestamps {
  /** The sandbox agent decided to run this invocation (the previous state's output arrived). */
  queued: number;
  /** A worker for the function was ready to take it (equal to `queued` when a warm worker was idle). */
  workerReady: number;
  /** The handler was called, inside the worker. */
  handlerStart: number;
  /** The handler returned or threw, inside the worker. */
  handlerEnd: number;
  /** The result was back in the agent and handed on (to the next state or the frontend). */
  published: number;
}

/** Phases of a cold start, in milliseconds; absent phases did not happen for this invocation. */
export interface ColdStartPhases {
  /** Creating the sandbox: the backend made the process or the container (part of sandboxStartMs). */
  sandboxCreateMs?: number;
  /** From the start of creation until the sandbox's agent had dialled back (agent process boot and socket connect). */
  sandboxConnectMs?: number;
  /** Creating and starting the sandbox until its agent had the app deployed. */
  sandboxStartMs?: number;
  /** Booting a new runtime process (absent when a pooled, pre-booted process was taken). */
  runtimeBootMs?: number;
  /** Waiting for a pool runtime that was still booting (its boot began before this invocation needed it). */
  runtimeWaitMs?: number;
  /** Loading and initialising the function's code inside the worker (module import + top-level code). */
  codeLoadMs?: number;
}

export interface InvocationRecord {
  invocationId: string;
  executionId: string | null;
  app: string;
  function: string;
  /** The ASL state that ran the invocation; null for a direct function invocation. */
  state: string | null;
  temperature: Temperature;
  sandboxId: string;
  workerPid: number;
  workerOrigin: WorkerOrigin;
  host: string;
  backend: string;
  t: InvocationTimestamps;
  coldStart: ColdStartPhases;
  inputBytes: number;
  outputBytes: number;
  outcome: InvocationOutcome;
  /**
   * Present on every record of a run the frontend started again because a sandbox died (n: the n-th recovery); the
   * first such record of an execution is the step that ran again from the newest checkpoint (docs/recovery.md).
   */
  attempt?: number;
  /** Present when the agent ran this invocation again because its worker was killed from outside (n: the n-th time). */
  retry?: number;
  /**
   * Present when the previous state's worker handed this invocation its input directly, without the sandbox agent on
   * the hop (docs/architecture.md#decisions); `queued` and `workerReady` are then that worker's handlerEnd.
   */
  handedOver?: true;
}

/** ABORTED: stopped by `POST /executions/{id}/stop` (StopExecution), with the stop's error and cause. */
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';

/** Frontend-side timestamps of one execution, epoch milliseconds. */
export interface ExecutionTimestamps {
  /** The frontend had read the whole request. */
  received: number;
  /** The request was handed to the sandbox (after the sandbox existed). */
  dispatched: number;
  /** The final result was back in the frontend. */
  completed: number | null;
}

/** Identity facts from which `temperatureOf` decides an invocation's temperature. */
export interface TemperatureFacts {
  /** The sandbox was created because this execution (or direct invocation) needed it. */
  sandboxCreatedForRequest: boolean;
  /** No invocation had run in the sandbox before this one. */
  firstInSandbox: boolean;
  /** The worker was started (taken from the pool or spawned) for this invocation. */
  workerStartedForInvocation: boolean;
}

/**
 * cold-sandbox: the request created the sandbox and this is the first invocation in it (it paid for the sandbox).
 * cold-worker: the sandbox existed, but a worker was started for this invocation.
 * warm: an existing worker ran it.
 */
export function temperatureOf(f: TemperatureFacts): Temperature {
  if (f.sandboxCreatedForRequest && f.firstInSandbox && f.workerStartedForInvocation) return 'cold-sandbox';
  if (f.workerStartedForInvocation) return 'cold-worker';
  return 'warm';
}

/** The error an execution or invocation failed with, as ASL names it (Error / Cause). */
export interface FailureInfo {
  error: string | null;
  cause: string | null;
}

/** A platform error body narrowed to what travels in records. */
export type RecordedError = ErrorBody;
