/**
 * Messages between the parts of the platform. Frontend <-> sandbox agent travel as frames (platform/bus/frames.ts: a
 * JSON header line, then the payload's raw bytes) over a Unix socket (so the agent can sit inside a container with
 * the socket's folder bind-mounted); agent <-> worker travel as frames on a pipe (the local bus) and, for control,
 * over Node's IPC channel (both are inside one sandbox).
 */
import type { ErrorBody } from './errors.js';
import type { FunctionSpec } from './manifest.js';
import type { InvocationRecord } from './records.js';
import type { RemotePipeTarget, SessionOp, SessionRecord, SessionReply, SessionState, SessionTaskOp } from './sessions/types.js';
import type { StorageOp, StorageReply } from './storage/types.js';

// ---------------------------------------------------------------- agent <-> worker (inside the sandbox)

/** A log line a function wrote, attributed to one invocation. */
export interface LogLine {
  t: number;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

/** The error shape Lambda reports for a failed invocation. */
export interface LambdaError {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

/** Control messages over Node's IPC channel: a runtime's boot and load, and context.storage. */
export type AgentToWorker = { t: 'load'; spec: FunctionSpec; handover?: HandoverInbox } | { t: 'storage-result'; id: number; reply: StorageReply };

/**
 * Where a worker takes invocations handed over by the worker of the previous state (docs/architecture.md#decisions):
 * a Unix socket in the sandbox's folder, and the result size above which it hands nothing over (the agent refuses it).
 */
export interface HandoverInbox {
  socket: string;
  maxResultBytes: number;
}

/**
 * The invocation of the next state, planned by the agent: on success, the worker sends its result's bytes as this
 * invocation's event straight to the next worker's inbox, then tells the agent (`forwarded`). Nested for a chain.
 */
export interface Handover {
  /** The next worker's inbox socket. */
  to: string;
  id: string;
  idempotencyKey: string;
  /** The next function's timeout: its deadline is set when the event is handed over. */
  timeoutMs: number;
  /** The debug hop delay (MFBENCH_DEBUG_HOP_DELAY_US), spent by the worker that carries this hop; absent when off. */
  debugDelayUs?: number;
  next?: Handover;
}

export type WorkerToAgent =
  /** Sent once when the runtime process has booted and waits for a function to load. */
  | { t: 'booted' }
  /** `handover`: the worker listens on the inbox it was given (false: it could not, so nothing is handed to it). */
  | { t: 'loaded'; initMs: number; handover: boolean }
  /** A `context.storage` call of a running invocation; answered with 'storage-result'. */
  | { t: 'storage'; id: number; op: StorageOp }
  | { t: 'load-failed'; error: ErrorBody };

/**
 * The invocation path, as frames on the local bus (platform/bus/frames.ts, a pipe at LOCAL_BUS_FD in the worker):
 * a JSON header, and the payload as the JSON text it was serialised to once.
 */
export type AgentToWorkerFrame =
  /** Payload: the event. `next`: hand the result over to the next state's worker (also sent worker to worker). */
  | { t: 'invoke'; id: string; deadline: number; executionId: string | null; idempotencyKey: string; next?: Handover }
  /** The invocation's result is no longer wanted: abort its context.signal (docs/recovery.md). */
  | { t: 'cancel'; id: string; reason: string };

/** Payload: the handler's value, when it succeeded (no `error`). */
export interface WorkerToAgentFrame {
  t: 'result';
  id: string;
  handlerStart: number;
  handlerEnd: number;
  logs: LogLine[];
  error?: LambdaError;
  /** The result was handed over to the next state's worker before this frame was sent (Handover). */
  forwarded?: true;
}

/** The worker's file descriptor of the local bus's pipe (stdio: stdin, stdout, stderr, IPC, then this). */
export const LOCAL_BUS_FD = 4;

// ---------------------------------------------------------------- frontend <-> agent (crosses the sandbox wall)

/**
 * The file in a sandbox's folder in which the frontend leaves the app's SandboxAppSpec (JSON) before it creates the
 * sandbox: the agent deploys it as it starts, without a `deploy` round trip, and removes it (agent/main.ts).
 */
export const SANDBOX_APP_FILE = 'app.json';

/** Everything the agent needs to run one app: its functions (code already inside the sandbox) and workflows. */
export interface SandboxAppSpec {
  app: string;
  functions: FunctionSpec[];
  /** Workflow name -> ASL definition (validated by the frontend before deploy). */
  workflows: Record<string, unknown>;
  /** Start every function's worker at deploy instead of on first use. */
  startWorkersAtDeploy: boolean;
  policy: SandboxPolicy;
}

/** The platform's bounds on one execution, for the ASL engine wherever it runs (docs/limits.md). */
export interface ExecutionLimits {
  /** States entered, counting those inside Parallel branches and Map iterations (AWS bounds history events). */
  maxTransitions: number;
  /** Wall-clock bound, in milliseconds. */
  maxDurationMs: number;
}

/** How the agent scales, reclaims and recovers its workers (from the platform's policy switches). */
export interface SandboxPolicy {
  /** Pre-booted, not yet specialised runtime processes kept ready in the sandbox; 0 disables the pool. */
  poolSize: number;
  workerConcurrency: number;
  maxWorkersPerFunction: number;
  keepAliveMs: number;
  /** Times an invocation whose worker was killed from outside is run again in a fresh worker. */
  recoveryAttempts: number;
  /** Send checkpoints (next state and its input) to the frontend at top-level transitions. */
  checkpoints: boolean;
  /** The platform's bounds on one execution (maxTransitions, maxExecutionSeconds). */
  limits: ExecutionLimits;
  /** A function result larger than this, as JSON, fails the invocation with MF_RESULT_TOO_LARGE. */
  maxResultBytes: number;
  /** Workers hand pass-through results straight to the next Task's worker (off: every hop through the agent). */
  handover: boolean;
  /** How much execution history the sandbox keeps (maxStoredExecutions, maxStoredExecutionBytes); the oldest goes first. */
  history: { maxExecutions: number; maxBytes: number };
}

export type FrontendToAgent =
  | { t: 'deploy'; spec: SandboxAppSpec }
  /**
   * Payload: the execution's input as JSON bytes; the agent carries them unparsed (platform/asl/raw-json.ts) until a
   * state reads into them.
   */
  | {
      t: 'execute';
      id: string;
      workflow: string;
      executionName: string;
      startTime: string;
      /** How long creating and starting the sandbox took when this request created it; null when it existed. */
      sandboxStart: SandboxStartTimes | null;
      wantHistory: boolean;
      /** Continue at a top-level state with its input (recovery from a checkpoint) instead of at StartAt. */
      resumeAt?: ResumePoint;
      /** Set on the n-th recovery of the execution (another sandbox died while running it); stamped on its records. */
      attempt?: number;
    }
  /** Payload: the function's input as JSON bytes, framed to its worker as they came. */
  | {
      t: 'invoke';
      id: string;
      fn: string;
      sandboxStart: SandboxStartTimes | null;
      /** Set when the workflow engine runs on the host and this is one of its Task hops. */
      executionId?: string;
      state?: string;
      /** Set on the n-th recovery of the hop (another sandbox died while running it); stamped on its record. */
      attempt?: number;
    }
  | { t: 'storage-result'; id: number; reply: StorageReply }
  /** Abort the execute or invoke request `id` (an execution was stopped): its running invocations are told. */
  | { t: 'abort'; id: string; reason: string }
  /** A session operation (docs/sessions.md); answered with 'session-reply'. */
  | { t: 'session'; id: number; op: SessionOp }
  /** The answer to 'pipe-broker': a PipeAddress, or the error. */
  | { t: 'pipe-brokered'; id: number; reply: SessionReply }
  /** The answer to 'session-task'. */
  | { t: 'session-tasked'; id: number; reply: SessionReply }
  /** The history the sandbox keeps of an execution that ran there; answered with 'history-reply'. */
  | { t: 'history'; id: number; executionId: string }
  | { t: 'shutdown' };

/** The two phases of starting a sandbox, in milliseconds. */
export interface SandboxStartTimes {
  /** The backend made the isolation unit (process spawned; container created and started). */
  createMs: number;
  /** From the start of creation until the agent had dialled back (less than createMs when it did so before create() returned). */
  connectMs: number;
  /** From the start of creation until the agent had the app deployed (so it includes createMs). */
  totalMs: number;
}

/** One step of an execution's history (ASL engine events), kept for debugging and the console. */
export interface HistoryEvent {
  t: number;
  type: string;
  state?: string;
  [key: string]: unknown;
}

export type ExecutionResult =
  | { status: 'SUCCEEDED'; output: unknown }
  | { status: 'FAILED'; error: string | null; cause: string | null };

/**
 * An execution's result as it crosses the sandbox wall: a successful output is the frame's payload, the bytes a
 * function's worker framed, because the agent carries a function's result as the bytes it arrived as and never
 * parses nor escapes it; the frontend keeps them unparsed too (a RawJson, SandboxLink).
 */
export type ResultOnWire = { status: 'SUCCEEDED' } | Extract<ExecutionResult, { status: 'FAILED' }>;

/** A checkpoint as it crosses the sandbox wall: its input is the frame's payload, as for ResultOnWire. */
export type CheckpointOnWire = Omit<Checkpoint, 'input'>;

/** What the sandbox has of an execution's history (docs/architecture.md#execution-history). */
export type HistoryReply =
  /** The events, as a JSON array's text. */
  | { kind: 'events'; json: string }
  /** The sandbox kept them and dropped them, oldest first, to stay within its bounds; `evicted` counts its drops so far. */
  | { kind: 'evicted'; evicted: number }
  /** The sandbox never had them, or it is gone. */
  | { kind: 'unknown' };

export type AgentToFrontend =
  | { t: 'ready'; sandboxId: string; pid: number }
  | { t: 'deployed'; workersStarted: number }
  | { t: 'deploy-failed'; error: ErrorBody }
  /** The history stays in the sandbox, which answers 'history' when someone asks for it. Payload: a SUCCEEDED output. */
  | {
      t: 'done';
      id: string;
      result: ResultOnWire;
      records: InvocationRecord[];
      logs: Array<LogLine & { invocationId: string; function: string }>;
    }
  | { t: 'history-reply'; id: number; reply: HistoryReply }
  /** The request could not run at all (unknown workflow, sandbox fault); distinct from a FAILED execution. */
  | { t: 'rejected'; id: string; error: ErrorBody }
  /** A global-tier storage operation for this sandbox's app; answered with 'storage-result'. */
  | { t: 'storage'; id: number; op: StorageOp }
  /**
   * The latest top-level transition of a running execution (next state; payload: its input, the bytes it arrived
   * as), coalesced: only the newest per execution is sent. The frontend resumes from the last one if the sandbox dies.
   */
  | ({ t: 'checkpoint' } & CheckpointOnWire)
  | { t: 'session-reply'; id: number; reply: SessionReply }
  /** A pipe to an instance of another session of the app (maybe in another sandbox): the frontend brokers it. */
  | { t: 'pipe-broker'; id: number; to: RemotePipeTarget }
  /** A session Task of a workflow running here (docs/asl.md#platform-integrations): the frontend owns the sessions. */
  | { t: 'session-task'; id: number; op: SessionTaskOp }
  /** A session ended (stopped, completed, failed): its final state and records, since the sandbox forgets it. */
  | { t: 'session-ended'; state: SessionState; records: SessionRecord[] };

/** The agent's answer to an execute or invoke request, its output parsed by the frontend. */
export type DoneMessage = Omit<Extract<AgentToFrontend, { t: 'done' }>, 'result'> & { result: ExecutionResult };

/** A request the frontend sends to run something in the sandbox, and its input's JSON bytes (the frame's payload); answered by 'done' or 'rejected'. */
export interface SandboxRequest {
  header: Extract<FrontendToAgent, { t: 'execute' | 'invoke' }>;
  payload: Buffer;
}

/** An execution's newest top-level transition, with the records of the invocations that finished since the last one. */
export interface Checkpoint extends ResumePoint {
  id: string;
  records: InvocationRecord[];
  /** Its input was not JSON (a function wrote on its worker's bus): the records count, the point is not resumed from. */
  unusable?: true;
}

/** Where a recovered execution continues: the next top-level state, its input, and the workflow variables then. */
export interface ResumePoint {
  state: string;
  input: unknown;
  /** The top-level variables (ASL `Assign`); absent while the execution has none. */
  variables?: Readonly<Record<string, unknown>>;
}
