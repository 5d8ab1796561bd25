/**
 * A test double of the OpenFaaS gateway, written from OpenFaaS's documentation, not from what our adapter sends:
 *
 * - REST API: openfaas/faas `api-docs/spec.openapi.yml` (FunctionDeployment, FunctionStatus, ScaleServiceRequest,
 *   DeleteFunctionRequest; status codes per route) and docs.openfaas.com `reference/rest-api.md` (basic auth on the
 *   management API, deploy POST / update PUT / delete DELETE on /system/functions, status on /system/function/{name});
 * - tracing headers: openfaas/faas `gateway/handlers/callid_middleware.go` (X-Call-Id kept or made, X-Start-Time in
 *   ns since the epoch on request and response, X-Served-By);
 * - async: docs.openfaas.com `reference/async.md` (/async-function answers 202; the queue worker POSTs the result to
 *   X-Callback-Url with X-Call-Id, X-Duration-Seconds, X-Function-Status, X-Function-Name; one task at a time);
 * - function containers: `reference/workloads.md` (HTTP on 8080, health path /_/health used as the readiness probe);
 * - scaling: the Community Edition gateway clamps a scale request of 0 to 1 (scale to zero is an OpenFaaS Pro
 *   feature, `architecture/autoscaling.md`, `openfaas-pro/scale-to-zero`); `scaleToZero: true` behaves as Pro:
 *   replicas may be 0 and a request scales the function from zero, held until a replica is ready
 *   (`edge/scale-to-zero.md`: the gateway probes readiness before forwarding);
 * - an update (PUT) replaces the replicas, as a Kubernetes rolling update does: the old replica serves until the new
 *   one is ready, then goes;
 * - metrics: `reference/metrics.md` (gateway_function_invocation_total{function_name,code},
 *   gateway_functions_seconds histogram, gateway_service_count), in the Prometheus text format.
 *
 * - providers: `kubernetes` (default: faas-netes, a replica is available once its readiness probe on /_/health
 *   passes) or `faasd` (openfaas/faasd pkg/provider/handlers/function_get.go: a function has 1 available replica as
 *   soon as its containerd task is running, whether or not its process listens yet; the provider's proxy answers
 *   500 "Can't reach service for: <name>." when the container does not answer; deploy.go answers 400 with the
 *   error after the container may already exist, e.g. when its task or network cannot be set up);
 * - faults a busy or broken provider shows, injected by tests: `faults.failAfterCreate` (the next deploys create
 *   the function and then answer an error, as faasd's createTask path can), `faults.slow` (the next /system/* calls
 *   matching a method are answered only after a delay; the work itself is done at once).
 *
 * Replicas are real containers started from the function's image with dockerode; the container's 8080 is published
 * on a loopback port. Every container is labelled as docs/docker.md says (mfbench.testbed=1, mfbench.owner,
 * mfbench.owner-started) plus `mfbench.openfaas-double=<instance>`, so tests can check that none is left.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, Agent, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Docker } from '../../../dist/platform/sandbox/docker/engine.js';
import { formatOwner, LABEL, processStartTicks } from '../../../dist/platform/sandbox/docker/owner.js';

export const DOUBLE_LABEL = 'mfbench.openfaas-double';

export interface OpenFaasDoubleOptions {
  docker: Docker;
  /** Basic auth on /system/* (both or neither). */
  user?: string;
  password?: string;
  /** OpenFaaS Pro behaviour: scale to zero allowed and scale from zero on request. Default false (CE clamps to 1). */
  scaleToZero?: boolean;
  /** How long a replica may take to pass its readiness probe. */
  readinessTimeoutMs?: number;
  /** Which provider's replica accounting and proxy errors to show (default kubernetes). */
  provider?: 'kubernetes' | 'faasd';
}

/** Faults the next /system/* calls show; tests set them, each counts down as it fires. */
export interface GatewayFaults {
  /** The next N deploys (POST /system/functions) create the function, then answer 400 as faasd's deploy handler does. */
  failAfterCreate: number;
  /** The next `count` /system/* calls with this method are answered after `delayMs` (the change itself is made at once). */
  slow: { method: string; count: number; delayMs: number } | null;
}

interface FunctionDeployment {
  service: string;
  image: string;
  namespace?: string;
  envProcess?: string;
  envVars?: Record<string, string>;
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
  limits?: { memory?: string; cpu?: string } | null;
  requests?: { memory?: string; cpu?: string } | null;
  readOnlyRootFilesystem?: boolean;
}

interface Replica {
  containerId: string;
  port: number;
  version: number;
}

interface Fn {
  spec: FunctionDeployment;
  version: number;
  replicas: number;
  ready: Replica[];
  invocationCount: number;
  createdAt: string;
  deleted: boolean;
  reconciling: boolean;
  dirty: boolean;
  rr: number;
  lastError: string | null;
  retry: NodeJS.Timeout | null;
  changed: Set<() => void>;
}

export interface OpenFaasDouble {
  /** For clients on this host. */
  url: string;
  /** For function containers (the orchestrator): the same gateway on the Docker bridge's address. */
  internalUrl: string;
  instance: string;
  /** Names of functions deployed now. */
  functions(): string[];
  /** Why a function has no ready replica (last container start error), if any. */
  lastError(name: string): string | null;
  /** Faults to show on the next calls (mutable). */
  faults: GatewayFaults;
  close(): Promise<void>;
}

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function memoryBytes(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|K|M|G|k|m|g)?$/.exec(v.trim());
  if (!m) return undefined;
  const unit = m[2] ?? '';
  const mult: Record<string, number> = { '': 1, K: 1e3, k: 1e3, M: 1e6, m: 1e6, G: 1e9, g: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  return Math.round(Number(m[1]) * (mult[unit] ?? 1));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const t = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(t) });
  res.end(t);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function bridgeAddress(): string {
  const docker0 = networkInterfaces().docker0?.find((a) => a.family === 'IPv4');
  return docker0?.address ?? '172.17.0.1';
}

export async function startOpenFaasDouble(options: OpenFaasDoubleOptions): Promise<OpenFaasDouble> {
  const { docker } = options;
  const instance = randomBytes(6).toString('hex');
  const owner = formatOwner({ host: hostname(), pid: process.pid });
  const ownerStarted = processStartTicks(process.pid) ?? '';
  const readinessTimeoutMs = options.readinessTimeoutMs ?? 30_000;
  const provider = options.provider ?? 'kubernetes';
  const faults: GatewayFaults = { failAfterCreate: 0, slow: null };
  const fns = new Map<string, Fn>();
  const agent = new Agent({ keepAlive: true });
  let closed = false;

  const registry = new Registry();
  const invocations = new Counter({ name: 'gateway_function_invocation_total', help: 'Function metrics', labelNames: ['function_name', 'code'], registers: [registry] });
  const seconds = new Histogram({ name: 'gateway_functions_seconds', help: 'Function time taken', labelNames: ['function_name'], registers: [registry] });
  const serviceCount = new Gauge({ name: 'gateway_service_count', help: 'Current count of replicas for function', labelNames: ['function_name'], registers: [registry] });

  const expected = options.user !== undefined ? `Basic ${Buffer.from(`${options.user}:${options.password ?? ''}`).toString('base64')}` : null;

  // ------------------------------------------------------------------ replicas (the provider's job)

  function notify(fn: Fn): void {
    for (const f of [...fn.changed]) f();
  }

  async function removeContainer(id: string): Promise<void> {
    await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
  }

  async function startReplica(name: string, fn: Fn): Promise<Replica> {
    const spec = fn.spec;
    const version = fn.version;
    const memory = memoryBytes(spec.limits?.memory ?? undefined);
    const container = await docker.createContainer({
      name: `mfbench-ofd-${instance}-${name}-${randomBytes(3).toString('hex')}`,
      Image: spec.image,
      Env: [...Object.entries(spec.envVars ?? {}).map(([k, v]) => `${k}=${v}`), ...(spec.envProcess ? [`fprocess=${spec.envProcess}`] : [])],
      Labels: {
        ...(spec.labels ?? {}),
        [LABEL.testbed]: '1',
        [LABEL.owner]: owner,
        [LABEL.ownerStarted]: ownerStarted,
        [DOUBLE_LABEL]: instance,
        'faas_function': name,
      },
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: {
        PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
        NetworkMode: 'bridge',
        ...(memory !== undefined ? { Memory: memory, MemorySwap: memory } : {}),
        ReadonlyRootfs: spec.readOnlyRootFilesystem === true,
        ...(spec.readOnlyRootFilesystem ? { Tmpfs: { '/tmp': 'rw' } } : {}),
      },
    });
    try {
      await container.start();
      const info = await container.inspect();
      const port = Number(info.NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort);
      if (!Number.isInteger(port) || port <= 0) throw new Error('no published port for 8080/tcp');
      // faasd: the task runs, so the replica counts, listening or not.
      if (provider === 'faasd') return { containerId: container.id, port, version };
      // Readiness probe: GET /_/health until 200 (Kubernetes httpGet probe on the documented health path).
      const deadline = Date.now() + readinessTimeoutMs;
      for (;;) {
        if (fn.deleted || closed) throw new Error('function deleted while its replica started');
        const state = await container.inspect().then((i) => i.State, () => null);
        if (!state?.Running) {
          const logs = await container.logs({ stdout: true, stderr: true, tail: 20 }).then((b) => b.toString('utf8'), () => '');
          throw new Error(`container exited with ${state?.ExitCode ?? '?'}: ${logs.replace(/[\x00-\x08]/g, '').trim().slice(-500)}`);
        }
        const ok = await new Promise<boolean>((resolve) => {
          const req = httpRequest({ host: '127.0.0.1', port, path: '/_/health', method: 'GET', timeout: 1000 }, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
          });
          req.on('error', () => resolve(false));
          req.on('timeout', () => req.destroy());
          req.end();
        });
        if (ok) return { containerId: container.id, port, version };
        if (Date.now() > deadline) throw new Error(`not ready within ${readinessTimeoutMs} ms`);
        await sleep(50);
      }
    } catch (err) {
      await removeContainer(container.id);
      throw err;
    }
  }

  async function reconcileOnce(name: string, fn: Fn): Promise<void> {
    const version = fn.version;
    while (!fn.deleted && fn.version === version && fn.ready.filter((r) => r.version === version).length < fn.replicas) {
      const r = await startReplica(name, fn);
      if (fn.deleted || closed) {
        await removeContainer(r.containerId);
        return;
      }
      fn.ready.push(r);
      fn.lastError = null;
      notify(fn);
    }
    if (fn.version !== version) return; // updated meanwhile: the next pass replaces these too
    // Rolling update done: old-version replicas and any beyond the wanted count go.
    const current = fn.ready.filter((r) => r.version === version);
    const keep = new Set(current.slice(0, fn.replicas));
    const gone = fn.ready.filter((r) => !keep.has(r));
    fn.ready = fn.ready.filter((r) => keep.has(r));
    serviceCount.set({ function_name: name }, fn.ready.length);
    notify(fn);
    await Promise.all(gone.map((r) => removeContainer(r.containerId)));
  }

  function kick(name: string, fn: Fn): void {
    if (fn.reconciling) {
      fn.dirty = true;
      return;
    }
    fn.reconciling = true;
    void (async () => {
      try {
        do {
          fn.dirty = false;
          await reconcileOnce(name, fn);
        } while (fn.dirty && !fn.deleted && !closed);
      } catch (err) {
        fn.lastError = err instanceof Error ? err.message : String(err);
        notify(fn);
        // As Kubernetes does with ImagePullBackOff / CrashLoopBackOff: try again later.
        if (!fn.deleted && !closed) fn.retry = setTimeout(() => kick(name, fn), 1000);
      } finally {
        fn.reconciling = false;
      }
    })();
  }

  /** A ready replica, waiting for one (and scaling from zero when allowed) up to the readiness timeout. */
  async function replicaFor(name: string, fn: Fn): Promise<Replica | null> {
    if (fn.ready.length === 0 && fn.replicas === 0 && options.scaleToZero) {
      fn.replicas = minReplicas(fn.spec);
      kick(name, fn);
    }
    const deadline = Date.now() + readinessTimeoutMs;
    while (fn.ready.length === 0) {
      if (fn.deleted || closed || Date.now() > deadline) return null;
      await new Promise<void>((resolve) => {
        const done = () => {
          fn.changed.delete(done);
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(done, 200);
        fn.changed.add(done);
      });
    }
    fn.rr = (fn.rr + 1) % fn.ready.length;
    return fn.ready[fn.rr] ?? null;
  }

  function minReplicas(spec: FunctionDeployment): number {
    const n = Number(spec.labels?.['com.openfaas.scale.min'] ?? 1);
    return Number.isInteger(n) && n >= 1 ? n : 1;
  }

  function maxReplicas(spec: FunctionDeployment): number {
    const n = Number(spec.labels?.['com.openfaas.scale.max'] ?? 20);
    return Number.isInteger(n) && n >= 1 ? n : 20;
  }

  function statusOf(name: string, fn: Fn): Record<string, unknown> {
    const s = fn.spec;
    return {
      name,
      image: s.image,
      namespace: s.namespace ?? 'openfaas-fn',
      envProcess: s.envProcess ?? '',
      envVars: s.envVars ?? {},
      labels: s.labels ?? {},
      annotations: s.annotations ?? {},
      ...(s.limits ? { limits: s.limits } : {}),
      invocationCount: fn.invocationCount,
      replicas: fn.replicas,
      availableReplicas: fn.ready.length,
      createdAt: fn.createdAt,
    };
  }

  // ------------------------------------------------------------------ invocation (proxy to a replica)

  interface Forwarded {
    status: number;
    headers: Record<string, string | string[]>;
    body: Buffer;
  }

  function forward(replica: Replica, method: string, path: string, headers: Record<string, string>, body: Buffer): Promise<Forwarded> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: replica.port, path, method, headers: { ...headers, 'content-length': String(body.length) }, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers as Record<string, string | string[]>, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Calls a function as the gateway's proxy does; counts it in the metrics. */
  async function call(name: string, fn: Fn, method: string, subPath: string, headers: Record<string, string>, body: Buffer): Promise<Forwarded> {
    const started = process.hrtime.bigint();
    const replica = await replicaFor(name, fn);
    let out: Forwarded;
    if (!replica) out = { status: 503, headers: { 'content-type': 'text/plain' }, body: Buffer.from(`No endpoints available for: ${name}.`) };
    else {
      try {
        out = await forward(replica, method, subPath, headers, body);
      } catch (err) {
        // faasd's proxy (faas-provider) answers 500; the Kubernetes gateway's forwarding proxy 502.
        out = provider === 'faasd'
          ? { status: 500, headers: { 'content-type': 'text/plain' }, body: Buffer.from(`Can't reach service for: ${name}.`) }
          : { status: 502, headers: { 'content-type': 'text/plain' }, body: Buffer.from(`Can't reach service for: ${name}. ${(err as Error).message}`) };
      }
    }
    const secs = Number(process.hrtime.bigint() - started) / 1e9;
    fn.invocationCount++;
    invocations.inc({ function_name: name, code: String(out.status) });
    seconds.observe({ function_name: name }, secs);
    return out;
  }

  function splitFunctionPath(rest: string): { name: string; subPath: string } {
    const cut = rest.indexOf('/');
    const first = cut < 0 ? rest : rest.slice(0, cut);
    const name = first.split('.')[0] ?? first; // NAME.NAMESPACE
    return { name, subPath: cut < 0 ? '/' : rest.slice(cut) };
  }

  function requestHeaders(req: IncomingMessage): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || k === 'host' || k === 'connection' || k === 'content-length' || k === 'authorization') continue;
      out[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    return out;
  }

  // ------------------------------------------------------------------ async queue (one queue worker, one task at a time)

  const queue: Array<() => Promise<void>> = [];
  let draining = false;
  async function drain(): Promise<void> {
    if (draining) return;
    draining = true;
    while (queue.length > 0 && !closed) await (queue.shift() as () => Promise<void>)().catch(() => undefined);
    draining = false;
  }

  // ------------------------------------------------------------------ routes

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const path = url.pathname;
    const method = req.method ?? 'GET';

    // Call-id middleware: on every request (callid_middleware.go).
    const start = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)); // ns since the epoch
    const incomingId = req.headers['x-call-id'];
    const callId = typeof incomingId === 'string' && incomingId !== '' ? incomingId : randomUUID();
    if (incomingId === undefined) res.setHeader('X-Call-Id', callId);
    res.setHeader('X-Start-Time', start.toString());
    res.setHeader('X-Served-By', 'openfaas-ce/double');

    if (path === '/healthz') return text(res, 200, 'OK');
    if (path === '/metrics') {
      res.writeHead(200, { 'Content-Type': registry.contentType });
      res.end(await registry.metrics());
      return;
    }

    if (path.startsWith('/function/')) {
      const { name, subPath } = splitFunctionPath(path.slice('/function/'.length));
      const fn = fns.get(name);
      const body = await readBody(req);
      if (!fn) return text(res, 404, `error finding function ${name}: not found`);
      const headers = { ...requestHeaders(req), 'x-call-id': callId, 'x-start-time': start.toString() };
      const out = await call(name, fn, method, subPath + url.search, headers, body);
      for (const [k, v] of Object.entries(out.headers)) if (!['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date'].includes(k)) res.setHeader(k, v);
      res.writeHead(out.status, { 'Content-Length': out.body.length });
      res.end(out.body);
      return;
    }

    if (path.startsWith('/async-function/')) {
      const { name, subPath } = splitFunctionPath(path.slice('/async-function/'.length));
      if (method !== 'POST') return text(res, 405, 'Method not allowed: async invocations need POST');
      const fn = fns.get(name);
      const body = await readBody(req);
      if (!fn) return text(res, 404, `error finding function ${name}: not found`);
      const headers: Record<string, string> = { ...requestHeaders(req), 'x-call-id': callId, 'x-start-time': start.toString() };
      const callback = headers['x-callback-url'];
      delete headers['x-callback-url'];
      queue.push(async () => {
        const t0 = process.hrtime.bigint();
        const out = await call(name, fn, 'POST', subPath + url.search, headers, body);
        const duration = Number(process.hrtime.bigint() - t0) / 1e9;
        if (callback) {
          const ct = out.headers['content-type'];
          await fetch(callback, {
            method: 'POST',
            body: out.body,
            headers: {
              'Content-Type': typeof ct === 'string' ? ct : 'text/plain',
              'X-Call-Id': callId,
              'X-Start-Time': start.toString(),
              'X-Duration-Seconds': duration.toFixed(6),
              'X-Function-Status': String(out.status),
              'X-Function-Name': name,
            },
          }).then((r) => r.arrayBuffer(), () => undefined);
        }
      });
      void drain();
      res.writeHead(202, { 'Content-Type': 'text/plain' });
      res.end();
      return;
    }

    if (path.startsWith('/system/')) {
      if (expected !== null && req.headers.authorization !== expected) {
        await readBody(req);
        return text(res, 401, 'Unauthorized\n', { 'WWW-Authenticate': 'Basic realm="Restricted"' });
      }
      const slow = faults.slow;
      if (slow !== null && slow.method === method && slow.count > 0) {
        slow.count--;
        // The change is made now; only the answer is late (a busy provider). Headers leave with the body, at end().
        const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
        res.end = ((...args: unknown[]) => {
          setTimeout(() => {
            if (!res.destroyed) end(...args);
          }, slow.delayMs);
          return res;
        }) as typeof res.end;
        await system(req, res, path, method);
        return;
      }
      return system(req, res, path, method);
    }
    return text(res, 404, '404 page not found\n');
  }

  async function system(req: IncomingMessage, res: ServerResponse, path: string, method: string): Promise<void> {
    const raw = (await readBody(req)).toString('utf8');
    const parse = (): Record<string, unknown> | null => {
      try {
        const v = JSON.parse(raw) as unknown;
        return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
      } catch {
        return null;
      }
    };

    if (path === '/system/info' && method === 'GET') {
      return json(res, 200, { provider: { provider: 'faas-double', orchestration: 'docker', version: { release: '0.0.0', sha: 'double' } }, version: { release: '0.0.0-double', sha: 'double' }, arch: process.arch === 'x64' ? 'x86_64' : process.arch });
    }

    if (path === '/system/functions') {
      if (method === 'GET') return json(res, 200, [...fns].map(([n, f]) => statusOf(n, f)));
      const body = parse();
      if (method === 'POST' || method === 'PUT') {
        if (!body || typeof body.service !== 'string' || typeof body.image !== 'string' || body.service === '' || body.image === '') {
          return text(res, 400, 'the request body must be a FunctionDeployment with service and image');
        }
        const spec = body as unknown as FunctionDeployment;
        if (!NAME_RE.test(spec.service) || spec.service.length > 63) return text(res, 400, `(${spec.service}) must be a valid DNS entry for service name`);
        const existing = fns.get(spec.service);
        if (method === 'POST') {
          if (existing) return text(res, 400, `function ${spec.service} already exists`);
          const fn: Fn = { spec, version: 1, replicas: minReplicas(spec), ready: [], invocationCount: 0, createdAt: new Date().toISOString(), deleted: false, reconciling: false, dirty: false, rr: 0, lastError: null, retry: null, changed: new Set() };
          fns.set(spec.service, fn);
          kick(spec.service, fn);
          if (faults.failAfterCreate > 0) {
            faults.failAfterCreate--;
            return text(res, 400, `unable to start task: ${spec.service}, error: failed to setup network for namespace "openfaas-fn": the double's injected fault\n`);
          }
          return text(res, 202, '');
        }
        if (!existing) return text(res, 404, `function ${spec.service} not found`);
        existing.spec = spec;
        existing.version++; // any change of the spec makes the provider replace the replicas
        kick(spec.service, existing);
        return text(res, 200, '');
      }
      if (method === 'DELETE') {
        const name = body?.functionName;
        if (typeof name !== 'string' || name === '') return text(res, 400, 'the request body must be {"functionName": "..."}');
        const fn = fns.get(name);
        if (!fn) return text(res, 404, `function ${name} not found`);
        fn.deleted = true;
        if (fn.retry) clearTimeout(fn.retry);
        fns.delete(name);
        const gone = fn.ready;
        fn.ready = [];
        notify(fn);
        serviceCount.remove({ function_name: name });
        await Promise.all(gone.map((r) => removeContainer(r.containerId)));
        return text(res, 200, '');
      }
      return text(res, 405, 'method not allowed');
    }

    const statusMatch = /^\/system\/function\/([^/]+)$/.exec(path);
    if (statusMatch && method === 'GET') {
      const name = decodeURIComponent(statusMatch[1] ?? '');
      const fn = fns.get(name);
      if (!fn) return text(res, 404, `function ${name} not found`);
      return json(res, 200, statusOf(name, fn));
    }

    const scaleMatch = /^\/system\/scale-function\/([^/]+)$/.exec(path);
    if (scaleMatch && method === 'POST') {
      const name = decodeURIComponent(scaleMatch[1] ?? '');
      const fn = fns.get(name);
      if (!fn) return text(res, 404, `function ${name} not found`);
      const body = parse();
      const wanted = body?.replicas;
      if (typeof wanted !== 'number' || !Number.isInteger(wanted) || wanted < 0) return text(res, 400, 'replicas must be an integer >= 0');
      // Community Edition: no scale to zero, the request is clamped to 1; and never above com.openfaas.scale.max.
      let n = Math.min(wanted, maxReplicas(fn.spec));
      if (n === 0 && !options.scaleToZero) n = 1;
      fn.replicas = n;
      kick(name, fn);
      return text(res, 202, '');
    }
    return text(res, 404, '404 page not found\n');
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) text(res, 500, err instanceof Error ? err.message : String(err));
      else res.destroy();
    });
  };
  const listen = (server: Server, host: string) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve((server.address() as AddressInfo).port));
    });
  const local = createServer(handler);
  const bridge = createServer(handler);
  const localPort = await listen(local, '127.0.0.1');
  const bridgeHost = bridgeAddress();
  const bridgePort = await listen(bridge, bridgeHost);

  return {
    url: `http://127.0.0.1:${localPort}`,
    internalUrl: `http://${bridgeHost}:${bridgePort}`,
    instance,
    functions: () => [...fns.keys()],
    lastError: (name) => fns.get(name)?.lastError ?? null,
    faults,
    async close() {
      closed = true;
      for (const fn of fns.values()) {
        fn.deleted = true;
        if (fn.retry) clearTimeout(fn.retry);
        notify(fn);
      }
      fns.clear();
      const closing = [local, bridge].map((s) => new Promise<void>((r) => s.close(() => r())));
      local.closeAllConnections();
      bridge.closeAllConnections();
      await Promise.all(closing);
      agent.destroy();
      // Replicas still starting remove themselves; anything else with our label goes now.
      for (let i = 0; i < 3; i++) {
        const left = await docker.listContainers({ all: true, filters: { label: [`${DOUBLE_LABEL}=${instance}`] } }).catch(() => []);
        if (left.length === 0) break;
        await Promise.all(left.map((c) => removeContainer(c.Id)));
        await sleep(200);
      }
    },
  };
}
