/**
 * The MicroFunctions frontend's core: deployed apps, their sandboxes, executions and logs. The HTTP layer (http.ts)
 * only translates requests to calls on this class. The two things the research varies are parts it is given, chosen
 * where the platform is composed (start.ts): where a workflow's engine runs (an ExecutionPlacement) and how a hop
 * travels to a worker (a HopTransport). What stays here is what every choice shares.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { now } from '../clock.js';
import type { AppSummary } from '../api.js';
import type { ResolvedConfig } from '../config.js';
import { MfError, toMfError } from '../errors.js';
import type { ExecutionResult, HistoryEvent } from '../protocol.js';
import type { SandboxBackend } from '../sandbox/backend.js';
import type { GlobalStorage } from '../storage/global-store.js';
import type { StorageOp, StorageReply } from '../storage/types.js';
import type { GlobalBus } from '../bus/global/index.js';
import { AppUsers } from './app-users.js';
import { DeployedApp, type AppLogLine, type AppRegistry } from './apps.js';
import { prepareApp } from './deploy.js';
import { executionView, type ExecutionStore, type ExecutionView, type StoredExecution } from './executions.js';
import { PlatformMetrics } from './metrics.js';
import type { ExecutionPlacement } from './placement/placement.js';
import { AppSandboxes, type SandboxEnvironment } from './sandboxes.js';
import type { HopTransport } from './transport/transport.js';

export type { AppLogLine } from './apps.js';
export type { ExecutionView } from './executions.js';

/** The parts a platform is composed of (start.ts makes them from the resolved config); it closes them all. */
export interface PlatformParts {
  readonly config: ResolvedConfig;
  readonly backend: SandboxBackend;
  /** This run's folder (deployed code, sandbox folders, the embedded bus); removed at close. */
  readonly runDir: string;
  readonly apps: AppRegistry;
  readonly executions: ExecutionStore;
  /** The durable global storage tier, one store per app, in the data directory (it outlives runs). */
  readonly storage: GlobalStorage;
  /** The durable global bus: hops under the journal transport, checkpoints under the in-sandbox placement (docs/bus.md). */
  readonly bus: GlobalBus;
  readonly placement: ExecutionPlacement;
  readonly transport: HopTransport;
}

let warnedOnce = false;

export class Platform {
  readonly config: ResolvedConfig;
  readonly metrics = new PlatformMetrics(() => this.liveSandboxes());
  private readonly apps: AppRegistry;
  private readonly executions: ExecutionStore;
  private readonly sandboxEnvironment: SandboxEnvironment;
  /** Each app's own OS user when the platform runs as root (docs/security.md). */
  private readonly users: AppUsers;
  /** Reclaims idle sandboxes after keep-alive. */
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(readonly parts: PlatformParts) {
    const { config, backend, runDir, placement } = parts;
    this.config = config;
    this.users = new AppUsers(config.dataDir);
    if (this.users.warning !== null && !warnedOnce) {
      warnedOnce = true; // once per process: an embedding process may start many platforms in one place
      process.stderr.write(`${this.users.warning}\n`);
    }
    this.apps = parts.apps;
    this.executions = parts.executions;
    this.sandboxEnvironment = {
      config,
      backend,
      runDir,
      workflowsInSandbox: placement.workflowsInSandbox,
      storage: (app, op) => this.storageFor(app, op),
      checkpoints: (items) => placement.checkpoints(items),
      output: (app, line, stream) => {
        if (this.apps.has(app)) this.apps.get(app).keepOutput(line, stream);
      },
    };
    this.sweeper = setInterval(() => {
      for (const app of this.apps.all()) app.sandboxes.reclaimIdle();
    }, Math.min(1000, (config.keepAliveSeconds * 1000) / 2));
    this.sweeper.unref();
  }

  /** Whether each app runs as an OS user of its own (a root platform whose data folder they can reach). */
  get appUsers(): boolean {
    return this.users.enabled;
  }

  // ------------------------------------------------------------------ apps

  async deploy(manifest: unknown): Promise<AppSummary> {
    this.checkOpen();
    const name = (manifest as { name?: unknown } | null)?.name;
    if (typeof name === 'string' && this.apps.has(name)) {
      throw new MfError('MF_APP_EXISTS', `an app named "${name}" is already deployed; delete it first`, { app: name });
    }
    const prepared = await prepareApp(manifest, this.config, join(this.parts.runDir, 'apps'), (app) => this.users.forApp(app));
    if (this.apps.has(prepared.name)) {
      // Lost a race with a concurrent deploy of the same name.
      if (prepared.codeRoot) await rm(prepared.codeRoot, { recursive: true, force: true });
      throw new MfError('MF_APP_EXISTS', `an app named "${prepared.name}" is already deployed; delete it first`, { app: prepared.name });
    }
    const app = new DeployedApp(prepared, new AppSandboxes(prepared, this.sandboxEnvironment), this.config.maxLogLinesPerApp);
    this.apps.add(app);
    this.metrics.apps.set(this.apps.size);
    if (this.config.workerStart === 'deploy') {
      try {
        await app.sandboxes.startAll();
      } catch (err) {
        await this.deleteApp(prepared.name);
        throw err;
      }
    }
    return app.summary();
  }

  listApps(): AppSummary[] {
    return this.apps.all().map((app) => app.summary());
  }

  getApp(name: string): AppSummary {
    return this.apps.get(name).summary();
  }

  async deleteApp(name: string): Promise<void> {
    const app = this.apps.get(name);
    this.apps.remove(name);
    this.metrics.apps.set(this.apps.size);
    await app.sandboxes.destroyAll({ close: true });
    if (app.prepared.codeRoot) await rm(app.prepared.codeRoot, { recursive: true, force: true });
    this.users.release(name);
  }

  /** Destroys every sandbox of the app (the app stays deployed), so that its next execution starts cold. */
  reclaim(name: string): Promise<number> {
    return this.apps.get(name).sandboxes.destroyAll();
  }

  logs(app: string, options: { execution?: string; limit?: number } = {}): AppLogLine[] {
    const lines = this.apps.get(app).logs;
    const selected = options.execution ? lines.filter((l) => l.executionId === options.execution) : lines;
    return selected.slice(-(options.limit ?? 1000));
  }

  // ------------------------------------------------------------------ executions

  /**
   * Starts an execution of a workflow. `wait` resolves when it has finished; for async callers the execution is
   * already stored (as RUNNING) when this returns.
   */
  startExecution(appName: string, workflow: string, input: unknown, received: number): { executionId: string; wait: Promise<ExecutionView> } {
    this.checkOpen();
    const app = this.apps.get(appName);
    if (!Object.hasOwn(app.prepared.workflows, workflow)) {
      throw new MfError('MF_WORKFLOW_NOT_FOUND', `app "${appName}" has no workflow "${workflow}"`, { app: appName, workflow, workflows: Object.keys(app.prepared.workflows) });
    }
    const exec = this.executions.create(appName, workflow, null, received);
    const startTime = new Date().toISOString();
    const wait = this.finish(exec, this.parts.placement.run(app, exec, input, startTime));
    return { executionId: exec.executionId, wait };
  }

  /** Invokes one function directly, outside any workflow: one hop through the transport. */
  invokeFunction(appName: string, fn: string, input: unknown, received: number): Promise<ExecutionView> {
    this.checkOpen();
    const app = this.apps.get(appName);
    if (!app.prepared.functions.some((f) => f.name === fn)) {
      throw new MfError('MF_FUNCTION_NOT_FOUND', `app "${appName}" has no function "${fn}"`, { app: appName, function: fn });
    }
    const exec = this.executions.create(appName, null, fn, received);
    const run = async (): Promise<ExecutionResult> => (await this.parts.transport.hop(app, exec, { fn, input, state: null })).result;
    return this.finish(exec, run());
  }

  getExecution(id: string): ExecutionView {
    return this.executions.view(id);
  }

  getHistory(id: string): HistoryEvent[] {
    return this.executions.get(id).history;
  }

  // ------------------------------------------------------------------ lifecycle

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    await Promise.all(this.apps.all().map((app) => this.deleteApp(app.name).catch(() => undefined)));
    const { backend, transport, bus, storage, runDir } = this.parts;
    await backend.close();
    await transport.close();
    await bus.close();
    await storage.close();
    await rm(runDir, { recursive: true, force: true });
  }

  // ------------------------------------------------------------------ internals

  /** Stores an execution's outcome and metrics once it has a result; a platform fault is rethrown. */
  private async finish(exec: StoredExecution, running: Promise<ExecutionResult>): Promise<ExecutionView> {
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
    return executionView(exec);
  }

  /** Global-tier storage for one app; the app comes from the sandbox's link, never from the request, so apps stay apart. */
  private async storageFor(app: string, op: StorageOp): Promise<StorageReply> {
    try {
      return { ok: true, value: await this.parts.storage.apply(app, op) };
    } catch (err) {
      return { ok: false, error: toMfError(err, 'MF_STORAGE_FAILED').toJSON() };
    }
  }

  private liveSandboxes(): number {
    let n = 0;
    for (const app of this.apps.all()) n += app.sandboxes.live().length;
    return n;
  }

  private checkOpen(): void {
    if (this.closed) throw new MfError('MF_PLATFORM_CLOSED', 'the platform is closed');
  }
}
