/**
 * Messages between the parts of the platform. Frontend <-> sandbox agent travel as newline-delimited JSON over a
 * Unix socket (so the agent can sit inside a container with the socket's folder bind-mounted); agent <-> worker
 * travel over Node's IPC channel (both are inside one sandbox: the local bus).
 */
import type { ErrorBody } from './errors.js';
import type { FunctionSpec } from './manifest.js';
import type { InvocationRecord } from './records.js';
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

export type AgentToWorker =
  | { t: 'load'; spec: FunctionSpec }
  | { t: 'invoke'; id: string; event: unknown; deadline: number; executionId: string | null }
  | { t: 'storage-result'; id: number; reply: StorageReply };

export type WorkerToAgent =
  /** Sent once when the runtime process has booted and waits for a function to load. */
  | { t: 'booted' }
  | { t: 'loaded'; initMs: number }
  /** A `context.storage` call of a running invocation; answered with 'storage-result'. */
  | { t: 'storage'; id: number; op: StorageOp }
  | { t: 'load-failed'; error: ErrorBody }
  | {
      t: 'result';
      id: string;
      handlerStart: number;
      handlerEnd: number;
      logs: LogLine[];
      outcome: { ok: true; value: unknown } | { ok: false; error: LambdaError };
    };

// ---------------------------------------------------------------- frontend <-> agent (crosses the sandbox wall)

/** Everything the agent needs to run one app: its functions (code already inside the sandbox) and workflows. */
export interface SandboxAppSpec {
  app: string;
  functions: FunctionSpec[];
  /** Workflow name -> ASL definition (validated by the frontend before deploy). */
  workflows: Record<string, unknown>;
  /** Start every function's worker at deploy instead of on first use. */
  startWorkersAtDeploy: boolean;
  /** Pre-booted, not yet specialised runtime processes kept ready in the sandbox; 0 disables the pool. */
  poolSize: number;
}

export type FrontendToAgent =
  | { t: 'deploy'; spec: SandboxAppSpec }
  | {
      t: 'execute';
      id: string;
      workflow: string;
      input: unknown;
      executionName: string;
      startTime: string;
      /** How long creating the sandbox took when this request created it; null when the sandbox existed. */
      sandboxStartMs: number | null;
      wantHistory: boolean;
    }
  | { t: 'invoke'; id: string; fn: string; input: unknown; sandboxStartMs: number | null }
  | { t: 'storage-result'; id: number; reply: StorageReply }
  | { t: 'shutdown' };

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

export type AgentToFrontend =
  | { t: 'ready'; sandboxId: string; pid: number }
  | { t: 'deployed'; workersStarted: number }
  | { t: 'deploy-failed'; error: ErrorBody }
  | {
      t: 'done';
      id: string;
      result: ExecutionResult;
      records: InvocationRecord[];
      logs: Array<LogLine & { invocationId: string; function: string }>;
      history: HistoryEvent[];
    }
  /** The request could not run at all (unknown workflow, sandbox fault); distinct from a FAILED execution. */
  | { t: 'rejected'; id: string; error: ErrorBody }
  /** A global-tier storage operation for this sandbox's app; answered with 'storage-result'. */
  | { t: 'storage'; id: number; op: StorageOp };
