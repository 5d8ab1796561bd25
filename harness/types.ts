/**
 * PlatformAdapter: the one interface through which the experiment harness drives a serverless platform
 * (MicroFunctions embedded or remote, and later OpenWhisk and OpenFaaS). Experiments only ever talk to this
 * interface, so a new platform is a new adapter, never a change to an experiment (docs/adapters.md).
 *
 * The base class owns the lifecycle (docs/conventions.md#2): the public methods check arguments and state (closed? a
 * deployment that was removed or belongs to another adapter? an unknown function?) and then call the protected
 * `do*` hooks, which subclasses implement without repeating any check.
 *
 * Measuring only records (docs/conventions.md#6): an adapter call returns a `CallResult` holding the client's three
 * timestamps (intended send, actual send, receive) apart from what the platform reported about itself (its
 * execution timestamps and one InvocationRecord per function invocation, when the platform gives them).
 */
import { now } from '../platform/clock.js';
import { MfError } from '../platform/errors.js';
import type { ExecutionTimestamps, InvocationRecord } from '../platform/records.js';
import type { AnyWorkload, WorkloadParams } from '../workloads/index.js';

/** Client-side timestamps of one request, epoch milliseconds on platform/clock.ts's time base. */
export interface ClientTimestamps {
  /** When the request was meant to go out (a schedule's slot; equal to `actualSend` for back-to-back calls). */
  intendedSend: number;
  /** When the request was handed to the HTTP client. */
  actualSend: number;
  /** When the complete answer was back. */
  receive: number;
}

/** What the platform said about the request, when it says anything (null for a platform without records). */
export interface PlatformReport {
  /** The platform's id of the execution (or direct invocation). */
  executionId: string | null;
  /** The frontend's timestamps (received, dispatched, completed), when the platform reports them. */
  t: ExecutionTimestamps | null;
  /** One record per function invocation of the request, in the order the platform lists them. */
  records: InvocationRecord[];
}

/**
 * The outcome of one request as the client saw it (a discriminated union, docs/conventions.md#9):
 * - `ok`: the platform answered with success and the output passed the workload's validator;
 * - `invalid`: success, but the output failed the validator (`reason` names the first difference);
 * - `failed`: the platform answered that the execution failed (an ASL error and cause);
 * - `error`: no usable answer (HTTP error, platform unreachable, timeout), with the MfError code.
 */
export type CallOutcome =
  | { state: 'ok' }
  | { state: 'invalid'; reason: string }
  | { state: 'failed'; error: string; cause: string }
  | { state: 'error'; code: string; message: string };

/** The result of one adapter call: client timing and platform report kept apart (docs/conventions.md#8). */
export interface CallResult {
  /** `session`: a message to a running session function, or a transfer inside a session (experiments/sessions.ts). */
  kind: 'execution' | 'invocation' | 'session';
  /** The workflow executed, or the function invoked. */
  target: string;
  client: ClientTimestamps;
  platform: PlatformReport | null;
  outcome: CallOutcome;
  /** Bytes of the request body and of the answer's output as JSON text (as the client counted them). */
  requestBytes: number;
}

/** A deployed workload, as one adapter knows it. Pass it back to the adapter's other methods. */
export interface Deployment {
  /** Opaque to callers; unique within the adapter. */
  readonly id: number;
  /** The app name on the platform. */
  readonly app: string;
  readonly workload: AnyWorkload;
  readonly params: Readonly<WorkloadParams>;
  readonly functions: readonly string[];
  readonly workflows: readonly string[];
}

/** One OS process of the platform, with its memory as the kernel accounts it (absent fields: not readable). */
export interface ProcessSample {
  pid: number;
  /** What the process is: `frontend`, `agent`, `worker:<function>`, ... */
  role: string;
  app: string | null;
  /** Resident set size, bytes (/proc/<pid>/status VmRSS). */
  rssBytes: number | null;
  /** Proportional set size, bytes (/proc/<pid>/smaps_rollup Pss): shared pages divided among their sharers. */
  pssBytes: number | null;
}

/**
 * A point-in-time view of the platform's resources: its sandboxes and the processes the adapter can see (what
 * `collectMetrics()` returns; not the Prometheus metrics the MicroFunctions frontend serves, platform/frontend/metrics.ts).
 */
export interface ResourceSnapshot {
  /** Epoch ms (platform/clock.ts) when the sample was taken. */
  at: number;
  /** Sandboxes alive per app. */
  sandboxes: Array<{ app: string; id: string; agentPid: number | null; rootPid: number | null; containerId?: string }>;
  /** Processes the adapter can see (empty for a remote platform it cannot look inside). */
  processes: ProcessSample[];
}

/** Options every call takes. */
export interface CallOptions {
  /** The intended send time (epoch ms, platform/clock.ts); defaults to the actual send time. */
  intendedSend?: number;
  /** Validate the output with the workload's validator against this input (default: the input sent). */
  validate?: boolean;
}

/** The interface every platform implements. */
export interface PlatformAdapter {
  /** Registry name, e.g. `microfunctions`. */
  readonly platform: string;
  /** The adapter options as resolved (written to the run manifest); never holds secrets. */
  readonly description: Readonly<Record<string, unknown>>;
  /** Deploys a workload with its parameters; `name` overrides the app name (default: workload name + a counter). */
  deploy(workload: AnyWorkload, params?: WorkloadParams, options?: { name?: string }): Promise<Deployment>;
  /** Invokes one function of a deployment directly, with `input` as its event. */
  invoke(deployment: Deployment, fn: string, input: unknown, options?: CallOptions): Promise<CallResult>;
  /** Executes a workflow of a deployment (default: the workload's workflow) synchronously. */
  execute(deployment: Deployment, input: unknown, options?: CallOptions & { workflow?: string }): Promise<CallResult>;
  /** Makes the next request to the deployment start from nothing: no sandbox, no worker. */
  enforceColdStart(deployment: Deployment): Promise<void>;
  /** Samples the platform's sandboxes and processes now. */
  collectMetrics(): Promise<ResourceSnapshot>;
  /** Removes a deployment from the platform. */
  remove(deployment: Deployment): Promise<void>;
  /** Removes what is still deployed and releases the platform (stops an embedded one). Idempotent. */
  close(): Promise<void>;
}

/**
 * The lifecycle every adapter shares. Subclasses implement the `do*` hooks; the public methods have already checked
 * that the adapter is open, the deployment is live and its own, and the function or workflow exists.
 */
export abstract class BaseAdapter implements PlatformAdapter {
  abstract readonly platform: string;
  abstract readonly description: Readonly<Record<string, unknown>>;

  #closed = false;
  #closing: Promise<void> | null = null;
  #nextId = 1;
  readonly #live = new Map<number, Deployment>();

  /** Deployments not yet removed. */
  get deployments(): readonly Deployment[] {
    return [...this.#live.values()];
  }

  get closed(): boolean {
    return this.#closed;
  }

  async deploy(workload: AnyWorkload, params: WorkloadParams = {}, options: { name?: string } = {}): Promise<Deployment> {
    this.#checkOpen('deploy');
    const id = this.#nextId++;
    const manifest = workload.app(params); // throws on a bad parameter before anything is deployed
    const app = options.name ?? `${manifest.name}-${id}`;
    if ([...this.#live.values()].some((d) => d.app === app)) {
      throw new MfError('MF_APP_EXISTS', `this adapter already deployed an app named "${app}"`, { app });
    }
    const deployment: Deployment = Object.freeze({
      id,
      app,
      workload,
      params: Object.freeze({ ...params }),
      functions: Object.freeze(manifest.functions.map((f) => f.name)),
      workflows: Object.freeze(Object.keys(manifest.workflows)),
    });
    await this.doDeploy(deployment, { ...manifest, name: app });
    this.#live.set(id, deployment);
    return deployment;
  }

  async invoke(deployment: Deployment, fn: string, input: unknown, options: CallOptions = {}): Promise<CallResult> {
    this.#checkLive(deployment, 'invoke');
    if (!deployment.functions.includes(fn)) {
      throw new MfError('MF_FUNCTION_NOT_FOUND', `deployment "${deployment.app}" has no function "${fn}" (has: ${deployment.functions.join(', ')})`, {
        app: deployment.app,
        function: fn,
      });
    }
    return this.#call(deployment, 'invocation', fn, input, options, (stamps) => this.doInvoke(deployment, fn, input, stamps));
  }

  async execute(deployment: Deployment, input: unknown, options: CallOptions & { workflow?: string } = {}): Promise<CallResult> {
    this.#checkLive(deployment, 'execute');
    const workflow = options.workflow ?? deployment.workload.workflow;
    if (!deployment.workflows.includes(workflow)) {
      throw new MfError('MF_WORKFLOW_NOT_FOUND', `deployment "${deployment.app}" has no workflow "${workflow}" (has: ${deployment.workflows.join(', ')})`, {
        app: deployment.app,
        workflow,
      });
    }
    return this.#call(deployment, 'execution', workflow, input, options, (stamps) => this.doExecute(deployment, workflow, input, stamps));
  }

  async enforceColdStart(deployment: Deployment): Promise<void> {
    this.#checkLive(deployment, 'enforceColdStart');
    await this.doEnforceColdStart(deployment);
  }

  async collectMetrics(): Promise<ResourceSnapshot> {
    this.#checkOpen('collectMetrics');
    return this.doCollectMetrics();
  }

  async remove(deployment: Deployment): Promise<void> {
    this.#checkLive(deployment, 'remove');
    this.#live.delete(deployment.id);
    await this.doRemove(deployment);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      const left = [...this.#live.values()];
      this.#live.clear();
      try {
        for (const d of left) await this.doRemove(d).catch(() => undefined);
      } finally {
        await this.doClose();
      }
    })();
    return this.#closing;
  }

  // ------------------------------------------------------------------ hooks

  /** Deploys `manifest` (already renamed to `deployment.app`). Must leave nothing behind when it throws. */
  protected abstract doDeploy(deployment: Deployment, manifest: ReturnType<AnyWorkload['app']>): Promise<void>;
  /**
   * Sends one request and returns what came back. Stamping is the hook's job because only it knows when the request
   * really left: it sets `stamps.actualSend` (now()) right before sending and `stamps.receive` right after the whole
   * answer is in. It throws only when the call itself fails; the base class turns that into an `error` outcome.
   */
  protected abstract doInvoke(deployment: Deployment, fn: string, input: unknown, stamps: SendStamps): Promise<HookAnswer>;
  protected abstract doExecute(deployment: Deployment, workflow: string, input: unknown, stamps: SendStamps): Promise<HookAnswer>;
  protected abstract doEnforceColdStart(deployment: Deployment): Promise<void>;
  protected abstract doCollectMetrics(): Promise<ResourceSnapshot>;
  protected abstract doRemove(deployment: Deployment): Promise<void>;
  protected abstract doClose(): Promise<void>;

  // ------------------------------------------------------------------ internals

  async #call(
    deployment: Deployment,
    kind: CallResult['kind'],
    target: string,
    input: unknown,
    options: CallOptions,
    send: (stamps: SendStamps) => Promise<HookAnswer>,
  ): Promise<CallResult> {
    const requestBytes = Buffer.byteLength(JSON.stringify(input ?? {}));
    const stamps: SendStamps = { actualSend: Number.NaN, receive: Number.NaN };
    const before = now();
    let answer: HookAnswer;
    try {
      answer = await send(stamps);
    } catch (err) {
      const after = now();
      const e = err instanceof MfError ? err : new MfError('MF_INTERNAL', err instanceof Error ? err.message : String(err));
      const actualSend = Number.isNaN(stamps.actualSend) ? before : stamps.actualSend;
      return {
        kind,
        target,
        client: { intendedSend: options.intendedSend ?? actualSend, actualSend, receive: Number.isNaN(stamps.receive) ? after : stamps.receive },
        platform: null,
        outcome: { state: 'error', code: e.code, message: e.message },
        requestBytes,
      };
    }
    const client: ClientTimestamps = { intendedSend: options.intendedSend ?? stamps.actualSend, actualSend: stamps.actualSend, receive: stamps.receive };
    if (Number.isNaN(client.actualSend) || Number.isNaN(client.receive)) {
      throw new MfError('MF_INTERNAL', `${this.platform} adapter: a call hook returned without stamping actualSend and receive`, { platform: this.platform });
    }
    let outcome: CallOutcome;
    if (answer.status === 'failed') outcome = { state: 'failed', error: answer.error, cause: answer.cause };
    else if (options.validate === false) outcome = { state: 'ok' };
    else {
      const v = deployment.workload.validateOutput(input, answer.output);
      outcome = v.ok ? { state: 'ok' } : { state: 'invalid', reason: v.reason };
    }
    return { kind, target, client, platform: answer.platform, outcome, requestBytes };
  }

  #checkOpen(what: string): void {
    if (this.#closed) throw new MfError('MF_PLATFORM_CLOSED', `${this.platform} adapter: ${what} after close()`, { platform: this.platform });
  }

  #checkLive(deployment: Deployment, what: string): void {
    this.#checkOpen(what);
    if (this.#live.get(deployment.id) !== deployment) {
      throw new MfError('MF_APP_NOT_FOUND', `${this.platform} adapter: ${what} on "${deployment.app}", which this adapter has not deployed or has removed`, {
        app: deployment.app,
      });
    }
  }
}

/** The two stamps a call hook sets (epoch ms, platform/clock.ts `now()`). */
export interface SendStamps {
  actualSend: number;
  receive: number;
}

/** What a call hook returns: the platform's report, and success or failure with the output. */
export type HookAnswer = { platform: PlatformReport | null } & (
  | { status: 'succeeded'; output: unknown }
  | { status: 'failed'; error: string; cause: string }
);
