/**
 * The Apache OpenWhisk adapter: deploys a workload to an OpenWhisk controller through its REST API (the official
 * `openwhisk` client) and measures it from the activation records OpenWhisk keeps (docs/platforms.md, "OpenWhisk").
 *
 * - An app is one OpenWhisk package; each function is a zipped `nodejs:20` action whose generated `main(params)`
 *   wraps the Lambda-style handler (package.ts), or, when its zip is over the stock runtime's 48 MB /init limit, a
 *   Docker ("blackbox") action whose image carries the same files (blackbox.ts); a workflow is a sequence action when it is a plain chain of Tasks,
 *   and a conductor action running our ASL engine otherwise (conductor.ts).
 * - Calls are blocking invocations; when OpenWhisk turns one into 202 after its blocking limit, the activation is
 *   polled until its record exists. Records come from the activation records: `start`, `end`, `waitTime`,
 *   `initTime` (present = a container was initialised = cold), and for sequences and conductors the component
 *   activations named in `logs`.
 */
import { randomUUID } from 'node:crypto';
import openwhisk from 'openwhisk';
import { compileStateMachine } from '../../platform/asl/index.js';
import { functionNameFromRef } from '../../platform/asl/resource.js';
import { now } from '../../platform/clock.js';
import { MfError } from '../../platform/errors.js';
import type { AppManifest, FunctionManifest } from '../../platform/manifest.js';
import type { ExecutionTimestamps, InvocationRecord } from '../../platform/records.js';
import { describeStorageHost, StorageHost, storageKey } from '../storage-host.js';
import type { StorageGrant } from '../../platform/storage/service-protocol.js';
import { BaseAdapter, type Deployment, type HookAnswer, type PlatformReport, type ResourceSnapshot, type SendStamps } from '../types.js';
import { resolveOpenWhiskOptions, type OpenWhiskOptions, type ResolvedOpenWhiskOptions } from './config.js';
import { conductorZip, functionEntries } from './package.js';
import { buildActionImage, planActionImage } from './blackbox.js';
import { zip } from './zip.js';
import { connectDocker, type Docker } from '../../platform/sandbox/docker/engine.js';
import { baseImage, pushImage, removeImage } from '../images.js';
import type { FunctionStorage } from '../../platform/storage/client.js';
import { remoteStorage } from '../../platform/storage/remote.js';
import { putAction } from './put-action.js';
import { EVENT_KEY, INLINE_MAX_BYTES, REF_KEY, SPILL_PREFIX, failureOf, metaOf, outputOf, refOf } from './wire.js';
import { setTimeout as sleep } from 'node:timers/promises';

export { resolveOpenWhiskOptions, type OpenWhiskOptions, type ResolvedOpenWhiskOptions } from './config.js';

/** An activation record as the REST API returns it (apache/openwhisk docs/reference.md, "Activation record"). */
export interface OwActivation {
  activationId: string;
  name: string;
  namespace: string;
  start: number;
  end: number;
  duration?: number;
  response?: { status: string; success: boolean; result?: unknown };
  logs?: string[];
  annotations?: Array<{ key: string; value: unknown }>;
  cause?: string;
}

interface OwKeyValue {
  key: string;
  value: unknown;
}

/** The body of PUT /actions/{name}. */
interface ActionBody {
  exec: { kind: string; code?: string; binary?: boolean; image?: string; components?: string[] };
  limits?: { timeout?: number; memory?: number; concurrency?: number };
  annotations: OwKeyValue[];
  parameters: OwKeyValue[];
}

interface WorkflowPlan {
  action: string;
  kind: 'sequence' | 'conductor';
  /** Sequence: the Task state of each component, in order. */
  states: string[];
}

interface AppState {
  pkg: string;
  /** Everything this adapter created for the app, in creation order. */
  created: Array<{ type: 'package' | 'action'; name: string }>;
  /** Code actions (functions and conductors): name -> the body deployed, resent by enforceColdStart. */
  codeActions: Map<string, ActionBody>;
  workflows: Map<string, WorkflowPlan>;
  functions: Set<string>;
  generation: number;
  /** The app's storage, through which payloads over OpenWhisk's activation limit travel (wire.ts). */
  storage: FunctionStorage;
  /** How each function is packaged: a zip, or a blackbox image when its zip is over the runtime's /init limit. */
  packaging: Map<string, Packaging>;
}

/** A function action's packaging: `zip` for the stock runtime, or the blackbox image it runs from (blackbox.ts). */
export type Packaging = { kind: 'zip'; codeBytes: number } | { kind: 'blackbox'; codeBytes: number; image: string; built: boolean; pushed: boolean };

/** The narrow view of the `openwhisk` client this adapter uses. */
interface OwClient {
  namespaces: { list(): Promise<string[]> };
  packages: {
    create(o: { name: string; package: Record<string, unknown> }): Promise<unknown>;
    delete(o: { name: string }): Promise<unknown>;
  };
  actions: {
    delete(o: { name: string }): Promise<unknown>;
    invoke(o: { name: string; blocking: boolean; params: Record<string, unknown> }): Promise<Partial<OwActivation>>;
  };
  activations: {
    get(o: { name: string }): Promise<OwActivation>;
    list(o: Record<string, unknown>): Promise<OwActivation[]>;
  };
}

/** An error the `openwhisk` client threw: HTTP status and body when the API answered. */
interface ClientError {
  message?: string;
  statusCode?: number;
  error?: unknown;
}

export interface OpenWhiskDescription {
  platform: 'openwhisk';
  apihost: string;
  namespace: string;
  kind: string;
  ignoreCerts: boolean;
  [key: string]: unknown;
}

const APP_ANNOTATION = 'mfbench-app';
const GENERATION_ANNOTATION = 'mfbench-generation';
const WORKFLOW_PREFIX = 'wf.';
/** The default parameter that carries an app's storage grant to its actions (package.ts reads it). */
const STORAGE_PARAM = '__mf_storage';
/** The fields a Task may have and still be an OpenWhisk sequence component (anything else needs the engine). */
const PLAIN_TASK_FIELDS = new Set(['Type', 'Resource', 'Next', 'End', 'Comment']);


/**
 * The stock Node.js runtime's action proxy parses /init with express.json({limit: '48mb'}) and answers any larger
 * body 500 "Bad request.", whatever the deployment's code-size limit (apache/openwhisk-runtime-nodejs app.js). The
 * /init body is the base64 code plus a few hundred bytes of JSON (name, main, env); this margin covers them.
 */
export const RUNTIME_INIT_LIMIT_BYTES = 48 * 1024 * 1024;
const INIT_ENVELOPE_BYTES = 4096;

/** The annotation that says how a function action is packaged: `zip` or `blackbox` (an image; blackbox.ts). */
const PACKAGING_ANNOTATION = 'mfbench-packaging';
const base64Length = (bytes: number) => 4 * Math.ceil(bytes / 3);
const fitsInitLimit = (codeBytes: number) => codeBytes + INIT_ENVELOPE_BYTES <= RUNTIME_INIT_LIMIT_BYTES;

/**
 * A conductor zip the stock runtime cannot initialise is refused before anything is created, saying what to do (it
 * carries only our engine, a few hundred kB: reaching this means something is badly wrong with the build).
 */
function refuseOverInitLimit(app: string, action: string, code: string): void {
  if (fitsInitLimit(code.length)) return;
  const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
  throw new MfError(
    'MF_PAYLOAD_TOO_LARGE',
    `OpenWhisk: action ${app}/${action} is ${mb(code.length)} of base64 code; OpenWhisk's stock Node.js runtime refuses an /init body over ${mb(RUNTIME_INIT_LIMIT_BYTES)} ("Bad request.") whatever the deployment's code-size limit, so it cannot run as a zip action; a conductor carries only the compiled ASL engine, so check that dist/ holds only this build's output (npm run build) (docs/platforms.md, "Large actions")`,
    { platform: 'openwhisk', app, action, codeBytes: code.length, limitBytes: RUNTIME_INIT_LIMIT_BYTES },
  );
}

function annotationsOf(a: OwActivation): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of a.annotations ?? []) out[kv.key] = kv.value;
  return out;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * A workflow that is a plain chain of Task states (StartAt -> Next -> ... -> End, every state a Task with only a
 * Resource naming one of the app's functions) runs as an OpenWhisk sequence: returns the states in order, else null.
 */
export function linearChain(definition: unknown, functions: ReadonlySet<string>): Array<{ state: string; fn: string }> | null {
  if (typeof definition !== 'object' || definition === null) return null;
  const def = definition as Record<string, unknown>;
  if (Object.keys(def).some((k) => !['StartAt', 'States', 'Comment', 'Version'].includes(k))) return null;
  const states = def.States as Record<string, Record<string, unknown>> | undefined;
  if (typeof def.StartAt !== 'string' || typeof states !== 'object' || states === null) return null;
  const chain: Array<{ state: string; fn: string }> = [];
  let name: string | undefined = def.StartAt;
  const seen = new Set<string>();
  while (name !== undefined) {
    const s: Record<string, unknown> | undefined = states[name];
    if (s === undefined || seen.has(name) || s.Type !== 'Task' || Object.keys(s).some((k) => !PLAIN_TASK_FIELDS.has(k))) return null;
    const fn = typeof s.Resource === 'string' && !s.Resource.startsWith('arn:aws:states:') ? functionNameFromRef(s.Resource) : null;
    if (fn === null || !functions.has(fn)) return null;
    seen.add(name);
    chain.push({ state: name, fn });
    if (s.End === true) name = undefined;
    else if (typeof s.Next === 'string') name = s.Next;
    else return null;
  }
  return seen.size === Object.keys(states).length ? chain : null;
}

export class OpenWhiskAdapter extends BaseAdapter {
  readonly platform = 'openwhisk';
  readonly description: Readonly<OpenWhiskDescription>;
  readonly #o: ResolvedOpenWhiskOptions;
  readonly #client: OwClient;
  readonly #host: string;
  readonly #apps = new Map<number, AppState>();
  /** Activation records fetched by `fetchActivations` (id -> record), kept for later analysis. */
  readonly #activations = new Map<string, OwActivation>();
  readonly #createdAt = Date.now();
  /** Serves context.storage to the functions (started at the first deploy). */
  readonly #storage: StorageHost;
  /** The Docker engine that builds blackbox images, connected at the first action that needs one. */
  #docker: Docker | null = null;

  private constructor(o: ResolvedOpenWhiskOptions, client: OwClient) {
    super();
    this.#o = o;
    this.#client = client;
    this.#host = new URL(o.apihost).hostname;
    this.#storage = new StorageHost(o.storage);
    this.description = Object.freeze({ platform: 'openwhisk', apihost: o.apihost, namespace: o.namespace, kind: o.kind, ignoreCerts: o.ignoreCerts, registry: o.registry, storage: describeStorageHost(o.storage) });
  }

  /**
   * Resolves the options, connects, and checks that the host is an OpenWhisk API, the key is accepted and (when the
   * controller lists its runtimes) the kind exists there: every configuration error is reported here, typed.
   */
  static async create(options: OpenWhiskOptions = {}, env: Record<string, string | undefined> = process.env): Promise<OpenWhiskAdapter> {
    const o = resolveOpenWhiskOptions(options, env);
    const client = openwhisk({ apihost: o.apihost, api_key: o.auth, namespace: o.namespace === '_' ? undefined : o.namespace, ignore_certs: o.ignoreCerts }) as unknown as OwClient;
    const adapter = new OpenWhiskAdapter(o, client);
    const namespaces = await adapter.#call('GET /api/v1/namespaces (checking the host and the key)', () => client.namespaces.list());
    if (o.namespace !== '_' && Array.isArray(namespaces) && !namespaces.includes(o.namespace)) {
      throw new MfError('MF_UNAUTHORIZED', `this key cannot use namespace "${o.namespace}" on ${o.apihost} (its namespaces: ${namespaces.join(', ')}). Check --namespace / __OW_NAMESPACE`, {
        option: 'namespace',
        platform: 'openwhisk',
      });
    }
    await adapter.#checkKind();
    return adapter;
  }

  /** Every activation of this adapter's apps since it was created, fetched in bulk (200 a page), newest last. */
  async fetchActivations(): Promise<OwActivation[]> {
    const pkgs = new Set([...this.#apps.values()].map((a) => a.pkg));
    const out: OwActivation[] = [];
    for (let skip = 0; ; skip += 200) {
      const page = await this.#call('GET /activations', () => this.#client.activations.list({ docs: true, limit: 200, skip, since: this.#createdAt - 1000 }));
      for (const a of page) {
        this.#activations.set(a.activationId, a);
        const path = String(annotationsOf(a).path ?? '');
        if (pkgs.size === 0 || pkgs.has(path.split('/')[1] ?? '')) out.push(a);
      }
      if (page.length < 200) break;
    }
    return out.sort((a, b) => a.start - b.start);
  }

  /** Activation records seen so far (by invocations and by fetchActivations), by id. */
  get activations(): ReadonlyMap<string, OwActivation> {
    return this.#activations;
  }

  // ------------------------------------------------------------------ hooks

  protected async doDeploy(deployment: Deployment, manifest: AppManifest): Promise<void> {
    const pkg = manifest.name;
    const functions = new Set(manifest.functions.map((f) => f.name));
    const grant = await this.#storage.grant(storageKey(deployment));
    try {
      await this.#deployApp(deployment, manifest, pkg, functions, grant);
    } catch (err) {
      await this.#storage.revoke(storageKey(deployment)).catch(() => undefined);
      throw err;
    }
  }

  async #deployApp(deployment: Deployment, manifest: AppManifest, pkg: string, functions: Set<string>, grant: StorageGrant): Promise<void> {
    // Build and check everything first: a bad handler or workflow fails before anything exists on OpenWhisk.
    const actions: Array<{ name: string; body: ActionBody; code: boolean }> = [];
    const packaging = new Map<string, Packaging>();
    try {
      for (const fn of manifest.functions) {
        const { body, packaging: p } = await this.#functionBody(pkg, fn, grant);
        packaging.set(fn.name, p);
        actions.push({ name: `${pkg}/${fn.name}`, body, code: true });
      }
    } catch (err) {
      await this.#removeImages(packaging);
      throw err;
    }
    const workflows = new Map<string, WorkflowPlan>();
    for (const [wf, definition] of Object.entries(manifest.workflows)) {
      compileStateMachine(definition, { name: wf, functionNames: functions }); // MF_ASL_INVALID / MF_ASL_UNSUPPORTED
      const action = `${pkg}/${WORKFLOW_PREFIX}${wf}`;
      const chain = linearChain(definition, functions);
      if (chain !== null) {
        workflows.set(wf, { action, kind: 'sequence', states: chain.map((c) => c.state) });
        const components = chain.map((c) => `/${this.#o.namespace}/${pkg}/${c.fn}`);
        actions.push({ name: action, body: { exec: { kind: 'sequence', components }, annotations: this.#annotations(pkg, null), parameters: [] }, code: false });
      } else {
        workflows.set(wf, { action, kind: 'conductor', states: [] });
        const code = (await conductorZip({ workflow: wf, definition, package: pkg, storage: grant })).toString('base64');
        refuseOverInitLimit(pkg, `${WORKFLOW_PREFIX}${wf}`, code);
        actions.push({
          name: action,
          body: { exec: { kind: this.#o.kind, code, binary: true }, limits: { timeout: 60_000, memory: 256 }, annotations: [{ key: 'conductor', value: true }, ...this.#annotations(pkg, 0)], parameters: [] },
          code: true,
        });
      }
    }
    const state: AppState = { pkg, created: [], codeActions: new Map(), workflows, functions, generation: 0, storage: remoteStorage(grant), packaging };
    try {
      await this.#call(`PUT /packages/${pkg}`, () => this.#client.packages.create({ name: pkg, package: { annotations: this.#annotations(pkg, null), parameters: [] } }));
      state.created.push({ type: 'package', name: pkg });
      for (const a of actions) {
        await this.#call(`PUT /actions/${a.name}`, () => putAction(this.#o, a.name, a.body, false));
        state.created.push({ type: 'action', name: a.name });
        if (a.code) state.codeActions.set(a.name, a.body);
      }
    } catch (err) {
      await this.#undo(state.created).catch(() => undefined);
      await this.#removeImages(packaging);
      if (err instanceof MfError && err.code === 'MF_APP_EXISTS' && state.created.length === 0) {
        throw new MfError('MF_APP_EXISTS', `OpenWhisk already has a package "${pkg}" in namespace ${this.#o.namespace}: remove it (wsk package delete ${pkg}, after its actions) or deploy under another name`, {
          app: pkg,
          platform: 'openwhisk',
        });
      }
      throw err;
    }
    this.#apps.set(deployment.id, state);
  }

  protected async doInvoke(deployment: Deployment, fn: string, input: unknown, stamps: SendStamps): Promise<HookAnswer> {
    const app = this.#app(deployment);
    const a = await this.#blocking(app, `${app.pkg}/${fn}`, input, stamps);
    const record = this.#record(a, deployment.app, fn, null, a.activationId, Buffer.byteLength(JSON.stringify(input ?? null)));
    const platform: PlatformReport = { executionId: a.activationId, t: this.#times(a), records: record ? [record] : [] };
    return this.#answer(app, platform, a);
  }

  protected async doExecute(deployment: Deployment, workflow: string, input: unknown, stamps: SendStamps): Promise<HookAnswer> {
    const app = this.#app(deployment);
    const plan = app.workflows.get(workflow) as WorkflowPlan;
    const primary = await this.#blocking(app, plan.action, input, stamps);
    const records = await this.#componentRecords(deployment, app, plan, primary, Buffer.byteLength(JSON.stringify(input ?? null)));
    return this.#answer(app, { executionId: primary.activationId, t: this.#times(primary), records }, primary);
  }

  /**
   * Updates every code action of the app (a new `mfbench-generation` annotation, the rest resent as deployed): an
   * updated action gets a new revision, and OpenWhisk never runs a new revision in an old revision's container, so
   * the next activation initialises a container. The records verify it: `initTime` is present on the next call.
   */
  protected async doEnforceColdStart(deployment: Deployment): Promise<void> {
    const app = this.#app(deployment);
    app.generation++;
    await Promise.all(
      [...app.codeActions].map(([name, body]) => {
        const annotations = body.annotations.map((kv) => (kv.key === GENERATION_ANNOTATION ? { key: kv.key, value: app.generation } : kv));
        const next = { ...body, annotations };
        app.codeActions.set(name, next);
        return this.#call(`PUT /actions/${name}?overwrite=true`, () => putAction(this.#o, name, next, true));
      }),
    );
  }

  /**
   * OpenWhisk shows no containers through its API, so `sandboxes` lists the containers (as identified by our
   * wrapper) that served one of this adapter's activations within the keep-alive window: an estimate of what is
   * warm. The activation records themselves are fetched in bulk and kept (`activations`, `fetchActivations()`).
   */
  protected async doCollectMetrics(): Promise<ResourceSnapshot> {
    const at = now();
    const activations = await this.fetchActivations();
    const appOf = new Map([...this.#apps.values()].map((a) => [a.pkg, a.pkg]));
    const latest = new Map<string, { app: string; end: number }>();
    for (const a of activations) {
      const meta = metaOf(a.response?.result);
      const app = appOf.get(String(annotationsOf(a).path ?? '').split('/')[1] ?? '');
      if (meta === null || app === undefined) continue;
      const prev = latest.get(meta.container);
      if (prev === undefined || prev.end < a.end) latest.set(meta.container, { app, end: a.end });
    }
    const sandboxes = [...latest]
      .filter(([, v]) => Date.now() - v.end < this.#o.keepAliveMs)
      .map(([id, v]) => ({ app: v.app, id, agentPid: null, rootPid: null }));
    return { at, sandboxes, processes: [] };
  }

  protected async doRemove(deployment: Deployment): Promise<void> {
    const app = this.#apps.get(deployment.id);
    if (app === undefined) return;
    this.#apps.delete(deployment.id);
    await this.#undo(app.created);
    await this.#storage.revoke(storageKey(deployment));
    const left = await this.#removeImages(app.packaging);
    if (left.length > 0) throw new MfError('MF_PLATFORM_UNREACHABLE', `OpenWhisk: the app is removed, but the Docker engine did not remove its blackbox image(s) ${left.join(', ')}`, { platform: 'openwhisk', images: left });
  }

  protected async doClose(): Promise<void> {
    // The client holds no connection open between requests; the storage service is ours to stop.
    await this.#storage.close();
  }

  // ------------------------------------------------------------------ internals

  #app(deployment: Deployment): AppState {
    const app = this.#apps.get(deployment.id);
    if (app === undefined) throw new MfError('MF_APP_NOT_FOUND', `openwhisk adapter: no state for "${deployment.app}"`, { app: deployment.app });
    return app;
  }

  #annotations(app: string, generation: number | null): OwKeyValue[] {
    const out: OwKeyValue[] = [{ key: APP_ANNOTATION, value: app }];
    if (generation !== null) out.push({ key: GENERATION_ANNOTATION, value: generation });
    return out;
  }

  /** How each function of a deployed app is packaged (zip or blackbox image), for the run's records and logs. */
  packaging(deployment: Deployment): ReadonlyMap<string, Packaging> {
    return this.#app(deployment).packaging;
  }

  async #engine(): Promise<Docker> {
    this.#docker ??= await connectDocker();
    return this.#docker;
  }

  /** Removes the blackbox images this adapter built; returns those the engine would not remove (in use is fine). */
  async #removeImages(packaging: ReadonlyMap<string, Packaging>): Promise<string[]> {
    const left: string[] = [];
    for (const p of packaging.values()) if (p.kind === 'blackbox' && p.built && this.#docker && (await removeImage(this.#docker, p.image)) === 'failed') left.push(p.image);
    return left;
  }

  /**
   * A function's action: a zip for the stock Node.js runtime when its /init body fits the runtime's 48 MB limit, else
   * a blackbox action whose image carries the same files (blackbox.ts), built here and pushed when a registry is set.
   */
  async #functionBody(app: string, fn: FunctionManifest, storage: StorageGrant): Promise<{ body: ActionBody; packaging: Packaging }> {
    const limits: ActionBody['limits'] = { concurrency: 1 };
    if (fn.memoryMB !== undefined) limits.memory = fn.memoryMB;
    if (fn.timeoutSeconds !== undefined) limits.timeout = Math.round(fn.timeoutSeconds * 1000);
    // A default parameter reaches the action on every activation, also as a sequence or conductor component.
    const parameters = [...Object.entries(fn.env ?? {}).map(([key, value]) => ({ key, value })), { key: STORAGE_PARAM, value: storage }];
    const entries = functionEntries(fn);
    const archive = await zip(entries);
    const codeBytes = base64Length(archive.length);
    const description = { key: 'description', value: `mfbench function ${fn.name} (${fn.handler})` };
    if (fitsInitLimit(codeBytes)) {
      const body = { exec: { kind: this.#o.kind, code: archive.toString('base64'), binary: true }, limits, annotations: [...this.#annotations(app, 0), description, { key: PACKAGING_ANNOTATION, value: 'zip' }], parameters };
      return { body, packaging: { kind: 'zip', codeBytes } };
    }
    let docker: Docker;
    try {
      docker = await this.#engine();
    } catch (err) {
      const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
      throw new MfError(
        'MF_DOCKER_UNAVAILABLE',
        `OpenWhisk: action ${app}/${fn.name} is ${mb(codeBytes)} of base64 code, over the stock Node.js runtime's ${mb(RUNTIME_INIT_LIMIT_BYTES)} /init limit, so it runs as a blackbox action whose image this host builds; that needs a Docker engine here: ${err instanceof Error ? err.message : String(err)} (docs/platforms.md, "Large actions")`,
        { platform: 'openwhisk', app, action: fn.name, codeBytes, limitBytes: RUNTIME_INIT_LIMIT_BYTES },
        { cause: err },
      );
    }
    const plan = planActionImage({ pkg: app, fn: fn.name, entries, zip: archive, baseImage: await baseImage(docker), registry: this.#o.registry });
    const built = await buildActionImage(docker, plan, { 'mfbench.testbed': '1', 'mfbench.app': app, 'mfbench.function': fn.name });
    const packaging: Packaging = { kind: 'blackbox', codeBytes, image: plan.tag, built, pushed: false };
    if (this.#o.registry !== null) {
      try {
        await pushImage(docker, plan.tag, this.#o.registry, this.#o.registryAuth, 'OPENWHISK_REGISTRY_USER / OPENWHISK_REGISTRY_PASSWORD');
      } catch (err) {
        await this.#removeImages(new Map([[fn.name, packaging]]));
        throw err;
      }
      packaging.pushed = true;
    }
    const body = { exec: { kind: 'blackbox', image: plan.tag }, limits, annotations: [...this.#annotations(app, 0), description, { key: PACKAGING_ANNOTATION, value: 'blackbox' }], parameters };
    return { body, packaging };
  }

  /** Deletes entities in reverse creation order; a missing one is fine; throws after trying all if any failed. */
  async #undo(created: ReadonlyArray<{ type: 'package' | 'action'; name: string }>): Promise<void> {
    let first: unknown = null;
    for (const e of [...created].reverse()) {
      try {
        if (e.type === 'action') await this.#client.actions.delete({ name: e.name });
        else await this.#client.packages.delete({ name: e.name });
      } catch (err) {
        if ((err as ClientError).statusCode !== 404) first ??= err;
      }
    }
    if (first !== null) throw this.#mapError(first, 'removing the app');
  }

  /** Runs a client call, turning its failures into typed errors that say what to fix. */
  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.#mapError(err, what);
    }
  }

  #mapError(err: unknown, what: string): MfError {
    if (err instanceof MfError) return err;
    const e = err as ClientError;
    const host = this.#o.apihost;
    const body = e.error as { error?: unknown } | undefined;
    const said = typeof body?.error === 'string' ? body.error : (e.message ?? String(err));
    const details = { platform: 'openwhisk', apihost: host, status: e.statusCode ?? null, request: what };
    switch (e.statusCode) {
      case undefined:
        return new MfError('MF_PLATFORM_UNREACHABLE', `cannot reach OpenWhisk at ${host} (${what}): ${said}. Check --url / __OW_API_HOST (and --ignore-certs for a self-signed certificate)`, details, { cause: err });
      case 401:
        return new MfError('MF_UNAUTHORIZED', `OpenWhisk at ${host} refused the key (401: ${said}). Check --token / __OW_API_KEY: it must be the namespace's uuid:key (wsk property get --auth)`, details, { cause: err });
      case 403:
        return new MfError('MF_UNAUTHORIZED', `OpenWhisk at ${host} does not let this key use namespace "${this.#o.namespace}" (403: ${said}). Check --namespace / __OW_NAMESPACE`, details, { cause: err });
      case 404:
        if (what.startsWith('GET /api/v1/namespaces')) return new MfError('MF_CONFIG_INVALID', `${host} answers, but not as an OpenWhisk API (404 on /api/v1/namespaces). Check --url / __OW_API_HOST`, { ...details, option: 'apihost' }, { cause: err });
        return new MfError('MF_APP_NOT_FOUND', `OpenWhisk has no such entity (${what}): ${said}`, details, { cause: err });
      case 400:
        return new MfError('MF_CONFIG_INVALID', `OpenWhisk rejected ${what} (400): ${said}`, details, { cause: err });
      case 409:
        return new MfError('MF_APP_EXISTS', `OpenWhisk: ${what} conflicts with an existing entity (409: ${said})`, details, { cause: err });
      case 413:
        return new MfError('MF_PAYLOAD_TOO_LARGE', `OpenWhisk: ${what} is larger than the controller accepts (413: ${said})`, details, { cause: err });
      default:
        return new MfError('MF_PLATFORM_UNREACHABLE', `OpenWhisk at ${host} failed ${what} (HTTP ${e.statusCode}: ${said})`, details, { cause: err });
    }
  }

  /** When the controller lists its runtimes (GET / on the API host), refuse a kind it does not have. */
  async #checkKind(): Promise<void> {
    let info: { runtimes?: Record<string, Array<{ kind?: string }>> };
    try {
      const res = await fetch(`${this.#o.apihost}/`, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) return;
      info = (await res.json()) as typeof info;
    } catch {
      return; // not offered, or TLS we cannot check here: the deploy will say it if the kind is wrong
    }
    if (typeof info.runtimes !== 'object' || info.runtimes === null) return;
    const kinds = Object.values(info.runtimes).flatMap((list) => (Array.isArray(list) ? list.map((r) => r.kind).filter((k): k is string => typeof k === 'string') : []));
    if (kinds.length > 0 && this.#o.kind !== 'nodejs:default' && !kinds.includes(this.#o.kind)) {
      const node = kinds.filter((k) => k.startsWith('nodejs:'));
      throw new MfError('MF_CONFIG_INVALID', `OpenWhisk at ${this.#o.apihost} has no runtime kind "${this.#o.kind}"; its Node.js kinds are ${node.join(', ') || 'none'}: pass one with --kind`, {
        option: 'kind',
        platform: 'openwhisk',
        kinds,
      });
    }
  }

  /**
   * A blocking invocation with the event in our envelope. 200 and 502 carry the activation record; 202 (the
   * blocking limit passed) carries only its id, and the record is polled until OpenWhisk has stored it.
   */
  async #blocking(app: AppState, action: string, input: unknown, stamps: SendStamps): Promise<OwActivation> {
    let answer: Partial<OwActivation>;
    // An input over the activation payload limit goes through the app's storage (wire.ts), before the clock starts.
    const params = JSON.stringify(input ?? null).length > INLINE_MAX_BYTES ? { [REF_KEY]: await this.#spill(app, input) } : { [EVENT_KEY]: input };
    stamps.actualSend = now();
    try {
      answer = await this.#client.actions.invoke({ name: action, blocking: true, params });
    } catch (err) {
      const body = (err as ClientError).error as Partial<OwActivation> | undefined;
      if (typeof body?.activationId === 'string' && typeof body.response === 'object') answer = body; // 502: the action failed
      else throw this.#mapError(err, `POST /actions/${action}?blocking=true`);
    }
    if (typeof answer.activationId !== 'string') throw new MfError('MF_PLATFORM_UNREACHABLE', `OpenWhisk answered POST /actions/${action} without an activation id`, { platform: 'openwhisk' });
    if (answer.response === undefined || typeof answer.start !== 'number') answer = await this.#poll(answer.activationId);
    stamps.receive = now();
    this.#activations.set(answer.activationId as string, answer as OwActivation);
    return answer as OwActivation;
  }

  /** GET /activations/{id} until it exists (404 until the activation has ended and been stored). */
  async #poll(id: string): Promise<OwActivation> {
    const deadline = Date.now() + this.#o.pollTimeoutMs;
    let interval = this.#o.pollIntervalMs;
    for (;;) {
      try {
        return await this.#client.activations.get({ name: id });
      } catch (err) {
        if ((err as ClientError).statusCode !== 404) throw this.#mapError(err, `GET /activations/${id}`);
      }
      if (Date.now() > deadline) throw new MfError('MF_PLATFORM_UNREACHABLE', `activation ${id} has no record after ${this.#o.pollTimeoutMs} ms of polling`, { platform: 'openwhisk', activationId: id });
      await sleep(interval);
      interval = Math.min(interval * 1.5, 2000);
    }
  }

  /** An activation fetched for its record; polled briefly, since a component's record may be stored a moment later. */
  async #fetch(id: string): Promise<OwActivation | null> {
    const known = this.#activations.get(id);
    if (known) return known;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        const a = await this.#client.activations.get({ name: id });
        this.#activations.set(id, a);
        return a;
      } catch (err) {
        if ((err as ClientError).statusCode !== 404) return null;
      }
      await sleep(50 * (attempt + 1));
    }
    return null;
  }

  /** Records of a workflow's component activations (the ids in the primary's `logs`), with the state of each. */
  async #componentRecords(deployment: Deployment, app: AppState, plan: WorkflowPlan, primary: OwActivation, inputBytes: number): Promise<InvocationRecord[]> {
    const ids = (primary.logs ?? []).filter((l) => /^[0-9a-f]{32}$/i.test(l));
    const activations = await Promise.all(ids.map((id) => this.#fetch(id)));
    const records: InvocationRecord[] = [];
    const conductorName = plan.action.slice(app.pkg.length + 1);
    let taskIndex = 0;
    let nextState: string | null = null;
    let bytes = inputBytes;
    for (const a of activations) {
      if (a === null) continue; // no record, no evidence: left out rather than guessed
      let fn = a.name;
      let state: string | null = null;
      if (fn === conductorName) {
        const r = a.response?.result as { params?: { __mf_exec?: { state?: unknown } } } | undefined;
        const s = r?.params?.__mf_exec?.state;
        nextState = typeof s === 'string' ? s : null;
      } else if (plan.kind === 'sequence') {
        state = plan.states[taskIndex++] ?? null;
      } else {
        state = nextState;
        nextState = null;
      }
      if (fn !== conductorName && !app.functions.has(fn)) fn = a.name;
      const rec = this.#record(a, deployment.app, fn, state, primary.activationId, bytes);
      if (rec === null) continue;
      if (fn !== conductorName) bytes = rec.outputBytes;
      records.push(rec);
    }
    return records;
  }

  /**
   * One InvocationRecord from an activation record. `start` is when the container began the activation (its /init
   * when cold), `waitTime` what came before it since the controller had the request, `initTime` the /init (present
   * only when a container was initialised: the cold-start evidence). Handler time is the wrapper's own measurement,
   * placed after init and the handler's import, so that no two clocks are compared. Null without any evidence.
   */
  #record(a: OwActivation, app: string, fn: string, state: string | null, executionId: string, inputBytes: number): InvocationRecord | null {
    const ann = annotationsOf(a);
    if (ann.kind === undefined && ann.waitTime === undefined && ann.initTime === undefined) return null; // nothing says how it ran
    const waitTime = num(ann.waitTime) ?? 0;
    const initTime = num(ann.initTime);
    const result = a.response?.result;
    const meta = metaOf(result);
    const importMs = meta?.importMs ?? 0;
    const end = a.end;
    const workerReady = Math.min(a.start + (initTime ?? 0) + importMs, end);
    const handlerMs = meta?.handlerMs ?? end - workerReady;
    const handlerEnd = Math.min(workerReady + handlerMs, end);
    const cold = initTime !== undefined;
    const coldStart: InvocationRecord['coldStart'] = cold ? { codeLoadMs: initTime + importMs } : {};
    let outcome: InvocationRecord['outcome'] = { state: 'ok' };
    if (a.response && !a.response.success) {
      const f = failureOf(result, a.response.status);
      outcome = f.error === 'States.Timeout' ? { state: 'timeout', ...f } : { state: 'error', ...f };
    }
    return {
      invocationId: a.activationId,
      executionId,
      app,
      function: fn,
      state,
      temperature: cold ? 'cold-sandbox' : 'warm',
      sandboxId: meta?.container ?? 'unknown',
      // The pid inside a container means nothing on this host; identity is the container id above.
      workerPid: 0,
      workerOrigin: cold ? 'spawn' : 'existing',
      host: this.#host,
      backend: 'openwhisk',
      t: { queued: a.start - waitTime, workerReady, handlerStart: workerReady, handlerEnd, published: end },
      coldStart,
      inputBytes,
      outputBytes: Buffer.byteLength(JSON.stringify(outputOf(result) ?? null)),
      outcome,
    };
  }

  #times(a: OwActivation): ExecutionTimestamps {
    const wait = num(annotationsOf(a).waitTime) ?? 0;
    return { received: a.start - wait, dispatched: a.start, completed: a.end };
  }

  async #spill(app: AppState, value: unknown): Promise<string> {
    const key = `${SPILL_PREFIX}input-${randomUUID()}`;
    try {
      await app.storage.put(key, value, { mode: 'global' });
    } catch (err) {
      throw new MfError('MF_STORAGE_FAILED', `openwhisk adapter: could not put an input of ${JSON.stringify(value).length} bytes into the app's storage: ${err instanceof Error ? err.message : String(err)}`, { app: app.pkg });
    }
    return key;
  }

  async #answer(app: AppState, platform: PlatformReport, a: OwActivation): Promise<HookAnswer> {
    const r = a.response;
    if (r === undefined) return { platform, status: 'failed', error: 'OpenWhisk.NoResponse', cause: 'the activation record has no response' };
    const ref = r.success ? refOf(r.result) : null;
    if (ref !== null) return { platform, status: 'succeeded', output: await app.storage.get(ref, { tier: 'global' }) };
    if (r.success) return { platform, status: 'succeeded', output: outputOf(r.result) };
    const f = failureOf(r.result, r.status);
    return { platform, status: 'failed', error: f.error, cause: f.cause };
  }
}
