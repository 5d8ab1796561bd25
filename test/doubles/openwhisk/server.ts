/**
 * A test double of Apache OpenWhisk's controller and invoker, written from OpenWhisk's documentation (not from what
 * the adapter sends): apache/openwhisk docs/rest_api.md (endpoints, basic auth, blocking invoke, `result=true`),
 * core/controller/src/main/resources/apiv1swagger.json (routes, query parameters, 200/202/401/404/409/502),
 * docs/reference.md (entity names, activation record fields, statuses), docs/annotations.md (activation annotations
 * path, kind, limits, waitTime, initTime only on cold activations, topmost/causedBy), docs/actions-nodejs.md (zip
 * actions with package.json "main"), the blocking-wait rule (the lesser of 60 s and the action's limit, then 202 with
 * the activation id) and docs/conductors.md (conductor annotation, continuations, primary and secondary activations,
 * logs listing derived ids, limits); containers follow the Node.js runtime's /init and /run action-proxy contract
 * with its log sentinel.
 *
 * A real HTTP server on port 0. Actions run for real: each container of a zip action is a Node child process
 * (container.cjs) that unpacks the zip and requires the package's main; a blackbox action (`exec.kind: "blackbox"`,
 * docs/actions-docker.md) runs as a real container on the local Docker engine (blackbox.ts); containers are kept warm per action revision and discarded when
 * the action is updated or deleted. Timing is real (waitTime, initTime, start, end are measured).
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { PullError, startBlackboxContainer, type ContainerTransport, type ProxyAnswer } from './blackbox.js';

type Dict = Record<string, unknown>;
interface KeyValue {
  key: string;
  value: unknown;
}

export interface OpenWhiskDoubleOptions {
  /** `uuid:key` -> its namespace. Default: one generated key for namespace `guest`. */
  users?: Record<string, string>;
  /** Runtime kinds the deployment offers (default nodejs:18, nodejs:20, nodejs:22). */
  kinds?: string[];
  /** The blocking-invoke wait (OpenWhisk: 60 s), lowered by tests to reach the 202 path quickly. */
  blockingLimitMs?: number;
  /** Idle containers are destroyed after this (OpenWhisk default: 10 min). */
  idleContainerMs?: number;
  /**
   * The Docker engine that runs blackbox actions (`exec.kind: "blackbox"`, `exec.image`) by tag; default: the local
   * engine's socket, connected at the first blackbox activation.
   */
  docker?: Dockerode;
  /** A name part of every blackbox container this double starts (default: a random id), so that runs cannot collide. */
  instance?: string;
  /** System limits (OpenWhisk defaults: memory 128..512 MB, timeout 100 ms..5 min, concurrency 1, 50 components, code 48 MB). */
  limits?: Partial<Limits>;
}

interface Limits {
  minMemory: number;
  maxMemory: number;
  minTimeout: number;
  maxTimeout: number;
  maxConcurrency: number;
  sequenceMaxLength: number;
  /** Per-action code size (docs/reference.md, "codeSize": 48 MB), checked on the code as sent (base64 for a zip). */
  maxCodeMB: number;
  /**
   * The request body limit of the nginx in front of the controller (OpenWhisk's deployments set
   * `client_max_body_size 50M`): a larger declared Content-Length is answered 413 at once, before the body is read,
   * and the connection is closed; a client that asked `Expect: 100-continue` gets the 413 instead of 100 Continue.
   */
  maxRequestMB: number;
  /**
   * whisk.activation.payload.max (default 1 MB = 1048576 bytes): an invoke body over it is refused with 413, and an
   * action result over it fails the activation as a developer error (the response is not kept).
   */
  maxPayloadBytes: number;
}

interface Action {
  namespace: string;
  pkg: string | null;
  name: string;
  version: string;
  revision: number;
  exec: { kind: string; code?: string; binary?: boolean; main?: string; image?: string; components?: string[] };
  limits: { timeout: number; memory: number; logs: number; concurrency: number };
  annotations: KeyValue[];
  parameters: KeyValue[];
}

interface Package {
  namespace: string;
  name: string;
  version: string;
  annotations: KeyValue[];
  parameters: KeyValue[];
}

export interface Activation {
  namespace: string;
  name: string;
  version: string;
  subject: string;
  activationId: string;
  start: number;
  end: number;
  duration: number;
  response: { status: string; statusCode: number; success: boolean; result: unknown };
  logs: string[];
  annotations: KeyValue[];
  publish: boolean;
  cause?: string;
}

interface Container {
  id: number;
  key: string;
  transport: ContainerTransport;
  busy: boolean;
  idleTimer: NodeJS.Timeout | null;
  lines: { stdout: string[]; stderr: string[] };
  sentinels: number;
  onSentinels: (() => void) | null;
  pending: ((m: ProxyAnswer) => void) | null;
  dead: boolean;
}

const SENTINEL = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX';
/** Container label that marks this double's blackbox containers (with its instance id). */
export const OW_DOUBLE_LABEL = 'mfbench.openwhisk-double';
const CONTAINER_MAIN = join(import.meta.dirname, 'container.cjs');
const STATUS_CODE: Record<string, number> = { success: 0, 'application error': 1, 'action developer error': 2, 'whisk internal error': 3 };
/** A Docker image reference: [registry[:port]/]repo[/more][:tag][@digest]. */
const DOCKER_IMAGE = /^[a-z0-9]+(?:[._:/-][a-z0-9]+)*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/i;
const NAME = /^([\w]|[\w][\w@ .-]*[\w@.-]+)$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const newId = () => randomBytes(16).toString('hex');
const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);
const truthy = (v: unknown) => v !== undefined && v !== null && v !== false && v !== 0 && v !== '';
const annotation = (list: KeyValue[], key: string) => list.find((kv) => kv.key === key)?.value;
const bump = (v: string) => {
  const p = v.split('.').map(Number);
  return `${p[0] ?? 0}.${p[1] ?? 0}.${(p[2] ?? 0) + 1}`;
};

export class OpenWhiskDouble {
  readonly url: string;
  /** The default user's `uuid:key`. */
  readonly auth: string;
  readonly namespace: string;
  readonly kinds: string[];
  blockingLimitMs: number;
  readonly #server: Server;
  readonly #users: Map<string, string>;
  readonly #limits: Limits;
  readonly #idleMs: number;
  readonly #packages = new Map<string, Package>();
  readonly #actions = new Map<string, Action>();
  readonly #activations = new Map<string, Activation>();
  readonly #containers = new Map<string, Container[]>();
  #nextContainer = 1;
  readonly #instance: string;
  #docker: Dockerode | null;
  /** Container removals under way (blackbox containers go asynchronously); close() waits for them. */
  readonly #removals = new Set<Promise<void>>();
  /** Containers ever started (a test reads it to see that updates discard warm ones). */
  containersStarted = 0;

  private constructor(server: Server, url: string, users: Map<string, string>, o: OpenWhiskDoubleOptions) {
    this.#server = server;
    this.url = url;
    this.#users = users;
    const [auth, ns] = [...users][0] as [string, string];
    this.auth = auth;
    this.namespace = ns;
    this.kinds = o.kinds ?? ['nodejs:18', 'nodejs:20', 'nodejs:22'];
    this.blockingLimitMs = o.blockingLimitMs ?? 60_000;
    this.#idleMs = o.idleContainerMs ?? 600_000;
    this.#docker = o.docker ?? null;
    this.#instance = o.instance ?? randomBytes(4).toString('hex');
    this.#limits = { minMemory: 128, maxMemory: 512, minTimeout: 100, maxTimeout: 300_000, maxConcurrency: 1, sequenceMaxLength: 50, maxCodeMB: 48, maxRequestMB: 50, maxPayloadBytes: 1048576, ...o.limits };
  }

  static async start(o: OpenWhiskDoubleOptions = {}): Promise<OpenWhiskDouble> {
    const users = new Map(Object.entries(o.users ?? { [`${crypto.randomUUID()}:${randomBytes(24).toString('base64url')}`]: 'guest' }));
    let self: OpenWhiskDouble | null = null;
    const server = createServer((req, res) => {
      const me = self as OpenWhiskDouble;
      if (!me.#refuseTooLarge(req, res)) void me.#handle(req, res);
    });
    // Without this listener Node answers every Expect: 100-continue with 100 at once; nginx checks the size first.
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      const me = self as OpenWhiskDouble;
      if (me.#refuseTooLarge(req, res)) return;
      res.writeContinue();
      void me.#handle(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    self = new OpenWhiskDouble(server, url, users, o);
    return self;
  }

  /** What is deployed, as names (`pkg/action` or `action`), for tests that check cleanup. */
  listing(): { packages: string[]; actions: string[] } {
    return {
      packages: [...this.#packages.values()].map((p) => p.name).sort(),
      actions: [...this.#actions.values()].map((a) => (a.pkg ? `${a.pkg}/${a.name}` : a.name)).sort(),
    };
  }

  /** Live containers, per action. */
  liveContainers(): number {
    return [...this.#containers.values()].reduce((n, list) => n + list.filter((c) => !c.dead).length, 0);
  }

  async close(): Promise<void> {
    for (const list of this.#containers.values()) for (const c of list) this.#destroy(c);
    this.#containers.clear();
    await Promise.all([...this.#removals]);
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  // ------------------------------------------------------------------ HTTP

  /** nginx's client_max_body_size: 413 on the declared length, the body unread, the connection closed. */
  #refuseTooLarge(req: IncomingMessage, res: ServerResponse): boolean {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (!(declared > this.#limits.maxRequestMB * 1024 * 1024)) return false;
    const page = '<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
    res.writeHead(413, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(page), connection: 'close' });
    res.end(page, () => req.socket.destroy());
    return true;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const received = Date.now();
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    try {
      const url = new URL(req.url ?? '/', this.url);
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const raw = Buffer.concat(chunks).toString('utf8');
      if (url.pathname === '/' && req.method === 'GET') {
        // The controller's info route: API paths, limits and the runtimes manifest.
        send(200, {
          description: 'OpenWhisk (test double)',
          api_paths: ['/api/v1'],
          limits: { actions_per_minute: 120, concurrent_actions: 100, max_action_duration: this.#limits.maxTimeout, max_action_memory: this.#limits.maxMemory * 1048576, min_action_memory: this.#limits.minMemory * 1048576, sequence_length: this.#limits.sequenceMaxLength },
          runtimes: { nodejs: this.kinds.map((kind, i) => ({ kind, default: i === this.kinds.length - 1, deprecated: false })) },
        });
        return;
      }
      const parts = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
      if (parts[0] !== 'api' || parts[1] !== 'v1' || parts[2] !== 'namespaces') throw new HttpError(404, 'The requested resource does not exist.');
      const ns = this.#authenticate(req);
      if (parts.length === 3) {
        if (req.method !== 'GET') throw new HttpError(405, 'HTTP method not allowed, supported methods: GET');
        send(200, [ns]);
        return;
      }
      const asked = parts[3] as string;
      if (asked !== '_' && asked !== ns) throw new HttpError(403, `The supplied authentication is not authorized to access '${asked}'.`);
      const collection = parts[4];
      const rest = parts.slice(5);
      const body = raw === '' ? {} : JSON.parse(raw);
      if (collection === 'packages') return send(...this.#packagesRoute(req.method ?? 'GET', ns, rest, url, body));
      if (collection === 'actions') return send(...(await this.#actionsRoute(req.method ?? 'GET', ns, rest, url, body, received)));
      if (collection === 'activations') return send(...this.#activationsRoute(req.method ?? 'GET', ns, rest, url));
      throw new HttpError(404, 'The requested resource does not exist.');
    } catch (err) {
      if (err instanceof HttpError) send(err.status, { error: err.message, code: newId() });
      else if (err instanceof SyntaxError) send(400, { error: `The request content was malformed:\n${err.message}`, code: newId() });
      else send(500, { error: err instanceof Error ? err.message : String(err), code: newId() });
    }
  }

  #authenticate(req: IncomingMessage): string {
    const h = req.headers.authorization;
    if (h === undefined) throw new HttpError(401, 'The resource requires authentication, which was not supplied with the request');
    const m = /^Basic\s+(.+)$/i.exec(h);
    const ns = m ? this.#users.get(Buffer.from(m[1] as string, 'base64').toString('utf8')) : undefined;
    if (ns === undefined) throw new HttpError(401, 'The supplied authentication is invalid');
    return ns;
  }

  #packagesRoute(method: string, ns: string, rest: string[], url: URL, body: Dict): [number, unknown] {
    if (rest.length === 0) {
      if (method !== 'GET') throw new HttpError(405, 'HTTP method not allowed');
      return [200, [...this.#packages.values()].filter((p) => p.namespace === ns).map((p) => ({ ...p, publish: false, binding: false }))];
    }
    const name = rest.join('/');
    if (rest.length !== 1 || !NAME.test(name)) throw new HttpError(400, `The request content was malformed:\nname "${name}" is not valid`);
    const key = `${ns}/${name}`;
    const existing = this.#packages.get(key);
    switch (method) {
      case 'GET':
        if (!existing) throw new HttpError(404, 'The requested resource does not exist.');
        return [200, { ...existing, publish: false, actions: this.#inPackage(ns, name).map((a) => ({ name: a.name, version: a.version })) }];
      case 'PUT': {
        if (existing && url.searchParams.get('overwrite') !== 'true') throw new HttpError(409, 'resource already exists');
        const p: Package = {
          namespace: ns,
          name,
          version: existing ? bump(existing.version) : '0.0.1',
          annotations: Array.isArray(body.annotations) ? (body.annotations as KeyValue[]) : (existing?.annotations ?? []),
          parameters: Array.isArray(body.parameters) ? (body.parameters as KeyValue[]) : (existing?.parameters ?? []),
        };
        this.#packages.set(key, p);
        return [200, { ...p, publish: false, binding: {} }];
      }
      case 'DELETE': {
        if (!existing) throw new HttpError(404, 'The requested resource does not exist.');
        const inside = this.#inPackage(ns, name).length;
        if (inside > 0) throw new HttpError(409, `Package not empty (contains ${inside} ${inside === 1 ? 'entity' : 'entities'}). Set force param or delete package contents.`);
        this.#packages.delete(key);
        return [200, { ...existing, publish: false }];
      }
      default:
        throw new HttpError(405, 'HTTP method not allowed');
    }
  }

  #inPackage(ns: string, pkg: string): Action[] {
    return [...this.#actions.values()].filter((a) => a.namespace === ns && a.pkg === pkg);
  }

  #view(a: Action, withCode = false): Dict {
    const exec: Dict = { ...a.exec };
    if (!withCode) delete exec.code;
    return { namespace: a.pkg ? `${a.namespace}/${a.pkg}` : a.namespace, name: a.name, version: a.version, publish: false, exec, limits: a.limits, annotations: [...a.annotations, { key: 'exec', value: a.exec.kind }], parameters: a.parameters };
  }

  /** `/ns/pkg/name`, `/ns/name`, `pkg/name` or `name` -> the action's key, `_` meaning the caller's namespace. */
  #resolve(ns: string, ref: string): string {
    const parts = ref.split('/');
    if (ref.startsWith('/')) {
      const [, n, ...rest] = parts;
      if (n === undefined || rest.length < 1 || rest.length > 2) throw new HttpError(400, `The request content was malformed:\n"${ref}" is not a fully qualified name`);
      return `${n === '_' ? ns : n}/${rest.join('/')}`;
    }
    if (parts.length > 2) throw new HttpError(400, `The request content was malformed:\n"${ref}" is not a valid action name`);
    return `${ns}/${ref}`;
  }

  async #actionsRoute(method: string, ns: string, rest: string[], url: URL, body: Dict, received: number): Promise<[number, unknown]> {
    if (rest.length === 0) {
      if (method !== 'GET') throw new HttpError(405, 'HTTP method not allowed');
      return [200, [...this.#actions.values()].filter((a) => a.namespace === ns).map((a) => this.#view(a))];
    }
    if (rest.length > 2 || rest.some((p) => !NAME.test(p))) throw new HttpError(400, `The request content was malformed:\naction name "${rest.join('/')}" is not valid`);
    const key = `${ns}/${rest.join('/')}`;
    const pkg = rest.length === 2 ? (rest[0] as string) : null;
    const name = rest[rest.length - 1] as string;
    const existing = this.#actions.get(key);
    switch (method) {
      case 'GET':
        if (!existing) throw new HttpError(404, 'The requested resource does not exist.');
        return [200, this.#view(existing, url.searchParams.get('code') !== 'false')];
      case 'DELETE':
        if (!existing) throw new HttpError(404, 'The requested resource does not exist.');
        this.#actions.delete(key);
        this.#discard(key);
        return [200, this.#view(existing)];
      case 'PUT':
        return [200, this.#view(this.#put(ns, key, pkg, name, existing, url, body))];
      case 'POST': {
        if (!existing) throw new HttpError(404, 'The requested resource does not exist.');
        const size = Buffer.byteLength(JSON.stringify(body));
        if (size > this.#limits.maxPayloadBytes) throw new HttpError(413, `The request content was too large (${size} B > ${this.#limits.maxPayloadBytes} B).`);
        const params = { ...this.#defaults(existing), ...body };
        const id = newId();
        const done = this.#activate(existing, params, received, id, null);
        if (url.searchParams.get('blocking') !== 'true') {
          done.catch(() => undefined);
          return [202, { activationId: id }];
        }
        const asked = Number(url.searchParams.get('timeout') ?? Number.NaN);
        const wait = Math.min(this.blockingLimitMs, Number.isFinite(asked) && asked > 0 ? asked : Number.POSITIVE_INFINITY);
        let timer: NodeJS.Timeout | undefined;
        const a = await Promise.race([done, new Promise<null>((r) => (timer = setTimeout(() => r(null), wait)))]);
        clearTimeout(timer);
        if (a === null) return [202, { activationId: id }];
        const status = a.response.success ? 200 : a.response.status === 'whisk internal error' ? 500 : 502;
        if (url.searchParams.get('result') === 'true') return [status, a.response.result];
        return [status, a];
      }
      default:
        throw new HttpError(405, 'HTTP method not allowed');
    }
  }

  #put(ns: string, key: string, pkg: string | null, name: string, existing: Action | undefined, url: URL, body: Dict): Action {
    if (existing && url.searchParams.get('overwrite') !== 'true') throw new HttpError(409, 'resource already exists');
    if (pkg !== null && !this.#packages.has(`${ns}/${pkg}`)) throw new HttpError(404, 'The requested resource does not exist.');
    const exec = (isDict(body.exec) ? body.exec : existing?.exec) as Action['exec'] | undefined;
    if (!exec) throw new HttpError(400, 'The request content was malformed:\nexec undefined');
    if (exec.kind === 'sequence') {
      const components = exec.components;
      if (!Array.isArray(components) || components.length === 0) throw new HttpError(400, 'The request content was malformed:\nsequence must have at least one component');
      if (components.length > this.#limits.sequenceMaxLength) throw new HttpError(400, `Too many actions in the sequence (${components.length} > ${this.#limits.sequenceMaxLength}).`);
      for (const c of components) {
        if (typeof c !== 'string' || !this.#actions.has(this.#resolve(ns, c))) throw new HttpError(400, `Sequence component does not exist.`);
      }
    } else if (exec.kind === 'blackbox') {
      // docs/actions-docker.md: the image is required, code (a zip for the image's proxy) is optional.
      if (typeof exec.image !== 'string' || !DOCKER_IMAGE.test(exec.image)) throw new HttpError(400, 'The request content was malformed:\nexec malformed: blackbox actions need an image');
      if (exec.code !== undefined && Buffer.byteLength(String(exec.code)) > this.#limits.maxCodeMB * 1024 * 1024) throw new HttpError(413, `The request content was too large (${Buffer.byteLength(String(exec.code))} B > ${this.#limits.maxCodeMB * 1024 * 1024} B).`);
    } else {
      if (!this.kinds.includes(exec.kind === 'nodejs:default' ? (this.kinds[this.kinds.length - 1] as string) : exec.kind)) {
        throw new HttpError(400, `The request content was malformed:\nkind '${exec.kind}' not in Set(${this.kinds.join(', ')}, sequence)`);
      }
      if (typeof exec.code !== 'string' || exec.code === '') throw new HttpError(400, 'The request content was malformed:\nexec malformed: no code');
      const size = Buffer.byteLength(exec.code);
      const max = this.#limits.maxCodeMB * 1024 * 1024;
      if (size > max) throw new HttpError(413, `The request content was too large (${size} B > ${max} B).`);
    }
    const l = isDict(body.limits) ? body.limits : {};
    const limits = { timeout: 60_000, memory: 256, logs: 10, concurrency: 1, ...existing?.limits } as Action['limits'];
    if (l.timeout !== undefined) limits.timeout = Number(l.timeout);
    if (l.memory !== undefined) limits.memory = Number(l.memory);
    if (l.concurrency !== undefined) limits.concurrency = Number(l.concurrency);
    const L = this.#limits;
    if (!(limits.memory >= L.minMemory && limits.memory <= L.maxMemory)) throw new HttpError(400, `The request content was malformed:\nmemory ${limits.memory} MB below allowed threshold of ${L.minMemory} MB or exceeds allowed threshold of ${L.maxMemory} MB`);
    if (!(limits.timeout >= L.minTimeout && limits.timeout <= L.maxTimeout)) throw new HttpError(400, `The request content was malformed:\nduration ${limits.timeout} milliseconds below allowed threshold of ${L.minTimeout} milliseconds or exceeds allowed threshold of ${L.maxTimeout} milliseconds`);
    if (!(limits.concurrency >= 1 && limits.concurrency <= L.maxConcurrency)) throw new HttpError(400, `The request content was malformed:\nconcurrency ${limits.concurrency} below allowed threshold of 1 or exceeds allowed threshold of ${L.maxConcurrency}`);
    const action: Action = {
      namespace: ns,
      pkg,
      name,
      version: existing ? bump(existing.version) : '0.0.1',
      revision: (existing?.revision ?? 0) + 1,
      exec,
      limits,
      annotations: Array.isArray(body.annotations) ? (body.annotations as KeyValue[]) : (existing?.annotations ?? []),
      parameters: Array.isArray(body.parameters) ? (body.parameters as KeyValue[]) : (existing?.parameters ?? []),
    };
    this.#actions.set(key, action);
    // A new revision never runs in an old revision's container.
    if (existing) this.#discard(key);
    return action;
  }

  #defaults(a: Action): Dict {
    const out: Dict = {};
    const p = a.pkg ? this.#packages.get(`${a.namespace}/${a.pkg}`) : undefined;
    for (const kv of [...(p?.parameters ?? []), ...a.parameters]) out[kv.key] = kv.value;
    return out;
  }

  #activationsRoute(method: string, ns: string, rest: string[], url: URL): [number, unknown] {
    if (method !== 'GET') throw new HttpError(405, 'HTTP method not allowed, supported methods: GET');
    if (rest.length === 0) {
      const q = url.searchParams;
      let limit = Number(q.get('limit') ?? 30);
      if (limit === 0) limit = 200;
      if (!(limit > 0 && limit <= 200)) throw new HttpError(400, 'The request content was malformed:\nlimit must be between 0 and 200');
      const skip = Number(q.get('skip') ?? 0);
      const since = q.has('since') ? Number(q.get('since')) : Number.NEGATIVE_INFINITY;
      const upto = q.has('upto') ? Number(q.get('upto')) : Number.POSITIVE_INFINITY;
      const name = q.get('name');
      const docs = q.get('docs') === 'true';
      const list = [...this.#activations.values()]
        .filter((a) => a.namespace === ns && a.start >= since && a.start <= upto)
        .filter((a) => name === null || a.name === name || String(annotation(a.annotations, 'path') ?? '').endsWith(`/${name}`))
        .sort((a, b) => b.start - a.start)
        .slice(skip, skip + limit);
      return [200, docs ? list : list.map(({ namespace, name: n, version, subject, activationId, start, end, duration, publish, annotations, response }) => ({ namespace, name: n, version, subject, activationId, start, end, duration, publish, annotations, statusCode: response.statusCode }))];
    }
    const a = this.#activations.get(rest[0] as string);
    if (!a || a.namespace !== ns) throw new HttpError(404, 'The requested resource does not exist.');
    if (rest[1] === 'logs') return [200, { logs: a.logs }];
    if (rest[1] === 'result') return [200, a.response];
    return [200, a];
  }

  // ------------------------------------------------------------------ running actions

  /** Runs an action (plain, sequence or conductor) to its activation record, stored when it ends. */
  async #activate(a: Action, params: Dict, received: number, id: string, cause: string | null): Promise<Activation> {
    let rec: Activation;
    if (a.exec.kind === 'sequence') rec = await this.#sequence(a, params, received, id, cause);
    else if (truthy(annotation(a.annotations, 'conductor'))) rec = await this.#conductor(a, params, received, id, cause);
    else rec = await this.#run(a, params, received, id, cause);
    this.#activations.set(rec.activationId, rec);
    return rec;
  }

  #record(a: Action, id: string, start: number, end: number, status: string, result: unknown, logs: string[], annotations: KeyValue[], cause: string | null, duration = end - start): Activation {
    const rec: Activation = {
      namespace: a.namespace,
      name: a.name,
      version: a.version,
      subject: a.namespace,
      activationId: id,
      start,
      end,
      duration,
      response: { status, statusCode: STATUS_CODE[status] ?? 3, success: status === 'success', result },
      logs,
      annotations: [{ key: 'path', value: `${a.namespace}/${a.pkg ? `${a.pkg}/` : ''}${a.name}` }, ...annotations, { key: 'limits', value: { timeout: a.limits.timeout, memory: a.limits.memory, logs: a.limits.logs, concurrency: a.limits.concurrency } }],
      publish: false,
    };
    if (cause !== null) rec.cause = cause;
    return rec;
  }

  async #run(a: Action, params: Dict, received: number, id: string, cause: string | null): Promise<Activation> {
    const key = `${a.namespace}/${a.pkg ? `${a.pkg}/` : ''}${a.name}`;
    const causedBy: KeyValue[] = cause !== null ? [{ key: 'causedBy', value: 'sequence' }] : [];
    const kind: KeyValue = { key: 'kind', value: a.exec.kind };
    let c = this.#idle(key, a.revision);
    let start: number;
    let initTime: number | null = null;
    if (c === null) {
      start = Date.now();
      try {
        c = await this.#spawn(key, a);
      } catch (err) {
        if (!(err instanceof PullError)) throw err;
        // The invoker's failed pull of a blackbox image: the action developer's error.
        return this.#record(a, id, start, Date.now(), 'action developer error', { error: err.message }, [], [{ key: 'waitTime', value: start - received }, kind, ...causedBy], cause);
      }
      c.busy = true;
      // The invoker's /init: the code (none for a blackbox image that carries it), and the environment the action
      // sees from its first line.
      const env = { __OW_API_HOST: this.url, __OW_NAMESPACE: a.namespace, __OW_ACTION_NAME: `/${key}`, __OW_ACTION_VERSION: a.version };
      const init = await this.#send(c, 'init', { value: { name: a.name, main: a.exec.main ?? 'main', ...(a.exec.code !== undefined ? { code: a.exec.code } : {}), binary: a.exec.binary === true, env } });
      initTime = Date.now() - start;
      if (init.code !== 200) {
        const logs = await this.#logs(c, 0);
        this.#destroy(c);
        const end = Date.now();
        return this.#record(a, id, start, end, 'action developer error', { error: String(init.response.error ?? 'init failed') }, logs, [{ key: 'waitTime', value: start - received }, kind, { key: 'initTime', value: initTime }, ...causedBy], cause);
      }
    } else {
      c.busy = true;
      start = Date.now();
    }
    const deadline = Date.now() + a.limits.timeout;
    const timeLeft = a.limits.timeout - (initTime ?? 0);
    let timer: NodeJS.Timeout | undefined;
    const reply = await Promise.race([
      this.#send(c, 'run', { value: params, activation_id: id, transaction_id: newId(), action_name: `/${key}`, action_version: a.version, namespace: a.namespace, deadline: String(deadline) }),
      new Promise<null>((r) => (timer = setTimeout(() => r(null), Math.max(timeLeft, 0)))),
    ]);
    clearTimeout(timer);
    const annotations: KeyValue[] = [{ key: 'waitTime', value: start - received }, kind, ...(initTime !== null ? [{ key: 'initTime', value: initTime }] : []), ...causedBy];
    if (reply === null) {
      const logs = await this.#logs(c, 0);
      this.#destroy(c);
      const end = Date.now();
      return this.#record(a, id, start, end, 'action developer error', { error: `The action exceeded its time limits of ${a.limits.timeout} milliseconds.` }, logs, annotations, cause);
    }
    const logs = await this.#logs(c, 2000);
    const end = Date.now();
    // Any answer but 200 is the action's fault, and the invoker discards the container: a proxy that answered 502
    // to /run is stopped and would answer 403 to every later /run.
    if (reply.code !== 200) {
      this.#destroy(c);
      return this.#record(a, id, start, end, 'action developer error', { error: String(reply.response.error) }, logs, annotations, cause);
    }
    this.#release(c);
    const result = reply.response;
    const size = Buffer.byteLength(JSON.stringify(result));
    if (size > this.#limits.maxPayloadBytes) {
      return this.#record(a, id, start, end, 'action developer error', { error: `The action produced a response that exceeded the allowed length: ${size} > ${this.#limits.maxPayloadBytes} bytes.` }, logs, annotations, cause);
    }
    return this.#record(a, id, start, end, result.error !== undefined ? 'application error' : 'success', result, logs, annotations, cause);
  }

  async #sequence(a: Action, params: Dict, received: number, id: string, cause: string | null): Promise<Activation> {
    const ids: string[] = [];
    let current = params;
    let last: Activation | null = null;
    let duration = 0;
    for (const ref of a.exec.components ?? []) {
      const component = this.#actions.get(this.#resolve(a.namespace, ref));
      if (!component) {
        return this.#record(a, id, received, Date.now(), 'application error', { error: 'Sequence component does not exist.' }, ids, [{ key: 'topmost', value: true }, { key: 'kind', value: 'sequence' }], cause, duration);
      }
      const cid = newId();
      last = await this.#activate(component, { ...this.#defaults(component), ...current }, Date.now(), cid, id);
      ids.push(cid);
      duration += last.duration;
      if (!last.response.success) break;
      current = last.response.result as Dict;
    }
    const end = Date.now();
    const ann: KeyValue[] = [...(cause === null ? [{ key: 'topmost', value: true }] : [{ key: 'causedBy', value: 'sequence' }]), { key: 'kind', value: 'sequence' }];
    const l = last as Activation;
    return this.#record(a, id, received, end, l.response.status, l.response.result, ids, ann, cause, duration);
  }

  async #conductor(a: Action, params: Dict, received: number, id: string, cause: string | null): Promise<Activation> {
    const ids: string[] = [];
    let duration = 0;
    let components = 0;
    let secondaries = 0;
    const n = this.#limits.sequenceMaxLength;
    const finish = (status: string, result: unknown) =>
      this.#record(a, id, received, Date.now(), status, result, ids, [...(cause === null ? [{ key: 'topmost', value: true }] : [{ key: 'causedBy', value: 'sequence' }]), { key: 'conductor', value: true }, { key: 'kind', value: 'sequence' }], cause, duration);
    let input = params;
    for (;;) {
      if (++secondaries > 2 * n + 1) return finish('application error', { error: `Exceeded the maximum number of conductor activations (${2 * n + 1}).` });
      const sid = newId();
      const s = await this.#run(a, input, Date.now(), sid, id);
      this.#activations.set(sid, s);
      ids.push(sid);
      duration += s.duration;
      const out = s.response.result as Dict;
      if (!s.response.success) return finish(s.response.status, out);
      if (out.action === undefined) {
        const p = out.params;
        return finish('success', p === undefined ? out : isDict(p) ? p : { value: p });
      }
      if (++components > n) return finish('application error', { error: `Exceeded the maximum number of components (${n}).` });
      let target: Action | undefined;
      try {
        target = this.#actions.get(this.#resolve(a.namespace, String(out.action)));
      } catch {
        return finish('application error', { error: `Failed to parse action name ${JSON.stringify(out.action)}` });
      }
      if (!target) return finish('application error', { error: `Failed to resolve action with name ${JSON.stringify(out.action)}` });
      const p = out.params === undefined ? {} : isDict(out.params) ? out.params : { value: out.params };
      const cid = newId();
      const c = await this.#activate(target, { ...this.#defaults(target), ...p }, Date.now(), cid, id);
      ids.push(cid);
      duration += c.duration;
      if (c.response.status === 'whisk internal error') return finish(c.response.status, c.response.result);
      const state = out.state === undefined ? {} : isDict(out.state) ? out.state : { state: out.state };
      input = { ...(isDict(c.response.result) ? c.response.result : {}), ...state };
    }
  }

  // ------------------------------------------------------------------ containers

  #idle(key: string, revision: number): Container | null {
    const list = this.#containers.get(`${key}@${revision}`) ?? [];
    const c = list.find((x) => !x.busy && !x.dead) ?? null;
    if (c?.idleTimer) clearTimeout(c.idleTimer);
    return c;
  }

  /**
   * A new container for an action revision: a Node child process running container.cjs for a zip action, a Docker
   * container from the action's image for a blackbox action (blackbox.ts). PullError when the image is not there.
   */
  async #spawn(key: string, a: Action): Promise<Container> {
    // Busy from birth: it belongs to the activation that started it until released, so a concurrent activation
    // never takes it before its /init (which would run an action that has no main yet).
    const c = { id: this.#nextContainer++, key: `${key}@${a.revision}`, busy: true, idleTimer: null, lines: { stdout: [], stderr: [] }, sentinels: 0, onSentinels: null, pending: null, dead: false } as Omit<Container, 'transport'> as Container;
    const onLine = (stream: 'stdout' | 'stderr', line: string) => {
      if (line === SENTINEL) {
        if (++c.sentinels >= 2) c.onSentinels?.();
      } else c.lines[stream].push(`${new Date().toISOString()} ${stream}: ${line}`);
    };
    const onExit = () => {
      c.dead = true;
      const p = c.pending;
      c.pending = null;
      p?.({ code: 502, response: { error: 'The action did not produce a valid response and exited unexpectedly.' } });
    };
    if (a.exec.kind === 'blackbox') {
      this.#docker ??= new Dockerode();
      c.transport = await startBlackboxContainer(this.#docker, {
        image: a.exec.image as string,
        name: `mfbench-owd-${this.#instance}-${c.id}`,
        labels: { 'mfbench.testbed': '1', [OW_DOUBLE_LABEL]: this.#instance, 'mfbench.owner': `${hostname()}:${process.pid}` },
        memoryMB: a.limits.memory,
        onLine,
        onExit,
      });
    } else {
      c.transport = await this.#fork(c, onLine, onExit);
    }
    this.containersStarted++;
    const list = this.#containers.get(c.key) ?? [];
    list.push(c);
    this.#containers.set(c.key, list);
    return c;
  }

  /** container.cjs in a child process, spoken to over the IPC channel. */
  async #fork(c: Container, onLine: (stream: 'stdout' | 'stderr', line: string) => void, onExit: () => void): Promise<ContainerTransport> {
    const child = fork(CONTAINER_MAIN, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
    for (const stream of ['stdout', 'stderr'] as const) {
      let buf = '';
      child[stream]?.setEncoding('utf8');
      child[stream]?.on('data', (d: string) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          onLine(stream, buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      });
    }
    child.on('message', (m: Dict) => {
      if (m.type === 'ready') return;
      const p = c.pending;
      c.pending = null;
      p?.(m as unknown as ProxyAnswer);
    });
    child.on('exit', onExit);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('error', reject);
    });
    return {
      // The body's size as the proxy's HTTP server would see it goes along: container.cjs keeps the proxy's limit.
      send: (route, body) =>
        new Promise((resolve) => {
          c.pending = resolve;
          child.send({ type: route, body, bodyBytes: Buffer.byteLength(JSON.stringify(body)) });
        }),
      kill: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
    };
  }

  /** A request to the container's proxy (`/init` or `/run`). */
  #send(c: Container, route: 'init' | 'run', body: Dict): Promise<ProxyAnswer> {
    if (c.dead) return Promise.resolve({ code: 502, response: { error: 'The action did not produce a valid response and exited unexpectedly.' } });
    return c.transport.send(route, body);
  }

  /** The activation's log lines, once both sentinels are in (or after `waitMs`). */
  async #logs(c: Container, waitMs: number): Promise<string[]> {
    if (c.sentinels < 2 && waitMs > 0 && !c.dead) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, waitMs);
        c.onSentinels = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    const lines = [...c.lines.stdout, ...c.lines.stderr].sort();
    c.lines = { stdout: [], stderr: [] };
    c.sentinels = 0;
    c.onSentinels = null;
    return lines;
  }

  #release(c: Container): void {
    c.busy = false;
    c.idleTimer = setTimeout(() => this.#destroy(c), this.#idleMs);
    c.idleTimer.unref();
  }

  #destroy(c: Container): void {
    if (c.idleTimer) clearTimeout(c.idleTimer);
    c.dead = true;
    const removal = c.transport.kill();
    this.#removals.add(removal);
    void removal.finally(() => this.#removals.delete(removal));
    const list = this.#containers.get(c.key);
    if (list) {
      const rest = list.filter((x) => x !== c);
      if (rest.length > 0) this.#containers.set(c.key, rest);
      else this.#containers.delete(c.key);
    }
  }

  /** Discards every container of an action (all revisions): what an update or delete does to warm containers. */
  #discard(key: string): void {
    for (const [k, list] of [...this.#containers]) {
      if (k.slice(0, k.lastIndexOf('@')) !== key) continue;
      for (const c of list) if (!c.busy) this.#destroy(c);
    }
  }
}
