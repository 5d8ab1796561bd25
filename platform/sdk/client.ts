/**
 * MicroFunctionsClient: a typed client of the HTTP API in docs/api.md, on Node's global fetch (undici, keep-alive).
 * Every failure is an MfError: error bodies keep their code (and the HTTP status in `details.status`), and a platform
 * that cannot be reached is MF_PLATFORM_UNREACHABLE naming the URL.
 */
import { ERROR_CODES, isMfError, MfError, type ErrorCode } from '../errors.js';
import type { AppManifest } from '../manifest.js';
import type {
  AppSummary,
  DeletedApp,
  Execution,
  ExecutionStarted,
  FunctionInvocation,
  Health,
  PlatformPolicy,
  HistoryEvent,
  LogEntry,
  SessionMessage,
  SessionRecord,
  SessionRecordsPage,
  SessionStartRequest,
  SessionState,
  SessionTarget,
  StorageEntry,
  StorageKeys,
  WorkflowCheck,
} from './types.js';

export interface ClientOptions {
  /** Base URL of the platform, e.g. http://127.0.0.1:8080 (a trailing slash is ignored). */
  url: string;
  /** Bearer token for management routes (and invocation routes when the platform requires it). */
  token?: string | undefined;
  /** Abort a request that has no complete answer after this long (default 5 minutes: sync executions wait). */
  timeoutMs?: number | undefined;
}

export interface ExecuteOptions {
  /** `sync` (default) waits for the result; `async` returns the execution id at once. */
  mode?: 'sync' | 'async';
  /** Include the invocation records in a sync answer (default true; they are kept with the execution either way). */
  records?: boolean;
}

export interface LogsOptions {
  execution?: string;
  limit?: number;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;

/** Network error codes that mean nothing is listening (or nothing can be reached) at the URL. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** Methods that mean the same when sent twice (RFC 9110 §9.2.2), so a reset connection may be retried once. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

function isReset(err: unknown): boolean {
  const code = errCode((err as { cause?: unknown }).cause) ?? errCode(err);
  return code !== undefined && RESET_CODES.has(code);
}

export class MicroFunctionsClient {
  readonly url: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;

  constructor(options: ClientOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new MfError('MF_BAD_REQUEST', `not a valid platform URL: "${options.url}"`, { url: options.url });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new MfError('MF_BAD_REQUEST', `platform URL must be http(s): "${options.url}"`, { url: options.url });
    }
    this.url = options.url.replace(/\/+$/, '');
    this.#token = options.token === '' ? undefined : options.token;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** `GET /healthz` (no token needed). */
  health(): Promise<Health> {
    return this.#json('GET', '/healthz');
  }

  /** `GET /config`: the policy the platform resolved, for a run's manifest. */
  config(): Promise<PlatformPolicy> {
    return this.#json('GET', '/config');
  }

  /**
   * `POST /apps`: deploys an app, all or nothing. Code folders (`code.dir`) are sent as they are; a platform that
   * refuses them (allowLocalCode off, as a served one is by default) gets the same code inline instead.
   */
  async deploy(manifest: AppManifest): Promise<AppSummary> {
    try {
      return await this.#json<AppSummary>('POST', '/apps', manifest);
    } catch (err) {
      if (!isMfError(err, 'MF_LOCAL_CODE_REFUSED')) throw err;
      // Loaded only here: reading folders needs node:fs, and the browser console never names a folder.
      const { inlineManifest } = await import('./code.js');
      return this.#json('POST', '/apps', inlineManifest(manifest));
    }
  }

  async listApps(): Promise<AppSummary[]> {
    const answer = await this.#json<{ apps: AppSummary[] }>('GET', '/apps');
    return answer.apps;
  }

  getApp(name: string): Promise<AppSummary> {
    return this.#json('GET', `/apps/${enc(name)}`);
  }

  /** `GET /apps/{app}/workflows/{workflow}`: the ASL definition the workflow was deployed with. */
  async getWorkflow(app: string, workflow: string): Promise<unknown> {
    const answer = await this.#json<{ definition: unknown }>('GET', `/apps/${enc(app)}/workflows/${enc(workflow)}`);
    return answer.definition;
  }

  deleteApp(name: string): Promise<DeletedApp> {
    return this.#json('DELETE', `/apps/${enc(name)}`);
  }

  /** Destroys every sandbox of the app (it stays deployed), so that its next execution starts cold. */
  reclaim(name: string): Promise<{ reclaimed: number }> {
    return this.#json('POST', `/apps/${enc(name)}/reclaim`);
  }

  async logs(app: string, options: LogsOptions = {}): Promise<LogEntry[]> {
    const q = new URLSearchParams();
    if (options.execution !== undefined) q.set('execution', options.execution);
    if (options.limit !== undefined) q.set('limit', String(options.limit));
    const answer = await this.#json<{ logs: LogEntry[] }>('GET', `/apps/${enc(app)}/logs${query(q)}`);
    return answer.logs;
  }

  /** `GET /apps/{app}/storage`: keys of the app's global storage tier under `prefix` (default limit 1000). */
  storageKeys(app: string, options: { prefix?: string; limit?: number } = {}): Promise<StorageKeys> {
    const q = new URLSearchParams();
    if (options.prefix) q.set('prefix', options.prefix);
    if (options.limit !== undefined) q.set('limit', String(options.limit));
    return this.#json('GET', `/apps/${enc(app)}/storage${query(q)}`);
  }

  /** `GET /apps/{app}/storage/{key}`: one value of the global tier as stored; `value` is null when the key is absent. */
  storageValue(app: string, key: string): Promise<StorageEntry> {
    return this.#json('GET', `/apps/${enc(app)}/storage/${enc(key)}`);
  }

  /** Starts an execution. A FAILED execution is a normal answer; an HTTP error (unknown app, ...) throws. */
  execute(app: string, workflow: string, input: unknown, options: ExecuteOptions & { mode: 'async' }): Promise<ExecutionStarted>;
  execute(app: string, workflow: string, input?: unknown, options?: ExecuteOptions & { mode?: 'sync' }): Promise<Execution>;
  execute(app: string, workflow: string, input: unknown = {}, options: ExecuteOptions = {}): Promise<Execution | ExecutionStarted> {
    const q = new URLSearchParams();
    q.set('mode', options.mode ?? 'sync');
    if (options.records === false) q.set('records', 'false');
    return this.#json('POST', `/apps/${enc(app)}/workflows/${enc(workflow)}/executions${query(q)}`, input);
  }

  getExecution(id: string): Promise<Execution> {
    return this.#json('GET', `/executions/${enc(id)}`);
  }

  /**
   * `POST /executions/{id}/stop` (StopExecution): a running execution ends ABORTED at once, with this error and
   * cause; a finished one is answered as it is.
   */
  stopExecution(id: string, options: { error?: string; cause?: string } = {}): Promise<Execution> {
    return this.#json('POST', `/executions/${enc(id)}/stop`, options);
  }

  async getHistory(id: string): Promise<HistoryEvent[]> {
    const answer = await this.#json<{ history: HistoryEvent[] }>('GET', `/executions/${enc(id)}/history`);
    return answer.history;
  }

  /** Invokes one function directly with `input` as its event. */
  invokeFunction(app: string, fn: string, input: unknown = {}): Promise<FunctionInvocation> {
    return this.#json('POST', `/apps/${enc(app)}/functions/${enc(fn)}/invocations`, input);
  }

  /**
   * `POST /workflows/validate`: the deploy-time validator's verdict on a definition whose Tasks may name
   * `functions`, without deploying anything. An invalid definition is an answer (`valid: false`, each problem
   * with its state and JSON path), not a thrown error.
   */
  validateWorkflow(definition: unknown, functions: readonly string[] = []): Promise<WorkflowCheck> {
    return this.#json('POST', '/workflows/validate', { definition, functions });
  }

  /** `GET /metrics`: Prometheus text. */
  metrics(): Promise<string> {
    return this.#request('GET', '/metrics').then((r) => r.text);
  }

  /** `POST /apps/{app}/sessions`: starts a session; answers once every instance runs (docs/sessions.md). */
  startSession(app: string, request: SessionStartRequest): Promise<SessionState> {
    return this.#json('POST', `/apps/${enc(app)}/sessions`, request);
  }

  async listSessions(app: string): Promise<SessionState[]> {
    const answer = await this.#json<{ sessions: SessionState[] }>('GET', `/apps/${enc(app)}/sessions`);
    return answer.sessions;
  }

  getSession(app: string, sessionId: string): Promise<SessionState> {
    return this.#json('GET', `/apps/${enc(app)}/sessions/${enc(sessionId)}`);
  }

  /** Sends a message to one instance (id or alias), {function}, or (no target) every instance of the session. */
  async sendToSession(app: string, sessionId: string, message: unknown, target?: SessionTarget): Promise<void> {
    await this.#json('POST', `/apps/${enc(app)}/sessions/${enc(sessionId)}/messages`, target === undefined ? { message } : { target, message });
  }

  /** Takes up to `count` messages the session's functions sent to "client", waiting up to `timeoutMs` for one. */
  async receiveFromSession(app: string, sessionId: string, options: { count?: number; timeoutMs?: number } = {}): Promise<SessionMessage[]> {
    const q = new URLSearchParams();
    if (options.count !== undefined) q.set('count', String(options.count));
    if (options.timeoutMs !== undefined) q.set('timeoutMs', String(options.timeoutMs));
    const answer = await this.#json<{ messages: SessionMessage[] }>('GET', `/apps/${enc(app)}/sessions/${enc(sessionId)}/messages${query(q)}`);
    return answer.messages;
  }

  async sessionRecords(app: string, sessionId: string): Promise<SessionRecord[]> {
    return (await this.sessionRecordsAfter(app, sessionId, 0)).records;
  }

  /** The records after the first `after` the caller already has, and the `after` of the next call (only what is new). */
  sessionRecordsAfter(app: string, sessionId: string, after: number): Promise<SessionRecordsPage> {
    return this.#json('GET', `/apps/${enc(app)}/sessions/${enc(sessionId)}/records${after > 0 ? `?after=${after}` : ''}`);
  }

  /** `DELETE /apps/{app}/sessions/{id}`: stops the session; answers its final state. */
  stopSession(app: string, sessionId: string): Promise<SessionState> {
    return this.#json('DELETE', `/apps/${enc(app)}/sessions/${enc(sessionId)}`);
  }

  async #json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { text, status } = await this.#request(method, path, body);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new MfError('MF_INTERNAL', `the platform at ${this.url} answered ${method} ${path} with a body that is not JSON: ${text.slice(0, 200)}`, {
        url: this.url,
        status,
      });
    }
  }

  async #request(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const target = this.url + path;
    let res: Response;
    let text: string;
    for (let attempt = 1; ; attempt++) {
      try {
        res = await fetch(target, { method, headers, body: payload, signal: AbortSignal.timeout(this.#timeoutMs) });
        text = await res.text();
        break;
      } catch (err) {
        // A reused keep-alive connection can be reset under the request (the server closed it, or a busy machine
        // dropped it). An idempotent call is safe to send again, once; undici opens a fresh connection for it.
        if (attempt === 1 && IDEMPOTENT.has(method) && isReset(err)) continue;
        throw this.#networkError(err, method, path, payload);
      }
    }
    if (res.ok) return { status: res.status, text };
    throw errorFromResponse(res.status, text, method, path, this.url);
  }

  #networkError(err: unknown, method: string, path: string, payload: string | undefined): MfError {
    const cause = (err as { cause?: unknown }).cause;
    const code = errCode(cause) ?? errCode(err);
    const name = (err as { name?: unknown }).name;
    const details: Record<string, unknown> = { url: this.url, method, path };
    if (code !== undefined) details.errno = code;
    if (name === 'TimeoutError') {
      return new MfError('MF_PLATFORM_UNREACHABLE', `no answer from the platform at ${this.url} to ${method} ${path} within ${this.#timeoutMs} ms`, {
        ...details,
        timeoutMs: this.#timeoutMs,
      }, { cause: err });
    }
    const reason = (cause instanceof Error ? cause.message : undefined) ?? (err instanceof Error ? err.message : String(err));
    if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') {
      if (payload !== undefined && payload.length > 1024 * 1024) details.bodyBytes = Buffer.byteLength(payload);
      return new MfError('MF_PLATFORM_UNREACHABLE', `the platform at ${this.url} closed the connection during ${method} ${path} (${reason})`, {
        ...details,
        hint: details.bodyBytes !== undefined
          ? `the request body was ${details.bodyBytes} bytes: it may be over the platform's maxBodyBytes`
          : 'the platform may have stopped; check its output',
      }, { cause: err });
    }
    return new MfError('MF_PLATFORM_UNREACHABLE', `cannot reach the platform at ${this.url} (${reason})`, {
      ...details,
      hint: UNREACHABLE_CODES.has(code ?? '') || code === undefined
        ? `start it with \`mfbench platform start\` (or pass --url / set MFBENCH_URL to where it runs)`
        : 'check the URL and the network',
    }, { cause: err });
  }
}

/** Turns an HTTP error answer into an MfError, keeping the status in details. */
export function errorFromResponse(status: number, text: string, method: string, path: string, url: string): MfError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const inner = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  if (inner !== undefined) {
    const e = MfError.fromJSON(inner);
    return new MfError(e.code, e.message, { ...e.details, status });
  }
  return new MfError(fallbackCode(status), `the platform at ${url} answered ${method} ${path} with HTTP ${status}: ${text.slice(0, 200)}`, {
    status,
    url,
  });
}

function fallbackCode(status: number): ErrorCode {
  const byStatus: Partial<Record<number, ErrorCode>> = {
    400: 'MF_BAD_REQUEST',
    401: 'MF_UNAUTHORIZED',
    408: 'MF_REQUEST_TIMEOUT',
    404: 'MF_NOT_FOUND',
    413: 'MF_PAYLOAD_TOO_LARGE',
    503: 'MF_PLATFORM_CLOSED',
  };
  const code = byStatus[status];
  return code !== undefined && code in ERROR_CODES ? code : 'MF_INTERNAL';
}

function errCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // An AggregateError (happy eyeballs over several addresses) carries the codes on its errors.
  const errors = (e as { errors?: unknown }).errors;
  if (Array.isArray(errors)) for (const inner of errors) if (typeof errCode(inner) === 'string') return errCode(inner);
  return undefined;
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function query(q: URLSearchParams): string {
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}
