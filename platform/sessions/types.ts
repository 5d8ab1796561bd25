/**
 * Sessions (docs/sessions.md): long-running function instances of one app that receive messages while they run,
 * and the direct data pipes between them. The shapes here cross every boundary a session touches: the HTTP API,
 * the frontend <-> agent socket, and the agent <-> session worker IPC channel.
 */
import type { ErrorBody } from '../errors.js';
import type { FunctionSpec } from '../manifest.js';
import type { StorageOp, StorageReply } from '../storage/types.js';

/** One instance to start: a function of the app, an optional alias, its start event, and how many copies. */
export interface SessionFunctionSpec {
  function: string;
  alias?: string;
  input?: unknown;
  count?: number;
}

/** What decides a session's life: failures, heartbeats and its bounds. Resolved with defaults by spec.ts. */
export interface SessionPolicy {
  /** A session function that throws, exits, misses its heartbeat or goes over its memory: restart it, or fail the session. */
  onFailure: 'restart' | 'fail';
  /** Restarts allowed per instance under `restart`; one more failure fails the session. */
  maxRestarts: number;
  /** An instance that does not call heartbeat() for this long has failed; null: no heartbeat is required. */
  heartbeatSeconds: number | null;
  /** The session is stopped this long after it started. */
  maxLifetimeSeconds: number;
  /** The session is stopped when no message was sent in it for this long. */
  idleTimeoutSeconds: number;
  /** A message larger than this (as JSON) is refused with MF_SESSION_MESSAGE_TOO_LARGE. */
  maxMessageBytes: number;
  /** Messages one instance may have waiting unread; one more is refused with MF_SESSION_BACKLOG_FULL. */
  maxBacklog: number;
}

/** `POST /apps/{app}/sessions`: the instances and the policy (every field of the policy optional). */
export interface SessionStartRequest {
  functions: SessionFunctionSpec[];
  policy?: Partial<SessionPolicy>;
}

/** A checked start request, every default filled in. */
export interface SessionSpec {
  functions: Array<Required<Pick<SessionFunctionSpec, 'function'>> & { alias: string | null; input: unknown }>;
  policy: SessionPolicy;
}

/**
 * Where a message goes: one instance (by its id or alias), every instance of a function, or the whole session.
 * A bare string names an instance id or an alias; "client" is the session's outbox, read from outside.
 */
export type SessionTarget = string | { instance: string } | { function: string } | { all: true };

export type SessionStatus = 'RUNNING' | 'COMPLETED' | 'STOPPED' | 'FAILED';
export type InstanceStatus = 'starting' | 'running' | 'restarting' | 'exited' | 'failed' | 'stopped';

export interface SessionInstanceState {
  /** `<function>.<n>`, stable across restarts. */
  id: string;
  function: string;
  alias: string | null;
  status: InstanceStatus;
  /** The worker process running it now (null while it has none). */
  pid: number | null;
  restarts: number;
}

/** A session as `GET /apps/{app}/sessions/{id}` describes it. */
export interface SessionState {
  sessionId: string;
  app: string;
  sandboxId: string;
  status: SessionStatus;
  /** Why it ended (stop, max-lifetime, idle, app-deleted, platform-closed, host-lost, or the failure); null while it runs. */
  reason: string | null;
  /** ISO 8601. */
  startedAt: string;
  endedAt: string | null;
  policy: SessionPolicy;
  instances: SessionInstanceState[];
  /** Messages routed and read; those to "client" waiting to be read, and those dropped from a full outbox. */
  messages: { sent: number; delivered: number; waitingForClient: number; droppedForClient: number };
}

/** A message as a session function reads it. */
export interface SessionMessage {
  /** The sending instance's id, or "client" for a message from outside (HTTP, SDK, CLI). */
  from: string;
  body: unknown;
}

/** What messages, pipes and the session's life leave behind, for experiments to chart (docs/sessions.md#records). */
export type SessionRecord =
  | {
      kind: 'message';
      sessionId: string;
      from: string;
      to: string;
      bytes: number;
      /** sent: the sender handed it over (its own clock); routed: the agent passed it on; delivered: the receiver read it. */
      t: { sent: number; routed: number; delivered: number };
    }
  | {
      kind: 'pipe';
      sessionId: string;
      pipeId: string;
      /** The instance this end belongs to, and the one at the other end. */
      instance: string;
      peer: string;
      side: 'opener' | 'acceptor';
      bytesIn: number;
      bytesOut: number;
      t: { opened: number; closed: number };
      outcome: 'ok' | 'broken';
    }
  | { kind: 'lifecycle'; sessionId: string; instance: string | null; event: 'started' | 'exited' | 'failed' | 'restarted' | 'ended'; reason: string | null; t: number };

// ---------------------------------------------------------------- frontend <-> agent

/** A message to "client", as JSON text, kept by the agent until a client reads it. */
export interface OutboxMessage {
  from: string;
  json: string;
  sent: number;
  routed: number;
}

export type SessionOp =
  | { op: 'start'; sessionId: string; spec: SessionSpec }
  /** `json`: the message as JSON text, serialised once by its sender and parsed once by its reader. */
  | { op: 'send'; sessionId: string; target: SessionTarget; json: string; sent: number }
  | { op: 'state'; sessionId: string }
  | { op: 'records'; sessionId: string }
  /** Takes up to `count` messages the session's functions sent to "client", waiting up to `timeoutMs` for one. */
  | { op: 'receive'; sessionId: string; count: number; timeoutMs: number }
  | { op: 'stop'; sessionId: string; reason: string }
  /** Where an instance of this sandbox takes pipes: asked by the frontend for a pipe from another sandbox. */
  | { op: 'pipe-address'; sessionId: string; target: string };

/** An instance of another session of the same app, which may run in another sandbox: the far end of a brokered pipe. */
export interface RemotePipeTarget {
  session: string;
  instance: string;
}

/** A pipe's far end as the agent hands it to the opener: a socket path, and the instance it reaches. */
export interface PipeAddress {
  path: string;
  peer: string;
}

export type SessionReply = { ok: true; value: unknown } | { ok: false; error: ErrorBody };

/**
 * What a workflow's session Task asks of the frontend, which owns the app's sessions (task.ts): start one from the
 * same spec as `POST /apps/{app}/sessions`, wait for one to end, stop one. Each is answered with a SessionReply.
 */
export type SessionTaskOp = { op: 'start'; spec: unknown } | { op: 'wait'; sessionId: string } | { op: 'stop'; sessionId: string; reason: string };

// ---------------------------------------------------------------- agent <-> session worker

/** The identity a session worker runs under. */
export interface SessionIdentity {
  sessionId: string;
  instance: string;
  function: string;
  alias: string | null;
  /** Where this instance accepts pipes (a Unix socket in the sandbox's folder). */
  pipePath: string;
}

export type AgentToSessionWorker =
  | { t: 'start'; spec: FunctionSpec; identity: SessionIdentity; input: unknown; deadline: number; maxMessageBytes: number }
  | { t: 'message'; from: string; json: string; sent: number; routed: number }
  | { t: 'send-result'; id: number; error: ErrorBody | null }
  | { t: 'pipe-target'; id: number; target: PipeAddress | null; error: ErrorBody | null }
  | { t: 'stop'; reason: string }
  | { t: 'storage-result'; id: number; reply: StorageReply };

export type SessionWorkerToAgent =
  /** The code is loaded, pipes are accepted, and the handler is about to run. */
  | { t: 'running' }
  | { t: 'load-failed'; error: ErrorBody }
  | { t: 'send'; id: number; target: SessionTarget; json: string; sent: number }
  | { t: 'heartbeat' }
  | { t: 'alias'; alias: string }
  | { t: 'pipe-open'; id: number; target: string | RemotePipeTarget }
  | { t: 'records'; items: SessionRecord[] }
  | { t: 'ended'; outcome: { ok: true } | { ok: false; errorType: string; errorMessage: string } }
  | { t: 'storage'; id: number; op: StorageOp };
