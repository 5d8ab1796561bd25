/**
 * The OpenFaaS adapter: runs the testbed's workloads on an OpenFaaS deployment through its gateway's REST API
 * (gateway.ts), with functions packaged as container images built here with dockerode (image.ts) and served by a
 * small function wrapper (wrapper.ts). docs/platforms.md#openfaas says how to point it at a gateway, what is measured
 * and how, and what differs from MicroFunctions.
 *
 * - deploy: one image per app (FROM the docker backend's runtime image), tagged `[<registry>/]mfbench-fn-<app>:<hash>`
 *   and pushed when a registry is named; then one OpenFaaS function per workload function (`<app>-<fn>`) and one
 *   orchestrator function per workflow (`<app>-wf-<workflow>`), which runs our ASL engine and calls the Task functions
 *   through the gateway. Waits until each has an available replica; on any failure removes what it had created.
 * - invoke / execute: synchronous `/function/<name>`; records from the gateway's X-Call-Id / X-Start-Time, the
 *   watchdog's X-Duration-Seconds and the wrapper's evidence (evidence.ts).
 * - enforceColdStart: scale to zero where the gateway allows it; the Community Edition clamps replicas to at least 1,
 *   so then the deployment is updated (a changed env var and label), which makes the provider replace the replicas,
 *   and the adapter waits until the new generation answers the health path. The next record proves it (the
 *   container's first request).
 * - collectMetrics: replicas from /system/functions and the gateway's Prometheus metrics when reachable.
 * - remove: deletes the functions and the local image tag it created, and only those.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { now } from '../../platform/clock.js';
import type { BackendName, WorkerStart } from '../../platform/config.js';
import { MfError } from '../../platform/errors.js';
import type { AppManifest } from '../../platform/manifest.js';
import type { InvocationRecord } from '../../platform/records.js';
import { compileStateMachine } from '../../platform/asl/validate.js';
import { connectDocker, type Docker } from '../../platform/sandbox/docker/engine.js';
import { formatOwner } from '../../platform/sandbox/docker/owner.js';
import { describeStorageHost, resolveStorageHost, STORAGE_OPTION_KEYS, StorageHost, storageKey, type ResolvedStorageHost, type StorageHostOptions } from '../storage-host.js';
import { BaseAdapter, type Deployment, type HookAnswer, type PlatformReport, type ResourceSnapshot, type SendStamps } from '../types.js';
import { recordFrom, headerBag, factsOf } from './evidence.js';
import { GatewayClient, parsePrometheus, SYSTEM_TIMEOUT_MS, type FunctionDeployment } from './gateway.js';
import { baseImage, pushImage, removeImage, type RegistryAuth } from '../images.js';
import { buildAppImage, planAppImage } from './image.js';
import { EVIDENCE, type OrchestratorEnvelope } from './protocol.js';
import { setTimeout as sleep } from 'node:timers/promises';

export { parsePrometheus } from './gateway.js';
export { temperatureFrom, recordFrom, gatewayStartMs, type OpenFaasTemperature } from './evidence.js';

/** How enforceColdStart makes the next request cold. */
export const COLD_START_METHODS = ['auto', 'scale-to-zero', 'update'] as const;
export type ColdStartMethod = (typeof COLD_START_METHODS)[number];

export interface OpenFaasOptions extends StorageHostOptions {
  /** The gateway, e.g. http://127.0.0.1:8080 (default: OPENFAAS_URL). */
  url?: string;
  /** `user:password` for the gateway's basic auth (the harness's --token); or `user` and `password`. */
  token?: string;
  user?: string;
  password?: string;
  /** Registry to push images to, `host[:port][/path]` (default: OPENFAAS_REGISTRY; none: the cluster must see this engine's images). */
  registry?: string;
  registryUser?: string;
  registryPassword?: string;
  /** The gateway as function containers reach it (the orchestrator calls Tasks there; default OPENFAAS_FUNCTION_GATEWAY, else http://gateway.openfaas:8080). */
  functionGatewayUrl?: string;
  /** The gateway's Prometheus metrics (default OPENFAAS_METRICS_URL, else <url>/metrics). */
  metricsUrl?: string;
  /** How long a deploy or a cold-start replacement may take to become ready, ms (default 120000). */
  readyTimeoutMs?: number;
  /** How long one /system/* call may take, ms (default gateway.ts SYSTEM_TIMEOUT_MS); idempotent calls are tried twice. */
  systemTimeoutMs?: number;
  /** `auto` (default): scale to zero where allowed, else update; or force one. */
  coldStart?: ColdStartMethod;
  /**
   * The harness's common options, typed as the harness types them. OpenFaaS has no backends or presets: only the
   * harness's defaults (`process`, `grouped`) are accepted (and `openfaas` / `default`); poolSize and workerStart are refused.
   */
  backend?: BackendName;
  preset?: string;
  poolSize?: number;
  workerStart?: WorkerStart;
}

export interface OpenFaasDescription {
  platform: 'openfaas';
  url: string;
  /** Whether basic-auth credentials are configured (never the credentials). */
  auth: boolean;
  registry: string | null;
  functionGatewayUrl: string;
  metricsUrl: string;
  coldStart: ColdStartMethod;
  /** Where context.storage is served from (../storage-host.ts). */
  storage: string;
  backend: 'openfaas';
  preset: 'default';
  /** What GET /system/info said (provider, orchestration, version). */
  gateway: Record<string, unknown>;
  [key: string]: unknown;
}

type Resolved = Required<Pick<OpenFaasOptions, 'url' | 'functionGatewayUrl' | 'metricsUrl' | 'readyTimeoutMs' | 'systemTimeoutMs' | 'coldStart'>> & {
  user: string | undefined;
  password: string | undefined;
  registry: string | null;
  registryAuth: RegistryAuth | null;
  storage: ResolvedStorageHost;
};

/** Checks the options (flags first, then OPENFAAS_* variables); throws MF_CONFIG_INVALID naming the first bad one. */
export function resolveOpenFaasOptions(o: OpenFaasOptions, env: NodeJS.ProcessEnv = process.env): Resolved {
  const fail = (option: string, problem: string): never => {
    throw new MfError('MF_CONFIG_INVALID', `openfaas adapter: option "${option}" ${problem}`, { option });
  };
  const known = ['url', 'token', 'user', 'password', 'registry', 'registryUser', 'registryPassword', 'functionGatewayUrl', 'metricsUrl', 'readyTimeoutMs', 'systemTimeoutMs', 'coldStart', 'backend', 'preset', 'poolSize', 'workerStart', ...STORAGE_OPTION_KEYS];
  for (const [key, value] of Object.entries(o)) {
    if (!known.includes(key)) fail(key, `is unknown (known: ${known.join(', ')})`);
    if (value === undefined) continue;
  }
  if (o.poolSize !== undefined) fail('poolSize', 'is a MicroFunctions option; OpenFaaS scales replicas itself');
  if (o.workerStart !== undefined) fail('workerStart', 'is a MicroFunctions option; an OpenFaaS function loads its handler when its container starts');
  if (o.backend !== undefined && !['openfaas', 'process'].includes(o.backend as string)) fail('backend', `has no meaning on OpenFaaS (the cluster's provider runs the containers); got "${o.backend}"`);
  if (o.preset !== undefined && !['default', 'grouped'].includes(o.preset)) fail('preset', `has no meaning on OpenFaaS (one container per function); got "${o.preset}"`);
  const url = o.url ?? env.OPENFAAS_URL;
  if (url === undefined || url === '') fail('url', 'is required: the gateway URL, by --url or OPENFAAS_URL (e.g. http://127.0.0.1:8080)');
  let user = o.user ?? env.OPENFAAS_USER;
  let password = o.password ?? env.OPENFAAS_PASSWORD;
  if (o.token !== undefined) {
    const cut = o.token.indexOf(':');
    if (cut <= 0) fail('token', 'must be user:password (the gateway\'s basic auth)');
    user = o.token.slice(0, cut);
    password = o.token.slice(cut + 1);
  }
  if (password !== undefined && user === undefined) user = 'admin'; // faas-cli's default user
  const coldStart = o.coldStart ?? 'auto';
  if (!COLD_START_METHODS.includes(coldStart)) fail('coldStart', `must be one of ${COLD_START_METHODS.join(', ')}`);
  const readyTimeoutMs = o.readyTimeoutMs ?? 120_000;
  if (!Number.isFinite(readyTimeoutMs) || readyTimeoutMs <= 0) fail('readyTimeoutMs', 'must be a positive number of milliseconds');
  const systemTimeoutMs = o.systemTimeoutMs ?? SYSTEM_TIMEOUT_MS;
  if (!Number.isFinite(systemTimeoutMs) || systemTimeoutMs <= 0) fail('systemTimeoutMs', 'must be a positive number of milliseconds');
  const registry = (o.registry ?? env.OPENFAAS_REGISTRY ?? '').replace(/\/+$/, '') || null;
  if (registry !== null && !/^[A-Za-z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?$/.test(registry)) fail('registry', `must be host[:port][/path], got "${registry}"`);
  const regUser = o.registryUser ?? env.OPENFAAS_REGISTRY_USER;
  const regPassword = o.registryPassword ?? env.OPENFAAS_REGISTRY_PASSWORD;
  const registryAuth = registry !== null && regUser !== undefined ? { username: regUser, password: regPassword ?? '', serveraddress: registry.split('/')[0] ?? registry } : null;
  const base = (url as string).replace(/\/+$/, '');
  return {
    url: base,
    user,
    password,
    registry,
    registryAuth,
    functionGatewayUrl: (o.functionGatewayUrl ?? env.OPENFAAS_FUNCTION_GATEWAY ?? 'http://gateway.openfaas:8080').replace(/\/+$/, ''),
    metricsUrl: o.metricsUrl ?? env.OPENFAAS_METRICS_URL ?? `${base}/metrics`,
    readyTimeoutMs,
    systemTimeoutMs,
    coldStart,
    storage: resolveStorageHost(o, env),
  };
}

/** An OpenFaaS function name (a DNS-1123 label): lower case, digits and '-', at most 63; changed names get a hash suffix. */
export function serviceName(app: string, part: string): string {
  const wanted = `${app}-${part}`;
  let s = wanted.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-{2,}/g, '-').replace(/^-+|-+$/g, '');
  if (s !== wanted || s.length > 63) {
    const suffix = createHash('sha256').update(wanted).digest('hex').slice(0, 6);
    s = `${s.slice(0, 63 - 7).replace(/-+$/, '')}-${suffix}`;
  }
  return s;
}

/** What the adapter created for one deployment. */
interface Created {
  /** Every OpenFaaS name the deployment uses: free before the deploy, so whatever the gateway lists under them is ours. */
  names: string[];
  functions: Map<string, string>;
  workflows: Map<string, string>;
  specs: Map<string, FunctionDeployment>;
  image: string;
  /** The adapter built (created) the local tag, so remove deletes it. */
  builtImage: boolean;
  generation: number;
  /** The storage key space whose data remove deletes. */
  storageKey: string;
}

/** A sample of the gateway's Prometheus metrics for this adapter's functions. */
export interface GatewayMetrics {
  invocations: Array<{ function: string; code: string; count: number }>;
  seconds: Array<{ function: string; count: number; sum: number }>;
}

/** ResourceSnapshot plus what OpenFaaS reports: replicas per function and the gateway's metrics (null when unreachable). */
export interface OpenFaasMetrics extends ResourceSnapshot {
  replicas: Array<{ app: string; function: string; replicas: number | null; available: number | null; invocationCount: number | null }>;
  gateway: GatewayMetrics | null;
}


export class OpenFaasAdapter extends BaseAdapter {
  readonly platform = 'openfaas';
  readonly description: Readonly<OpenFaasDescription>;
  readonly #gw: GatewayClient;
  readonly #o: Resolved;
  readonly #created = new Map<number, Created>();
  readonly #owner = formatOwner({ host: hostname(), pid: process.pid });
  #docker: Docker | null = null;
  /** Serves context.storage to the functions (started at the first deploy). */
  readonly #storage: StorageHost;
  /** Learnt from the gateway: null until tried; false when it clamps scale-to-zero to 1 (Community Edition). */
  #scaleToZero: boolean | null = null;

  private constructor(o: Resolved, gw: GatewayClient, info: Record<string, unknown>) {
    super();
    this.#o = o;
    this.#gw = gw;
    this.#storage = new StorageHost(o.storage);
    this.description = Object.freeze({
      platform: 'openfaas',
      url: gw.url,
      auth: gw.hasCredentials,
      registry: o.registry,
      functionGatewayUrl: o.functionGatewayUrl,
      metricsUrl: o.metricsUrl,
      coldStart: o.coldStart,
      storage: describeStorageHost(o.storage),
      backend: 'openfaas',
      preset: 'default',
      gateway: info,
    });
  }

  /** Checks the options and that the gateway answers and accepts the credentials (GET /system/info). */
  static async create(options: OpenFaasOptions = {}): Promise<OpenFaasAdapter> {
    const o = resolveOpenFaasOptions(options);
    const gw = new GatewayClient({ url: o.url, timeoutMs: o.systemTimeoutMs, ...(o.user !== undefined ? { user: o.user, password: o.password ?? '' } : {}) });
    const info = await gw.info();
    return new OpenFaasAdapter(o, gw, info);
  }

  /** How the last enforceColdStart made requests cold: `scale-to-zero`, `update`, or null before the first. */
  get coldStartMethod(): 'scale-to-zero' | 'update' | null {
    if (this.#o.coldStart !== 'auto') return this.#o.coldStart;
    return this.#scaleToZero === null ? null : this.#scaleToZero ? 'scale-to-zero' : 'update';
  }

  /** The OpenFaaS function names of a deployment: its functions and its workflows' orchestrators. */
  services(deployment: Deployment): { functions: Record<string, string>; workflows: Record<string, string>; image: string } {
    const c = this.#state(deployment);
    return { functions: Object.fromEntries(c.functions), workflows: Object.fromEntries(c.workflows), image: c.image };
  }

  // ------------------------------------------------------------------ deploy

  protected async doDeploy(deployment: Deployment, manifest: AppManifest): Promise<void> {
    const app = manifest.name;
    const functions = new Map(manifest.functions.map((f) => [f.name, serviceName(app, f.name)]));
    const workflows = new Map(Object.keys(manifest.workflows).map((w) => [w, serviceName(app, `wf-${w}`)]));
    const all = [...functions.values(), ...workflows.values()];
    if (new Set(all).size !== all.length) throw new MfError('MF_MANIFEST_INVALID', `app "${app}": two functions or workflows map to the same OpenFaaS name (${all.join(', ')})`, { app });
    for (const f of manifest.functions) {
      if (!('dir' in f.code)) throw new MfError('MF_MANIFEST_INVALID', `openfaas adapter: function "${f.name}" has inline code; only code folders ({dir}) can be built into an image`, { app, function: f.name });
    }
    const names = new Set(manifest.functions.map((f) => f.name));
    for (const [w, def] of Object.entries(manifest.workflows)) compileStateMachine(def, { name: w, functionNames: names }); // MF_ASL_* before anything exists

    // Nothing of someone else's is touched: a name already on the gateway is a conflict, not an update.
    const existing = new Set((await this.#gw.list()).map((s) => s.name));
    const taken = all.filter((n) => existing.has(n));
    if (taken.length > 0) {
      throw new MfError('MF_APP_EXISTS', `the OpenFaaS gateway already has function(s) ${taken.join(', ')}; deploy under another name (deploy(..., {name})) or remove them first`, { app, functions: taken });
    }

    const docker = await this.#engine();
    const plan = await planAppImage({
      descriptor: {
        app,
        functions: manifest.functions.map((f) => ({
          name: f.name,
          service: functions.get(f.name) as string,
          handler: f.handler,
          hostDir: (f.code as { dir: string }).dir,
          packages: f.packages ?? [],
          memoryMB: f.memoryMB ?? 256,
          timeoutSeconds: f.timeoutSeconds ?? 60,
          env: f.env ?? {},
        })),
        workflows: Object.fromEntries(Object.entries(manifest.workflows).map(([w, definition]) => [w, { service: workflows.get(w) as string, definition }])),
      },
      baseImage: await baseImage(docker),
      registry: this.#o.registry,
    });
    const labels = { 'mfbench.testbed': '1', 'mfbench.owner': this.#owner, 'mfbench.app': app };
    const created: Created = { names: all, functions, workflows, specs: new Map(), image: plan.tag, builtImage: false, generation: 0, storageKey: storageKey(deployment) };
    try {
      const grant = await this.#storage.grant(created.storageKey);
      const storageEnv = { MFBENCH_STORAGE_URL: grant.url, MFBENCH_STORAGE_TOKEN: grant.token };
      created.builtImage = await buildAppImage(docker, plan, labels);
      if (this.#o.registry !== null) await pushImage(docker, plan.tag, this.#o.registry, this.#o.registryAuth, 'OPENFAAS_REGISTRY_USER / OPENFAAS_REGISTRY_PASSWORD');
      const specs: FunctionDeployment[] = [
        ...manifest.functions.map((f) => this.#spec(app, functions.get(f.name) as string, plan.tag, { MFBENCH_ROLE: 'function', MFBENCH_FUNCTION: f.name, ...storageEnv }, f.memoryMB)),
        ...[...workflows].map(([w, svc]) => this.#spec(app, svc, plan.tag, { MFBENCH_ROLE: 'orchestrator', MFBENCH_WORKFLOW: w, MFBENCH_GATEWAY: this.#o.functionGatewayUrl })),
      ];
      for (const spec of specs) {
        created.specs.set(spec.service, spec);
        await this.#deployOne(spec);
      }
      await Promise.all(specs.map((s) => this.#waitReady(s.service)));
    } catch (err) {
      await this.#teardown(created).catch(() => undefined);
      throw err;
    }
    this.#created.set(deployment.id, created);
  }

  #spec(app: string, service: string, image: string, env: Record<string, string>, memoryMB?: number): FunctionDeployment {
    return {
      service,
      image,
      envVars: { ...env, MFBENCH_GENERATION: '0' },
      // Labels become Kubernetes labels (restricted values); the owner goes in an annotation.
      labels: { 'mfbench.testbed': '1', 'mfbench.app': app.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').slice(0, 63), 'mfbench.generation': '0' },
      annotations: { 'mfbench.owner': this.#owner },
      ...(memoryMB !== undefined ? { limits: { memory: `${memoryMB}Mi` } } : {}),
    };
  }

  async #engine(): Promise<Docker> {
    this.#docker ??= await connectDocker();
    return this.#docker;
  }

  /**
   * POST /system/functions once (a deploy is not idempotent). When the answer is lost (timeout, reset), the gateway's
   * status says whether the function exists: the name was free before, so one that exists now is ours.
   */
  async #deployOne(spec: FunctionDeployment): Promise<void> {
    try {
      await this.#gw.deploy(spec);
    } catch (err) {
      const lost = err instanceof MfError && err.code === 'MF_PLATFORM_UNREACHABLE' && err.details.status === undefined;
      if (!lost || (await this.#gw.status(spec.service)) === null) throw err;
    }
  }

  /**
   * Waits until the gateway reports an available replica and then until the function answers its health path
   * through the gateway: faasd counts a replica as available as soon as its container's task runs, before the
   * process listens. MF_SANDBOX_START_FAILED naming the function otherwise.
   */
  async #waitReady(service: string): Promise<void> {
    const deadline = now() + this.#o.readyTimeoutMs;
    let last = 'no status yet';
    while (now() < deadline) {
      const st = await this.#gw.status(service);
      const available = st !== null && (st.availableReplicas ?? 0) >= 1;
      last = st ? `replicas ${st.replicas ?? '?'}, available ${st.availableReplicas ?? 0}` : 'not listed';
      if (available) {
        const res = await this.#gw.invoke(`/function/${service}/_/health`, { method: 'GET', signal: AbortSignal.timeout(5000) }).catch(() => null);
        if (res) await res.arrayBuffer().catch(() => undefined);
        if (res?.ok && res.headers.get(EVIDENCE.container) !== null) return; // our wrapper answered, not a proxy
        last += `, but ${res ? `its health path answered ${res.status}` : 'its health path did not answer'} through the gateway`;
      }
      await sleep(150);
    }
    throw new MfError(
      'MF_SANDBOX_START_FAILED',
      `OpenFaaS function ${service} had no available replica within ${this.#o.readyTimeoutMs} ms (${last}); check that the cluster can pull its image${this.#o.registry ? '' : ' (no --registry: the cluster must see this Docker engine\'s images)'} and the function's logs (faas-cli logs ${service})`,
      { function: service, timeoutMs: this.#o.readyTimeoutMs },
    );
  }

  // ------------------------------------------------------------------ calls

  protected async doInvoke(deployment: Deployment, fn: string, input: unknown, stamps: SendStamps): Promise<HookAnswer> {
    const service = this.#state(deployment).functions.get(fn) as string;
    const { res, body, text, h } = await this.#call(service, input, stamps);
    const outcome = h[EVIDENCE.outcome];
    if (outcome !== 'ok' && outcome !== 'error') throw this.#callError(service, res.status, text, res.ok);
    const failed = outcome === 'error' ? lambdaError(text) : null;
    const record = recordFrom({
      app: deployment.app,
      function: fn,
      state: null,
      executionId: h['x-call-id'] ?? null,
      headers: h,
      sent: stamps.actualSend,
      receive: stamps.receive,
      inputBytes: Buffer.byteLength(body),
      outputBytes: Buffer.byteLength(text),
      outcome: failed ? { state: 'error', error: failed.errorType, cause: text } : { state: 'ok' },
    });
    const f = factsOf(h);
    const platform: PlatformReport = {
      executionId: f.callId,
      t: f.gatewayStart !== null ? { received: f.gatewayStart, dispatched: f.received ?? f.gatewayStart, completed: f.handlerEnd } : null,
      records: [record],
    };
    if (failed) return { platform, status: 'failed', error: failed.errorType, cause: text };
    return { platform, status: 'succeeded', output: parseOutput(text) };
  }

  protected async doExecute(deployment: Deployment, workflow: string, input: unknown, stamps: SendStamps): Promise<HookAnswer> {
    const service = this.#state(deployment).workflows.get(workflow) as string;
    const { res, text, h } = await this.#call(service, input, stamps);
    if (h[EVIDENCE.outcome] !== 'execution') throw this.#callError(service, res.status, text, res.ok);
    const env = JSON.parse(text) as OrchestratorEnvelope;
    const records: InvocationRecord[] = env.calls.map((call) =>
      recordFrom({
        app: deployment.app,
        function: call.function,
        state: call.state,
        executionId: env.executionId,
        headers: call.headers,
        sent: call.sent,
        receive: call.received,
        inputBytes: call.inputBytes,
        outputBytes: call.outputBytes,
        outcome: call.error === null ? { state: 'ok' } : { state: 'error', error: call.error, cause: '' },
      }),
    );
    const f = factsOf(h);
    const platform: PlatformReport = { executionId: env.executionId, t: { received: f.gatewayStart ?? env.started, dispatched: env.started, completed: env.completed }, records };
    if (env.result.status === 'SUCCEEDED') return { platform, status: 'succeeded', output: env.result.output };
    return { platform, status: 'failed', error: env.result.error ?? 'unknown', cause: env.result.cause ?? '' };
  }

  /** A synchronous call through the gateway, stamped around the whole request and answer. */
  async #call(service: string, input: unknown, stamps: SendStamps): Promise<{ res: Response; body: string; text: string; h: Record<string, string> }> {
    const body = JSON.stringify(input ?? null);
    stamps.actualSend = now();
    const res = await this.#gw.invoke(`/function/${service}`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
    const text = await res.text();
    stamps.receive = now();
    return { res, body, text, h: headerBag(res.headers) };
  }

  /**
   * Invokes a function asynchronously (`/async-function/<name>`): the gateway queues the request and answers 202;
   * with `callbackUrl`, the queue worker POSTs the function's answer there with X-Call-Id, X-Duration-Seconds,
   * X-Function-Status and X-Function-Name (docs.openfaas.com reference/async).
   */
  async invokeAsync(deployment: Deployment, fn: string, input: unknown, options: { callbackUrl?: string } = {}): Promise<{ callId: string | null; status: number; sent: number }> {
    if (this.closed) throw new MfError('MF_PLATFORM_CLOSED', 'openfaas adapter: invokeAsync after close()', { platform: this.platform });
    const c = this.#state(deployment);
    const service = c.functions.get(fn);
    if (service === undefined) throw new MfError('MF_FUNCTION_NOT_FOUND', `deployment "${deployment.app}" has no function "${fn}"`, { app: deployment.app, function: fn });
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (options.callbackUrl !== undefined) headers['X-Callback-Url'] = options.callbackUrl;
    const sent = now();
    const res = await this.#gw.invoke(`/async-function/${service}`, { method: 'POST', body: JSON.stringify(input ?? null), headers });
    const text = await res.text();
    if (res.status !== 202) throw this.#callError(service, res.status, text, false);
    return { callId: res.headers.get('x-call-id'), status: res.status, sent };
  }

  #callError(service: string, status: number, text: string, ok: boolean): MfError {
    if (status === 404) return new MfError('MF_FUNCTION_NOT_FOUND', `the OpenFaaS gateway has no function ${service} (404: ${text.trim().slice(0, 200)})`, { function: service, status });
    if (ok) return new MfError('MF_INTERNAL', `${service} answered without the mfbench wrapper's headers: not a function this adapter built`, { function: service, status });
    return new MfError('MF_PLATFORM_UNREACHABLE', `the OpenFaaS gateway answered ${status} for ${service}: ${text.trim().slice(0, 300)}`, { function: service, status });
  }

  // ------------------------------------------------------------------ cold starts

  protected async doEnforceColdStart(deployment: Deployment): Promise<void> {
    const c = this.#state(deployment);
    await Promise.all([...c.specs.keys()].map((service) => this.#coldOne(c, service)));
  }

  async #coldOne(c: Created, service: string): Promise<void> {
    const method = this.#o.coldStart;
    if (method !== 'update' && this.#scaleToZero !== false) {
      await this.#gw.scale(service, 0);
      const st = await this.#gw.status(service);
      if (st !== null && st.replicas === 0) {
        this.#scaleToZero = true;
        await this.#until(service, async () => ((await this.#gw.status(service))?.availableReplicas ?? 0) === 0, 'to scale to zero');
        return;
      }
      this.#scaleToZero = false; // the Community Edition clamps to 1: replace the replicas instead
      if (method === 'scale-to-zero') {
        throw new MfError('MF_CONFIG_INVALID', `the OpenFaaS gateway at ${this.#gw.url} refuses to scale ${service} to zero (it kept ${st?.replicas ?? '?'} replicas); use coldStart "auto" or "update"`, { option: 'coldStart', function: service });
      }
    }
    const spec = c.specs.get(service) as FunctionDeployment;
    const generation = String(++c.generation);
    const updated: FunctionDeployment = { ...spec, envVars: { ...spec.envVars, MFBENCH_GENERATION: generation }, labels: { ...spec.labels, 'mfbench.generation': generation } };
    await this.#gw.update(updated);
    c.specs.set(service, updated);
    // The provider replaces the replicas; the old one may serve until the new is ready. Wait until the new
    // generation answers the health path (not the handler, so the next request is still the container's first).
    let streak = 0;
    await this.#until(
      service,
      async () => {
        const res = await this.#gw.invoke(`/function/${service}/_/health`, { method: 'GET' }).catch(() => null);
        if (res) await res.arrayBuffer();
        streak = res?.ok && res.headers.get(EVIDENCE.generation) === generation ? streak + 1 : 0;
        return streak >= 2;
      },
      `to serve generation ${generation} after the update`,
    );
  }

  async #until(service: string, done: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = now() + this.#o.readyTimeoutMs;
    while (!(await done())) {
      if (now() > deadline) throw new MfError('MF_SANDBOX_START_FAILED', `OpenFaaS function ${service} did not manage ${what} within ${this.#o.readyTimeoutMs} ms`, { function: service });
      await sleep(100);
    }
  }

  // ------------------------------------------------------------------ metrics, removal

  protected async doCollectMetrics(): Promise<OpenFaasMetrics> {
    const at = now();
    const ours = new Map<string, { app: string; function: string }>();
    for (const d of this.deployments) {
      const c = this.#created.get(d.id);
      if (!c) continue;
      for (const [fn, svc] of c.functions) ours.set(svc, { app: d.app, function: fn });
      for (const [wf, svc] of c.workflows) ours.set(svc, { app: d.app, function: `orchestrator:${wf}` });
    }
    const listed = await this.#gw.list().catch(() => []);
    const replicas: OpenFaasMetrics['replicas'] = [];
    const sandboxes: ResourceSnapshot['sandboxes'] = [];
    for (const [svc, who] of ours) {
      const st = listed.find((s) => s.name === svc);
      replicas.push({ app: who.app, function: svc, replicas: st?.replicas ?? null, available: st?.availableReplicas ?? null, invocationCount: st?.invocationCount ?? null });
      for (let i = 0; i < (st?.availableReplicas ?? 0); i++) sandboxes.push({ app: who.app, id: `${svc}/${i}`, agentPid: null, rootPid: null });
    }
    return { at, sandboxes, processes: [], replicas, gateway: await this.#gatewayMetrics(new Set(ours.keys())) };
  }

  async #gatewayMetrics(services: ReadonlySet<string>): Promise<GatewayMetrics | null> {
    let text: string;
    try {
      const res = await fetch(this.#o.metricsUrl, { signal: AbortSignal.timeout(3000) });
      if (!res.ok) return null;
      text = await res.text();
    } catch {
      return null;
    }
    // Newer gateways name functions `<name>.<namespace>`.
    const ours = (label: string | undefined) => (label === undefined ? null : services.has(label) ? label : services.has(label.split('.')[0] ?? '') ? (label.split('.')[0] as string) : null);
    const out: GatewayMetrics = { invocations: [], seconds: [] };
    const seconds = new Map<string, { count: number; sum: number }>();
    for (const s of parsePrometheus(text)) {
      const fn = ours(s.labels.function_name);
      if (fn === null) continue;
      if (s.name === 'gateway_function_invocation_total') out.invocations.push({ function: fn, code: s.labels.code ?? '', count: s.value });
      else if (s.name === 'gateway_functions_seconds_count' || s.name === 'gateway_functions_seconds_sum') {
        const e = seconds.get(fn) ?? { count: 0, sum: 0 };
        if (s.name.endsWith('_count')) e.count += s.value;
        else e.sum += s.value;
        seconds.set(fn, e);
      }
    }
    for (const [fn, e] of seconds) out.seconds.push({ function: fn, ...e });
    return out;
  }

  protected async doRemove(deployment: Deployment): Promise<void> {
    const c = this.#created.get(deployment.id);
    this.#created.delete(deployment.id);
    if (c) await this.#teardown(c);
  }

  /**
   * Deletes the functions and the image tag of `c` (what this adapter created), reconciling with what the gateway
   * lists rather than with what it answered: a provider can answer an error after it created a function (faasd's
   * deploy when the task or its network fails), or a deploy's answer can be lost. The names were free before the
   * deploy, so everything listed under them is ours; the teardown is done when the list shows none of them.
   */
  async #teardown(c: Created): Promise<void> {
    const left: string[] = [];
    const names = new Set(c.names);
    const listed = async () => (await this.#gw.list()).map((s) => s.name).filter((n) => names.has(n));
    try {
      await Promise.all(
        (await listed()).map(async (svc) => {
          try {
            await this.#gw.delete(svc);
            await this.#until(svc, async () => (await this.#gw.status(svc)) === null, 'to be deleted');
          } catch {
            // the list below says whether it is still there
          }
        }),
      );
      left.push(...(await listed()));
    } catch (err) {
      left.push(`the functions ${c.names.join(', ')} (the gateway could not list them: ${err instanceof Error ? err.message : String(err)})`);
    }
    // Our functions are gone by now, so an image still in use is held by another owner's containers: left for them.
    if (c.builtImage && this.#docker && (await removeImage(this.#docker, c.image)) === 'failed') left.push(`image ${c.image}`);
    await this.#storage.revoke(c.storageKey).catch(() => left.push(`the storage of ${c.storageKey}`));
    if (left.length > 0) throw new MfError('MF_PLATFORM_UNREACHABLE', `openfaas adapter: could not remove ${left.join(', ')}`, { left });
  }

  protected async doClose(): Promise<void> {
    // fetch's connections close with the process and the Docker client is stateless; the storage service is ours.
    await this.#storage.close();
  }

  #state(deployment: Deployment): Created {
    const c = this.#created.get(deployment.id);
    if (!c) throw new MfError('MF_APP_NOT_FOUND', `openfaas adapter: no functions recorded for "${deployment.app}"`, { app: deployment.app });
    return c;
  }
}

function parseOutput(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function lambdaError(text: string): { errorType: string; errorMessage: string } {
  try {
    const e = JSON.parse(text) as { errorType?: unknown; errorMessage?: unknown };
    return { errorType: typeof e.errorType === 'string' ? e.errorType : 'Error', errorMessage: typeof e.errorMessage === 'string' ? e.errorMessage : '' };
  } catch {
    return { errorType: 'Error', errorMessage: text.slice(0, 300) };
  }
}
