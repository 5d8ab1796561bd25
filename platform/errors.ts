/**
 * Typed errors with stable codes. Every error the platform reports to a caller is an MfError with a literal
 * `code` from ERROR_CODES; context goes in `details`, never only in the message. docs/errors.md lists the codes.
 */

/** Every stable error code, with the HTTP status it maps to and a one-line meaning (the docs table is built from it). */
export const ERROR_CODES = {
  MF_BAD_REQUEST: { status: 400, meaning: 'The request is malformed (bad JSON, wrong field types, unknown option).' },
  MF_PAYLOAD_TOO_LARGE: { status: 413, meaning: 'The request body is larger than the configured limit.' },
  MF_REQUEST_TIMEOUT: { status: 408, meaning: 'The request body did not arrive within requestTimeoutSeconds; the connection is closed.' },
  MF_UNAUTHORIZED: { status: 401, meaning: 'The bearer token is missing or wrong.' },
  MF_NOT_FOUND: { status: 404, meaning: 'No such route.' },
  MF_APP_NOT_FOUND: { status: 404, meaning: 'No app with that name is deployed.' },
  MF_APP_EXISTS: { status: 409, meaning: 'An app with that name is already deployed (delete it first).' },
  MF_WORKFLOW_NOT_FOUND: { status: 404, meaning: 'The app has no workflow with that name.' },
  MF_FUNCTION_NOT_FOUND: { status: 404, meaning: 'The app has no function with that name.' },
  MF_EXECUTION_NOT_FOUND: { status: 404, meaning: 'No execution with that id is known.' },
  MF_HISTORY_EVICTED: { status: 410, meaning: "The sandbox that ran the execution dropped its history, oldest first, to stay within maxStoredExecutions and maxStoredExecutionBytes; details say how many it dropped." },
  MF_HISTORY_GONE: { status: 410, meaning: "The execution's history stayed in the sandbox that ran it, and that sandbox is gone (reclaimed, killed, or the platform restarted); details.events holds what the platform itself recorded (recoveries)." },
  MF_MANIFEST_INVALID: { status: 400, meaning: 'The app manifest is invalid (names, handler, code, limits).' },
  MF_LOCAL_CODE_REFUSED: { status: 400, meaning: 'The manifest names code by a folder of the host (code.dir) and allowLocalCode is off; send code.files.' },
  MF_ASL_INVALID: { status: 400, meaning: 'A workflow definition is not valid Amazon States Language.' },
  MF_ASL_UNSUPPORTED: { status: 400, meaning: 'A workflow uses an ASL construct this engine does not run.' },
  MF_HANDLER_NOT_FOUND: { status: 400, meaning: "A function's handler file or exported handler does not exist." },
  MF_FUNCTION_INIT_FAILED: { status: 500, meaning: "A function's module threw while loading." },
  MF_FUNCTION_ERROR: { status: 200, meaning: 'The function threw or reported an error (the execution fails, the platform is fine).' },
  MF_FUNCTION_TIMEOUT: { status: 200, meaning: 'The function ran past its timeout; it was told to stop, and abandoned (its worker drained and replaced) if it did not.' },
  MF_FUNCTION_MEMORY_EXCEEDED: { status: 200, meaning: 'The worker went over its memory limit and was killed.' },
  MF_RESULT_TOO_LARGE: { status: 200, meaning: "A function's result or an execution's output is larger than maxResultBytes (the execution fails)." },
  MF_WORKER_EXITED: { status: 200, meaning: 'The worker process exited or was killed during the invocation.' },
  MF_INVOCATION_ABANDONED: {
    status: 200,
    meaning: 'The invocation was cancelled (a state timed out, a Parallel sibling failed, the execution was stopped) and did not stop when told; its worker was drained and replaced.',
  },
  MF_SANDBOX_START_FAILED: { status: 503, meaning: 'The sandbox (agent process or container) could not be started.' },
  MF_SANDBOX_EXITED: { status: 503, meaning: 'The sandbox died while serving the request.' },
  MF_PLATFORM_CLOSED: { status: 503, meaning: 'The platform is shutting down or closed.' },
  MF_CONFIG_INVALID: { status: 400, meaning: 'A configuration value is invalid or two options conflict.' },
  MF_WORKLOAD_NOT_FOUND: { status: 404, meaning: 'No workload with that name or folder.' },
  MF_STORAGE_FAILED: { status: 503, meaning: 'A storage tier could not be reached or could not store the value.' },
  MF_PLATFORM_UNREACHABLE: { status: 503, meaning: 'The CLI/SDK could not reach the platform URL.' },
  MF_INTERNAL: { status: 500, meaning: 'A bug: an invariant did not hold. Please report it with the details.' },
  MF_DOCKER_UNAVAILABLE: { status: 503, meaning: 'The Docker engine does not answer on its socket (the docker backend needs it; see mfbench doctor).' },
  MF_BROKER_UNREACHABLE: { status: 503, meaning: 'The NATS JetStream broker named by the broker option did not answer (or has no JetStream); the platform does not start.' },
  MF_HOST_DUPLICATE: { status: 409, meaning: 'A host agent with that host id is alive on the broker (heartbeating); the second one does not start.' },
  MF_NO_HOST: { status: 503, meaning: 'No live host agent registered on the broker within the bounded wait, so the execution could not be placed.' },
  MF_HOST_LOST: { status: 503, meaning: 'The host agents running an execution stopped heartbeating more times than recoveryAttempts allows (the execution fails), or the host running a session does not answer (a session whose host is gone is FAILED with reason host-lost).' },
  MF_SESSION_NOT_FOUND: { status: 404, meaning: 'No session with that id is known for the app.' },
  MF_SESSION_TARGET_NOT_FOUND: { status: 404, meaning: 'The session has no instance, alias or function by the name a message or pipe was sent to.' },
  MF_SESSION_MESSAGE_TOO_LARGE: { status: 413, meaning: "A session message is larger than the session's maxMessageBytes." },
  MF_SESSION_BACKLOG_FULL: { status: 429, meaning: "The target instance already has the session's maxBacklog messages unread; send again once it reads." },
  MF_SESSION_ENDED: { status: 409, meaning: 'The session has stopped or failed; details say why. Start a new one.' },
  MF_SESSION_FAILED: { status: 409, meaning: "A session a workflow's session:start.sync Task waited for failed; the Task fails with this error and the session's final state as its cause." },
  MF_PIPE_TARGET_NOT_RUNNING: { status: 409, meaning: 'A pipe was opened to a session function that is not running (exited, restarting or failed).' },
  MF_PIPE_BROKEN: { status: 502, meaning: 'A data pipe closed without being ended: its peer died or destroyed it.' },
  MF_IMAGE_MISSING: { status: 503, meaning: 'The runtime image of the docker backend is not built (run mfbench images build).' },
  MF_PLATFORM_START_FAILED: {
    status: 503,
    meaning: "The embedded platform's own process (the harness starts one per adapter) exited or failed before it was listening; details give its exit code or signal.",
  },
  MF_PAYLOAD_LOST: { status: 503, meaning: 'A message too large for the broker travelled by reference and its object is gone (released already, or past its lifetime); the message cannot be delivered.' },
  MF_AB_FAILED: { status: 500, meaning: 'An A/B comparison could not check out, build or run one of its two commits (mfbench ab); the details name the side and the step.' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The JSON shape of an error on the wire (HTTP bodies, IPC messages, records). */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export class MfError extends Error {
  override readonly name = 'MfError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  toJSON(): ErrorBody {
    return Object.keys(this.details).length > 0
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }

  /** Rebuilds an error that crossed a process boundary. Unknown codes become MF_INTERNAL, keeping the text. */
  static fromJSON(body: unknown): MfError {
    if (isErrorBody(body)) return new MfError(body.code, body.message, body.details ?? {});
    return new MfError('MF_INTERNAL', `unrecognised error body: ${safeJson(body)}`);
  }
}

export function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === 'string' && v.code in ERROR_CODES && typeof v.message === 'string';
}

export function isMfError(value: unknown, code?: ErrorCode): value is MfError {
  return value instanceof MfError && (code === undefined || value.code === code);
}

/** Wraps anything thrown into an MfError, keeping MfErrors as they are. */
export function toMfError(err: unknown, fallback: ErrorCode = 'MF_INTERNAL'): MfError {
  if (err instanceof MfError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new MfError(fallback, message, {}, { cause: err });
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 200) ?? String(value);
  } catch {
    return String(value);
  }
}
