/**
 * The MicroFunctions frontend's core: deployed apps, their sandboxes (one per app: grouped sandboxing), executions
 * and logs. The HTTP layer (http.ts) only translates requests to calls on this class.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { now } from '../clock.js';
import { resolveConfig, type ResolvedConfig, type UserConfig } from '../config.js';
import { isMfError, MfError, toMfError, type ErrorBody } from '../errors.js';
import type { ExecutionResult, HistoryEvent, LogLine, SandboxAppSpec } from '../protocol.js';
import { loadStateMachine, runExecution, TaskFailure, type StateMachine, type TaskCall } from '../asl/index.js';
import type { ExecutionStatus, ExecutionTimestamps, InvocationRecord } from '../records.js';
import type { SandboxBackend } from '../sandbox/backend.js';
import { createBackend } from '../sandbox/backends.js';
import { prepareApp, type PreparedApp } from './deploy.js';
import { PlatformMetrics } from './metrics.js';
import { SandboxLink, type DoneMessage } from './sandbox-link.js';
import { SandboxPool } from './sandbox-pool.js';
import { startHttpServer } from './http.js';
import { GlobalStorage } from '../storage/global-store.js';
import { JournalBus, type GlobalBus, type Subscription } from '../bus/global/index.js';
import type { StorageOp, StorageReply } from '../storage/types.js';

/** An execution as the API returns it (docs/api.md). */
export interface ExecutionView {
  executionId: string;
  app: string;
  workflow: string | null;
  function?: string;
  status: ExecutionStatus;
  output?: unknown;
  error: string | null;
  cause: string | null;
  t: ExecutionTimestamps;
  records: InvocationRecord[];
}

interface StoredExecution extends ExecutionView {
  history: HistoryEvent[];
  /** The newest checkpoint the sandbox reported (next top-level state and its input), for recovery. */
  checkpoint: { state: string; input: unknown } | null;
}

export type AppLogLine = LogLine & { invocationId: string; function: string; executionId: string };

export interface AppSummary {
  name: string;
  functions: Array<{ name: string; handler: string; memoryMB: number; timeoutSeconds: number }>;
  workflows: string[];
  sandboxes: Array<{ id: string; pid: number | null; agentPid: number; backend: string; containerId?: string; functions: string[]; createdAt: string }>;
  deployedAt: string;
}

interface AppEntry {
  prepared: PreparedApp;
  deployedAt: string;
  /** Sandbox pools by unit: GROUPED for the app's sandboxes, or a function name under per-function sandboxing. */
  pools: Map<string, SandboxPool>;
  /** Workflows interpreted on the host (when the engine does not run in the sandbox), loaded on first use. */
  machines: Map<string, StateMachine>;
  logs: AppLogLine[];
}

/** The pool key of an app's sandboxes under grouped sandboxing. */
const GROUPED = '*';

/** Global bus topics. */
const TOPIC_HOPS = 'hops';
const TOPIC_RESULTS = 'hop-results';
const TOPIC_CHECKPOINTS = 'checkpoints';

/** Memory of a sandbox agent or an idle runtime process, for the sandbox's memory limit (measured: ~46 MB RSS). */
const SANDBOX_OVERHEAD_MB = 64;

/** One Task hop: a function invocation on behalf of an execution. */
interface Hop {
  fn: string;
  input: unknown;
  state: string | null;
}
type BusHop = Hop & { hopId: string; app: string; executionId: string };
type BusResult = { hopId: string; done: DoneMessage } | { hopId: string; error: ErrorBody };

function newExecution(executionId: string, app: string, workflow: string | null, fn: string | null, received: number): StoredExecution {
  return {
    executionId,
    app,
    workflow,
    ...(fn !== null ? { function: fn } : {}),
    status: 'RUNNING',
    error: null,
    cause: null,
    t: { received, dispatched: 0, completed: null },
    records: [],
    history: [],
    checkpoint: null,
  };
}

/** Platform code the sandboxes must be able to read (the compiled dist folder). */
const DIST_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export class Platform {
  private readonly apps = new Map<string, AppEntry>();
  private readonly executions = new Map<string, StoredExecution>();
  readonly metrics = new PlatformMetrics(() => this.liveSandboxes());
  /** The durable global storage tier, one store per app, in the data directory (it outlives runs). */
  private readonly storage: GlobalStorage;
  private closed = false;

  /** Reclaims idle sandboxes after keep-alive. */
  private readonly sweeper: NodeJS.Timeout;
  /** The durable global bus: every hop in global mode, checkpoints in hierarchical mode (docs/bus.md). */
  private readonly bus: GlobalBus;
  /** Hops published to the bus, waiting for their result message. */
  private readonly waitingHops = new Map<string, { resolve(done: DoneMessage): void; reject(err: unknown): void }>();
  private busConsumers: Promise<Subscription[]> | null = null;

  constructor(
    readonly config: ResolvedConfig,
    private readonly backend: SandboxBackend,
    private readonly runDir: string,
  ) {
    this.storage = new GlobalStorage(join(config.dataDir, 'storage'));
    this.bus = new JournalBus(join(runDir, 'bus'));
    this.sweeper = setInterval(() => {
      for (const entry of this.apps.values()) for (const pool of entry.pools.values()) void pool.reclaimIdle();
    }, Math.min(1000, (config.keepAliveSeconds * 1000) / 2));
    this.sweeper.unref();
  }

  private liveSandboxes(): number {
    let n = 0;
    for (const entry of this.apps.values()) for (const pool of entry.pools.values()) n += pool.sandboxes.filter((l) => l.alive).length;
    return n;
  }

  // ------------------------------------------------------------------ apps

  async deploy(manifest: unknown): Promise<AppSummary> {
    this.checkOpen();
    const name = (manifest as { name?: unknown } | null)?.name;
    if (typeof name === 'string' && this.apps.has(name)) {
      throw new MfError('MF_APP_EXISTS', `an app named "${name}" is already deployed; delete it first`, { app: name });
    }
    const prepared = await prepareApp(manifest, this.config, join(this.runDir, 'apps'));
    if (this.apps.has(prepared.name)) {
      // Lost a race with a concurrent deploy of the same name.
      if (prepared.codeRoot) await rm(prepared.codeRoot, { recursive: true, force: true });
      throw new MfError('MF_APP_EXISTS', `an app named "${prepared.name}" is already deployed; delete it first`, { app: prepared.name });
    }
    const entry: AppEntry = { prepared, deployedAt: new Date().toISOString(), pools: new Map(), machines: new Map(), logs: [] };
    this.apps.set(prepared.name, entry);
    this.metrics.apps.set(this.apps.size);
    if (this.config.workerStart === 'deploy') {
      try {
        await this.startAtDeploy(entry);
      } catch (err) {
        await this.deleteApp(prepared.name);
        throw err;
      }
    }
    return this.summary(entry);
  }

  listApps(): AppSummary[] {
    return [...this.apps.values()].map((e) => this.summary(e));
  }

  getApp(name: string): AppSummary {
    return this.summary(this.entry(name));
  }

  async deleteApp(name: string): Promise<void> {
    const entry = this.entry(name);
    this.apps.delete(name);
    this.metrics.apps.set(this.apps.size);
    await Promise.all([...entry.pools.values()].map((pool) => pool.destroyAll({ close: true })));
    if (entry.prepared.codeRoot) await rm(entry.prepared.codeRoot, { recursive: true, force: true });
  }

  /** Destroys every sandbox of the app (the app stays deployed), so that its next execution starts cold. */
  async reclaim(name: string): Promise<number> {
    const entry = this.entry(name);
    const counts = await Promise.all([...entry.pools.values()].map((pool) => pool.destroyAll()));
    return counts.reduce((a, b) => a + b, 0);
  }

  logs(app: string, options: { execution?: string; limit?: number } = {}): AppLogLine[] {
    const lines = this.entry(app).logs;
    const selected = options.execution ? lines.filter((l) => l.executionId === options.execution) : lines;
    return selected.slice(-(options.limit ?? 1000));
  }

  // ------------------------------------------------------------------ executions

  /**
   * Starts an execution of a workflow. `wait` resolves when it has finished; for async callers the execution is
   * already stored (as RUNNING) when this returns.
   */
  startExecution(app: string, workflow: string, input: unknown, received: number): { executionId: string; wait: Promise<ExecutionView> } {
    this.checkOpen();
    const entry = this.entry(app);
    if (!Object.hasOwn(entry.prepared.workflows, workflow)) {
      throw new MfError('MF_WORKFLOW_NOT_FOUND', `app "${app}" has no workflow "${workflow}"`, { app, workflow, workflows: Object.keys(entry.prepared.workflows) });
    }
    const id = randomUUID();
    const startTime = new Date().toISOString();
    const exec = this.store(newExecution(id, app, workflow, null, received));
    const wait = this.finish(entry, exec, this.engineInSandbox ? this.runInSandbox(entry, exec, input, startTime) : this.runOnHost(entry, exec, input, startTime));
    return { executionId: id, wait };
  }

  /** Invokes one function directly, outside any workflow. */
  invokeFunction(app: string, fn: string, input: unknown, received: number): Promise<ExecutionView> {
    this.checkOpen();
    const entry = this.entry(app);
    if (!entry.prepared.functions.some((f) => f.name === fn)) {
      throw new MfError('MF_FUNCTION_NOT_FOUND', `app "${app}" has no function "${fn}"`, { app, function: fn });
    }
    const exec = this.store(newExecution(randomUUID(), app, null, fn, received));
    const run = async (): Promise<ExecutionResult> => {
      const done = await this.hop(entry, exec, { fn, input, state: null });
      return done.result;
    };
    return this.finish(entry, exec, run());
  }

  getExecution(id: string): ExecutionView {
    const { history: _history, checkpoint: _checkpoint, ...view } = this.execution(id);
    return view;
  }

  getHistory(id: string): HistoryEvent[] {
    return this.execution(id).history;
  }

  // ------------------------------------------------------------------ lifecycle

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    await Promise.all([...this.apps.keys()].map((name) => this.deleteApp(name).catch(() => undefined)));
    await this.backend.close();
    for (const sub of (await this.busConsumers?.catch(() => [])) ?? []) await sub.close();
    await this.bus.close();
    await this.storage.close();
    await rm(this.runDir, { recursive: true, force: true });
  }

  // ------------------------------------------------------------------ internals

  /**
   * Whether a workflow runs inside the app's sandbox (SAND: grouped sandboxing with a hierarchical bus, the
   * agent resolves each next state next to the workers) or on the host, with every Task a hop to a sandbox.
   */
  private get engineInSandbox(): boolean {
    return this.config.sandboxing === 'grouped' && this.config.busMode === 'hierarchical';
  }

  /** Stores an execution's outcome, logs and metrics once it has a result; a platform fault is rethrown. */
  private async finish(entry: AppEntry, exec: StoredExecution, running: Promise<ExecutionResult>): Promise<ExecutionView> {
    let result: ExecutionResult;
    try {
      result = await running;
    } catch (err) {
      const e = toMfError(err);
      exec.status = 'FAILED';
      exec.error = e.code;
      exec.cause = e.message;
      exec.t.completed = now();
      throw e;
    }
    exec.t.completed = now();
    if (result.status === 'SUCCEEDED') {
      exec.status = 'SUCCEEDED';
      exec.output = result.output;
    } else {
      exec.status = 'FAILED';
      exec.error = result.error;
      exec.cause = result.cause;
    }
    exec.checkpoint = null;
    this.metrics.recordExecution(exec.app, exec.workflow ?? `fn:${exec.function}`, exec.status, (exec.t.completed - exec.t.received) / 1000, exec.records);
    return this.getExecution(exec.executionId);
  }

  /**
   * The whole workflow runs in one sandbox of the app. If that sandbox dies, the execution resumes from its newest
   * checkpoint (or from the start) in a new sandbox, up to recoveryAttempts times; the caller sees one result.
   */
  private async runInSandbox(entry: AppEntry, exec: StoredExecution, input: unknown, startTime: string): Promise<ExecutionResult> {
    const pool = this.poolFor(entry, null);
    for (let attempt = 0; ; attempt++) {
      const { link, start } = await pool.acquire();
      if (exec.t.dispatched === 0) exec.t.dispatched = now();
      try {
        const resumeAt = exec.checkpoint ?? undefined;
        const done = await link.request({
          t: 'execute',
          id: exec.executionId,
          workflow: exec.workflow!,
          input,
          executionName: exec.executionId,
          startTime,
          sandboxStart: start,
          wantHistory: this.config.keepHistory,
          ...(resumeAt ? { resumeAt } : {}),
        });
        this.collect(entry, exec, done);
        return done.result;
      } catch (err) {
        if (!isMfError(err, 'MF_SANDBOX_EXITED') || attempt >= this.config.recoveryAttempts) throw err;
        exec.history.push({ t: now(), type: 'ExecutionRecovering', state: exec.checkpoint?.state ?? 'StartAt', attempt: attempt + 1, cause: err.message });
      } finally {
        pool.release(link);
      }
    }
  }

  /** The workflow runs on the host; each Task is a hop to the sandbox that holds its function. */
  private async runOnHost(entry: AppEntry, exec: StoredExecution, input: unknown, startTime: string): Promise<ExecutionResult> {
    const workflow = exec.workflow!;
    let machine = entry.machines.get(workflow);
    if (!machine) {
      machine = loadStateMachine(entry.prepared.workflows[workflow], workflow);
      entry.machines.set(workflow, machine);
    }
    exec.t.dispatched = now();
    return runExecution(machine, input, {
      invoke: async (call: TaskCall) => {
        const done = await this.hop(entry, exec, { fn: call.functionName, input: call.input, state: call.stateName });
        if (done.result.status === 'FAILED') throw new TaskFailure(done.result.error ?? 'States.TaskFailed', done.result.cause ?? '');
        return done.result.output;
      },
      executionId: exec.executionId,
      executionName: exec.executionId,
      startTime,
      stateMachineName: `${entry.prepared.name}-${workflow}`,
      ...(this.config.keepHistory ? { onEvent: (e: HistoryEvent) => exec.history.push(e) } : {}),
    });
  }

  /**
   * One function invocation in a sandbox of its unit. If the sandbox dies during it, the invocation runs again in
   * another sandbox, up to recoveryAttempts times.
   */
  private async hop(entry: AppEntry, exec: StoredExecution, call: Hop): Promise<DoneMessage> {
    if (this.config.busMode !== 'global') return this.dispatch(entry, exec, call);
    // Global mode, as OpenWhisk routes work through Kafka: the hop is published to the bus, a dispatcher consumes
    // it and runs it, and its result comes back over the bus.
    await this.startBusConsumers();
    const hopId = randomUUID();
    const done = new Promise<DoneMessage>((resolve, reject) => this.waitingHops.set(hopId, { resolve, reject }));
    if (exec.t.dispatched === 0) exec.t.dispatched = now();
    await this.bus.publish<BusHop>(TOPIC_HOPS, exec.executionId, { hopId, app: entry.prepared.name, executionId: exec.executionId, ...call });
    return done;
  }

  private startBusConsumers(): Promise<Subscription[]> {
    this.busConsumers ??= Promise.all([
      // Acked when picked up (OpenWhisk's invoker commits on pickup): a hop is dispatched once, not redelivered mid-run.
      this.bus.subscribe<BusHop>(TOPIC_HOPS, 'dispatcher', (m) => {
        void this.dispatchFromBus(m.payload);
      }),
      this.bus.subscribe<BusResult>(TOPIC_RESULTS, 'frontend', (m) => {
        const waiter = this.waitingHops.get(m.payload.hopId);
        if (!waiter) return;
        this.waitingHops.delete(m.payload.hopId);
        if ('done' in m.payload) waiter.resolve(m.payload.done);
        else waiter.reject(MfError.fromJSON(m.payload.error));
      }),
    ]);
    return this.busConsumers;
  }

  private async dispatchFromBus(hop: BusHop): Promise<void> {
    let result: BusResult;
    try {
      const entry = this.entry(hop.app);
      const exec = this.execution(hop.executionId);
      result = { hopId: hop.hopId, done: await this.dispatch(entry, exec, hop) };
    } catch (err) {
      result = { hopId: hop.hopId, error: toMfError(err).toJSON() };
    }
    await this.bus.publish<BusResult>(TOPIC_RESULTS, hop.executionId, result).catch((err: unknown) => {
      const waiter = this.waitingHops.get(hop.hopId);
      this.waitingHops.delete(hop.hopId);
      waiter?.reject(err);
    });
  }

  /** Runs one hop on a sandbox of its unit (directly, or for the bus dispatcher). */
  private async dispatch(entry: AppEntry, exec: StoredExecution, call: Hop): Promise<DoneMessage> {
    const pool = this.poolFor(entry, call.fn);
    for (let attempt = 0; ; attempt++) {
      const { link, start } = await pool.acquire();
      if (exec.t.dispatched === 0) exec.t.dispatched = now();
      try {
        const done = await link.request({
          t: 'invoke',
          id: randomUUID(),
          fn: call.fn,
          input: call.input,
          sandboxStart: start,
          executionId: exec.executionId,
          ...(call.state !== null ? { state: call.state } : {}),
        });
        this.collect(entry, exec, done);
        return done;
      } catch (err) {
        if (!isMfError(err, 'MF_SANDBOX_EXITED') || attempt >= this.config.recoveryAttempts) throw err;
        exec.history.push({ t: now(), type: 'TaskRecovering', state: call.state ?? call.fn, attempt: attempt + 1, cause: err.message });
      } finally {
        pool.release(link);
      }
    }
  }

  /** Keeps what a sandbox reported for an execution: records, history, logs. */
  private collect(entry: AppEntry, exec: StoredExecution, done: DoneMessage): void {
    exec.records.push(...done.records);
    if (done.history.length > 0) exec.history.push(...done.history);
    this.appendLogs(entry, exec.executionId, done.logs);
  }

  /** The pool that serves `fn` (null: the app's own pool under grouped sandboxing). */
  private poolFor(entry: AppEntry, fn: string | null): SandboxPool {
    const perFunction = this.config.sandboxing === 'per-function';
    const key = perFunction && fn !== null ? fn : GROUPED;
    let pool = entry.pools.get(key);
    if (!pool) {
      const only = key === GROUPED ? null : key;
      pool = new SandboxPool({
        // A sandbox takes as many requests as its workers can run at once; beyond that the pool makes another sandbox
        // of the unit (the function under per-function, the app under grouped), up to its bound.
        capacity: this.config.workerConcurrency * this.config.maxWorkersPerFunction,
        maxSandboxes: perFunction ? this.config.maxSandboxesPerFunction : this.config.maxSandboxesPerApp,
        keepAliveMs: this.config.keepAliveSeconds * 1000,
        create: () => this.createSandbox(entry, only),
      });
      entry.pools.set(key, pool);
    }
    return pool;
  }

  /** workerStart: deploy: every sandbox of the app, and its workers, start now. */
  private async startAtDeploy(entry: AppEntry): Promise<void> {
    const units = this.config.sandboxing === 'per-function' ? entry.prepared.functions.map((f) => f.name) : [null];
    await Promise.all(
      units.map(async (fn) => {
        const pool = this.poolFor(entry, fn);
        const { link } = await pool.acquire();
        pool.release(link);
      }),
    );
  }

  /** Creates one sandbox holding the whole app (fn null) or one function of it. */
  private async createSandbox(entry: AppEntry, fn: string | null): Promise<SandboxLink> {
    const id = randomBytes(4).toString('hex');
    const { prepared } = entry;
    const functions = fn === null ? prepared.functions : prepared.functions.filter((f) => f.name === fn);
    const spec: SandboxAppSpec = {
      app: prepared.name,
      functions,
      // Only a sandbox that runs workflows itself needs them.
      workflows: this.engineInSandbox ? prepared.workflows : {},
      startWorkersAtDeploy: this.config.workerStart === 'deploy',
      policy: {
        poolSize: this.config.poolSize,
        workerConcurrency: this.config.workerConcurrency,
        maxWorkersPerFunction: this.config.maxWorkersPerFunction,
        keepAliveMs: this.config.keepAliveSeconds * 1000,
        recoveryAttempts: this.config.recoveryAttempts,
        checkpoints: this.engineInSandbox && this.config.recoveryAttempts > 0,
      },
    };
    // The sandbox's memory: its functions' limits (each may run maxWorkersPerFunction workers) plus the agent and the pool.
    const memoryMB = functions.reduce((sum, f) => sum + f.memoryMB * this.config.maxWorkersPerFunction, 0) + SANDBOX_OVERHEAD_MB * (1 + this.config.poolSize);
    const link = {
      sandboxId: id,
      dir: join(this.runDir, 'sb', id),
      readPaths: [DIST_ROOT, ...functions.map((f) => f.codeDir)],
      memoryMB,
    };
    return SandboxLink.create(this.backend, link, spec, {
      storage: (op) => this.storageFor(prepared.name, op),
      checkpoints: (items) => {
        for (const { id: executionId, state, input, records } of items) {
          const exec = this.executions.get(executionId);
          if (!exec || exec.status !== 'RUNNING') continue;
          exec.checkpoint = { state, input };
          exec.records.push(...records);
          // The global copy of the local bus's progress, off the hot path (hierarchical mode).
          void this.bus.publish(TOPIC_CHECKPOINTS, executionId, { state, input }).catch(() => undefined);
        }
      },
    });
  }

  /** Global-tier storage for one app; the app comes from the link, never from the request, so apps stay apart. */
  private async storageFor(app: string, op: StorageOp): Promise<StorageReply> {
    try {
      return { ok: true, value: await this.storage.apply(app, op) };
    } catch (err) {
      return { ok: false, error: toMfError(err, 'MF_STORAGE_FAILED').toJSON() };
    }
  }

  private appendLogs(entry: AppEntry, executionId: string, lines: DoneMessage['logs']): void {
    if (lines.length === 0) return;
    for (const line of lines) entry.logs.push({ ...line, executionId });
    const max = this.config.maxLogLinesPerApp;
    if (entry.logs.length > max) entry.logs.splice(0, entry.logs.length - max);
  }

  private store(exec: StoredExecution): StoredExecution {
    this.executions.set(exec.executionId, exec);
    if (this.executions.size > this.config.maxStoredExecutions) {
      const oldest = this.executions.keys().next().value;
      if (oldest !== undefined) this.executions.delete(oldest);
    }
    return exec;
  }

  private execution(id: string): StoredExecution {
    const exec = this.executions.get(id);
    if (!exec) throw new MfError('MF_EXECUTION_NOT_FOUND', `no execution with id "${id}" is known`, { executionId: id });
    return exec;
  }

  private entry(name: string): AppEntry {
    const entry = this.apps.get(name);
    if (!entry) throw new MfError('MF_APP_NOT_FOUND', `no app named "${name}" is deployed`, { app: name });
    return entry;
  }

  private summary(entry: AppEntry): AppSummary {
    const { prepared } = entry;
    const links = [...entry.pools.values()].flatMap((pool) => pool.sandboxes).filter((link) => link.alive);
    return {
      name: prepared.name,
      functions: prepared.functions.map((f) => ({ name: f.name, handler: f.handler, memoryMB: f.memoryMB, timeoutSeconds: f.timeoutMs / 1000 })),
      workflows: Object.keys(prepared.workflows),
      sandboxes: links.map((link) => ({
        id: link.id,
        pid: link.sandbox.pid,
        agentPid: link.agentPid,
        backend: link.sandbox.backend,
        ...(link.sandbox.containerId ? { containerId: link.sandbox.containerId } : {}),
        functions: link.functions,
        createdAt: new Date(link.createdAt).toISOString(),
      })),
      deployedAt: entry.deployedAt,
    };
  }

  private checkOpen(): void {
    if (this.closed) throw new MfError('MF_PLATFORM_CLOSED', 'the platform is closed');
  }
}

/** A running platform. `close()` stops every sandbox and the HTTP server. */
export interface PlatformHandle {
  readonly url: string;
  readonly token: string;
  readonly dataDir: string;
  readonly platform: Platform;
  close(): Promise<void>;
}

export async function startPlatform(user: UserConfig = {}): Promise<PlatformHandle> {
  const config = resolveConfig(user);
  await mkdir(config.dataDir, { recursive: true });
  const token = config.token ?? (await loadOrCreateToken(join(config.dataDir, 'token')));
  const runDir = await mkdtemp(join(config.dataDir, 'run-'));
  const platform = new Platform(config, createBackend(config.backend), runDir);
  try {
    const server = await startHttpServer(platform, config, token);
    let closing: Promise<void> | null = null;
    return {
      url: server.url,
      token,
      dataDir: config.dataDir,
      platform,
      close() {
        closing ??= (async () => {
          await server.close();
          await platform.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await platform.close();
    throw err;
  }
}

async function loadOrCreateToken(path: string): Promise<string> {
  try {
    const existing = (await readFile(path, 'utf8')).trim();
    if (existing.length >= 8) return existing;
  } catch {
    // no token yet
  }
  const token = randomBytes(24).toString('base64url');
  await writeFile(path, token + '\n', { mode: 0o600 });
  return token;
}
