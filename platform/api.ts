/**
 * The answers of the HTTP API (docs/api.md): declared once, here, for the frontend that sends them and the SDK that
 * returns them.
 */
import type { LogLine } from './protocol.js';
import type { ExecutionStatus, ExecutionTimestamps, InvocationRecord } from './records.js';
import type { SessionRecord } from './sessions/types.js';

export type { ExecutionStatus, ExecutionTimestamps, InvocationRecord, Temperature } from './records.js';
export type { HistoryEvent } from './protocol.js';
export type { SessionMessage, SessionPolicy, SessionRecord, SessionStartRequest, SessionState, SessionTarget } from './sessions/types.js';

/** `GET /healthz`. */
export interface Health {
  ok: boolean;
  apps: number;
  uptimeMs: number;
}

/**
 * `GET /config`: the policy the platform resolved (docs/policies.md), so that a run against a remote platform can
 * record what it measured. Nothing secret or local: no token, data folder or address.
 */
export interface PlatformPolicy {
  backend: string;
  preset: string;
  sandboxing: string;
  busMode: string;
  workerConcurrency: number;
  maxWorkersPerFunction: number;
  maxSandboxesPerFunction: number;
  maxSandboxesPerApp: number;
  keepAliveSeconds: number;
  poolSize: number;
  workerStart: string;
  /** Workers hand pass-through results straight to the next Task's worker (absent: a platform from before the switch). */
  handover?: boolean;
  recoveryAttempts: number;
  keepHistory: boolean;
  maxResultBytes: number;
  maxTransitions: number;
  maxExecutionSeconds: number;
  /** Where the global bus and global storage live: embedded journals, or JetStream at `broker`. */
  /** Where the global bus and storage live; on a broker, with the copies JetStream keeps (brokerReplicas). */
  globalLayer: { bus: 'journal' | 'jetstream'; storage: 'journal' | 'jetstream-kv'; broker: string | null; replicas?: number };
}

export interface FunctionSummary {
  name: string;
  handler: string;
  memoryMB: number;
  timeoutSeconds: number;
}

export interface SandboxSummary {
  id: string;
  /** The sandbox's main process (null when the backend has none to show, e.g. a container not yet inspected). */
  pid: number | null;
  /** The sandbox agent's process id. */
  agentPid?: number;
  backend: string;
  /** The container holding the sandbox (docker backend). */
  containerId?: string;
  /** The functions the sandbox holds: all of the app's under grouped sandboxing, one under per-function. */
  functions: string[];
  /** ISO 8601. */
  createdAt: string;
}

/** An app as `POST /apps`, `GET /apps` and `GET /apps/{app}` describe it. */
export interface AppSummary {
  name: string;
  functions: FunctionSummary[];
  workflows: string[];
  sandboxes: SandboxSummary[];
  /** ISO 8601. */
  deployedAt: string;
}

/** One execution of a workflow (`POST …/executions?mode=sync`, `GET /executions/{id}`). */
export interface Execution {
  executionId: string;
  app: string;
  workflow: string;
  status: ExecutionStatus;
  /** Present only when status is SUCCEEDED. */
  output?: unknown;
  /** ASL's Error and Cause when status is FAILED (the stop's, if any, when ABORTED), null otherwise. */
  error: string | null;
  cause: string | null;
  t: ExecutionTimestamps;
  /** One record per function invocation; absent when the request asked `records=false`. */
  records?: InvocationRecord[];
}

/** `POST …/executions?mode=async`: the execution runs on; poll `GET /executions/{id}`. */
export interface ExecutionStarted {
  executionId: string;
}

/** `POST /apps/{app}/functions/{fn}/invocations`: an execution-shaped answer with one record. */
export type FunctionInvocation = Omit<Execution, 'workflow'> & { workflow?: string | null; function?: string };

/** A log line as `GET /apps/{app}/logs` returns it: what the function wrote, attributed to its invocation. */
export type LogEntry = LogLine & { invocationId?: string; executionId?: string | null; function?: string; [key: string]: unknown };

export interface DeletedApp {
  deleted: string;
}


/** One problem of a workflow definition: the state it is in (null: the top level) and the JSON path of the field. */
export interface WorkflowProblem {
  state: string | null;
  path: string;
  message: string;
}

/** `POST /workflows/validate`: the deploy-time validator's verdict, without deploying. */
export type WorkflowCheck =
  | { valid: true; problems: [] }
  | { valid: false; code: 'MF_ASL_INVALID' | 'MF_ASL_UNSUPPORTED'; message: string; problems: WorkflowProblem[] };

/** `GET /apps/{app}/storage`: keys of the app's global tier, sorted; `truncated` when more than the limit matched. */
export interface StorageKeys {
  keys: string[];
  truncated: boolean;
}

/** `GET /apps/{app}/storage/{key}`: the value as stored (JSON as `{json}`, bytes as base64 `{bytes}`), null if absent. */
export interface StorageEntry {
  key: string;
  value: { json: unknown } | { bytes: string } | null;
}

/**
 * `GET /apps/{app}/sessions/{id}/records[?after=n]`: the records kept after the first `n`, oldest first, and `next`,
 * the `after` that asks for only what came since (docs/sessions.md#records).
 */
export interface SessionRecordsPage {
  records: SessionRecord[];
  next: number;
}
