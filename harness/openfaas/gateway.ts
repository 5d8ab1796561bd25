/**
 * A small client of the OpenFaaS gateway's REST API, as documented in openfaas/faas `api-docs/spec.openapi.yml` and
 * docs.openfaas.com `reference/rest-api.md`: `/system/functions` (deploy POST, update PUT, list GET, delete DELETE),
 * `/system/function/{name}` (status with replicas), `/system/scale-function/{name}`, `/system/info`, and the
 * invocation routes `/function/{name}` and `/async-function/{name}`. Basic auth goes on `/system/*` when credentials
 * are configured; the invocation routes do not need it on the Community Edition.
 *
 * Failures are typed (platform/errors.ts): an unreachable gateway is MF_PLATFORM_UNREACHABLE, refused credentials
 * MF_UNAUTHORIZED, each with what to fix.
 */
import { MfError } from '../../platform/errors.js';

/** FunctionDeployment (the deploy and update body). */
export interface FunctionDeployment {
  service: string;
  image: string;
  namespace?: string;
  envProcess?: string;
  envVars?: Record<string, string>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  limits?: { memory?: string; cpu?: string };
  requests?: { memory?: string; cpu?: string };
  readOnlyRootFilesystem?: boolean;
}

/** FunctionStatus (the list and status answers). */
export interface FunctionStatus {
  name: string;
  image: string;
  namespace?: string;
  envVars?: Record<string, string>;
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
  invocationCount?: number;
  replicas?: number;
  availableReplicas?: number;
  createdAt?: string;
}

export interface GatewayOptions {
  url: string;
  user?: string;
  password?: string;
  /** Per-request timeout for the management routes (/system/*), ms; default SYSTEM_TIMEOUT_MS. */
  timeoutMs?: number;
}

/**
 * A /system/* call waits this long by default. A provider on a busy machine (containerd pulling, faasd starting a
 * task) can take tens of seconds to answer a deploy or a status; one slow answer must not fail a whole run.
 */
export const SYSTEM_TIMEOUT_MS = 60_000;

const URL_HINT = 'check --url (or OPENFAAS_URL): it must be the gateway, e.g. http://127.0.0.1:8080';
const AUTH_HINT = 'check the credentials: --token user:password, or OPENFAAS_USER and OPENFAAS_PASSWORD (the gateway\'s basic-auth secret)';

export class GatewayClient {
  readonly url: string;
  readonly #auth: string | null;
  readonly #timeoutMs: number;

  constructor(options: GatewayOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new MfError('MF_CONFIG_INVALID', `openfaas adapter: "${options.url}" is not a URL; ${URL_HINT}`, { option: 'url', url: options.url });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new MfError('MF_CONFIG_INVALID', `openfaas adapter: the gateway URL must be http or https, got ${parsed.protocol}; ${URL_HINT}`, { option: 'url', url: options.url });
    }
    this.url = parsed.href.replace(/\/+$/, '');
    this.#auth = options.user !== undefined ? `Basic ${Buffer.from(`${options.user}:${options.password ?? ''}`).toString('base64')}` : null;
    this.#timeoutMs = options.timeoutMs ?? SYSTEM_TIMEOUT_MS;
  }

  get hasCredentials(): boolean {
    return this.#auth !== null;
  }

  /**
   * A management call under /system; JSON in and out. Throws typed errors for transport and auth failures. A call
   * that is idempotent (every method but POST, and POST scale-function, which sets a count) is tried once more when
   * the first try got no answer in time or lost its connection; a deploy (POST) is not: the caller looks at what
   * the gateway lists instead.
   */
  async system(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const idempotent = method !== 'POST' || path.startsWith('/system/scale-function/');
    try {
      return await this.#systemOnce(method, path, body);
    } catch (err) {
      if (!idempotent || !(err instanceof MfError) || err.code !== 'MF_PLATFORM_UNREACHABLE') throw err;
      return this.#systemOnce(method, path, body);
    }
  }

  async #systemOnce(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = {};
    if (this.#auth) headers.Authorization = this.#auth;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const signal = AbortSignal.timeout(this.#timeoutMs);
    const res = await this.#fetch(`${this.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), signal });
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw this.#transport(err);
    }
    if (res.status === 401 || res.status === 403) {
      throw new MfError(
        'MF_UNAUTHORIZED',
        `the OpenFaaS gateway at ${this.url} refused ${this.#auth ? 'the credentials' : 'a request without credentials'} (${res.status} on ${method} ${path}); ${AUTH_HINT}`,
        { url: this.url, status: res.status, hint: AUTH_HINT },
      );
    }
    return { status: res.status, text };
  }

  /** GET /system/info: proves the URL is a gateway and the credentials are accepted. */
  async info(): Promise<Record<string, unknown>> {
    const { status, text } = await this.system('GET', '/system/info');
    const parsed = status === 200 ? safeJson(text) : null;
    if (parsed === null || typeof parsed !== 'object') {
      throw new MfError('MF_CONFIG_INVALID', `${this.url} does not answer as an OpenFaaS gateway (GET /system/info gave ${status}: ${text.slice(0, 120)}); ${URL_HINT}`, {
        option: 'url',
        url: this.url,
        status,
      });
    }
    return parsed as Record<string, unknown>;
  }

  async list(): Promise<FunctionStatus[]> {
    const { status, text } = await this.system('GET', '/system/functions');
    if (status !== 200) throw this.#unexpected('GET /system/functions', status, text);
    const parsed = safeJson(text);
    return Array.isArray(parsed) ? (parsed as FunctionStatus[]) : [];
  }

  /** The function's status, or null when the gateway does not know it (404). */
  async status(name: string): Promise<FunctionStatus | null> {
    const { status, text } = await this.system('GET', `/system/function/${encodeURIComponent(name)}`);
    if (status === 404) return null;
    if (status !== 200) throw this.#unexpected(`GET /system/function/${name}`, status, text);
    return safeJson(text) as FunctionStatus;
  }

  async deploy(spec: FunctionDeployment): Promise<void> {
    const { status, text } = await this.system('POST', '/system/functions', spec);
    if (status < 200 || status >= 300) throw this.#unexpected(`deploying ${spec.service} (POST /system/functions)`, status, text);
  }

  async update(spec: FunctionDeployment): Promise<void> {
    const { status, text } = await this.system('PUT', '/system/functions', spec);
    if (status < 200 || status >= 300) throw this.#unexpected(`updating ${spec.service} (PUT /system/functions)`, status, text);
  }

  /** Deletes a function; false when it did not exist. */
  async delete(name: string): Promise<boolean> {
    const { status, text } = await this.system('DELETE', '/system/functions', { functionName: name });
    if (status === 404) return false;
    if (status < 200 || status >= 300) throw this.#unexpected(`deleting ${name} (DELETE /system/functions)`, status, text);
    return true;
  }

  async scale(name: string, replicas: number): Promise<void> {
    const { status, text } = await this.system('POST', `/system/scale-function/${encodeURIComponent(name)}`, { serviceName: name, replicas });
    if (status < 200 || status >= 300) throw this.#unexpected(`scaling ${name} (POST /system/scale-function)`, status, text);
  }

  /** An invocation route (`/function/...`, `/async-function/...`): no auth, the raw answer. */
  invoke(path: string, init: RequestInit): Promise<Response> {
    return this.#fetch(`${this.url}${path}`, init);
  }

  async #fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, init);
    } catch (err) {
      throw this.#transport(err);
    }
  }

  #transport(err: unknown): MfError {
    if (err instanceof Error && err.name === 'TimeoutError') {
      const why = `no answer within ${this.#timeoutMs} ms`;
      return new MfError('MF_PLATFORM_UNREACHABLE', `the OpenFaaS gateway at ${this.url} gave ${why}; raise systemTimeoutMs if the provider is busy`, { url: this.url, cause: why, timeoutMs: this.#timeoutMs }, { cause: err });
    }
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
    return new MfError('MF_PLATFORM_UNREACHABLE', `the OpenFaaS gateway at ${this.url} cannot be reached (${why}); ${URL_HINT}`, { url: this.url, cause: why, hint: URL_HINT }, { cause: err });
  }

  #unexpected(what: string, status: number, text: string): MfError {
    return new MfError('MF_PLATFORM_UNREACHABLE', `the OpenFaaS gateway at ${this.url} failed ${what}: ${status} ${text.trim().slice(0, 300)}`, { url: this.url, status, body: text.slice(0, 300) });
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** One sample of a Prometheus text-format metric. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (the lines we need: samples with labels; comments skipped). */
export function parsePrometheus(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) {
      for (const lm of m[3].matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[lm[1] ?? ''] = (lm[2] ?? '').replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      }
    }
    const value = Number(m[4]);
    if (m[1] !== undefined) out.push({ name: m[1], labels, value });
  }
  return out;
}
