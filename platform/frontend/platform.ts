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
import { MfError, toMfError } from '../errors.js';
import type { HistoryEvent, LogLine } from '../protocol.js';
import type { ExecutionStatus, ExecutionTimestamps, InvocationRecord } from '../records.js';
import type { SandboxBackend } from '../sandbox/backend.js';
import { createBackend } from '../sandbox/backends.js';
import { prepareApp, type PreparedApp } from './deploy.js';
import { PlatformMetrics } from './metrics.js';
import { SandboxLink, type DoneMessage } from './sandbox-link.js';
import { startHttpServer } from './http.js';
import { GlobalStorage } from '../storage/global-store.js';
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
}

export type AppLogLine = LogLine & { invocationId: string; function: string; executionId: string };

export interface AppSummary {
  name: string;
  functions: Array<{ name: string; handler: string; memoryMB: number; timeoutSeconds: number }>;
  workflows: string[];
  sandboxes: Array<{ id: string; pid: number | null; agentPid: number; backend: string; createdAt: string }>;
  deployedAt: string;
}

interface AppEntry {
  prepared: PreparedApp;
  deployedAt: string;
  link: SandboxLink | null;
  creating: Promise<SandboxLink> | null;
  logs: AppLogLine[];
}

/** Platform code the sandboxes must be able to read (the compiled dist folder). */
const DIST_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export class Platform {
  private readonly apps = new Map<string, AppEntry>();
  private readonly executions = new Map<string, StoredExecution>();
  readonly metrics = new PlatformMetrics();
  /** The durable global storage tier, one store per app, in the data directory (it outlives runs). */
  private readonly storage: GlobalStorage;
  private closed = false;

  constructor(
    readonly config: ResolvedConfig,
    private readonly backend: SandboxBackend,
    private readonly runDir: string,
  ) {
    this.storage = new GlobalStorage(join(config.dataDir, 'storage'));
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
    const entry: AppEntry = { prepared, deployedAt: new Date().toISOString(), link: null, creating: null, logs: [] };
    this.apps.set(prepared.name, entry);
    this.metrics.apps.set(this.apps.size);
    if (this.config.workerStart === 'deploy') {
      try {
        await this.sandboxFor(entry);
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
    const link = entry.link ?? (await entry.creating?.catch(() => null)) ?? null;
    if (link) {
      await link.destroy();
      this.metrics.sandboxes.dec();
    }
    if (entry.prepared.codeRoot) await rm(entry.prepared.codeRoot, { recursive: true, force: true });
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
    const exec = this.store({ executionId: id, app, workflow, status: 'RUNNING', error: null, cause: null, t: { received, dispatched: 0, completed: null }, records: [], history: [] });
    const wait = this.run(entry, exec, (sandboxStartMs) => ({
      t: 'execute',
      id,
      workflow,
      input,
      executionName: id,
      startTime,
      sandboxStartMs,
      wantHistory: this.config.keepHistory,
    }));
    return { executionId: id, wait };
  }

  /** Invokes one function directly, outside any workflow. */
  invokeFunction(app: string, fn: string, input: unknown, received: number): Promise<ExecutionView> {
    this.checkOpen();
    const entry = this.entry(app);
    if (!entry.prepared.functions.some((f) => f.name === fn)) {
      throw new MfError('MF_FUNCTION_NOT_FOUND', `app "${app}" has no function "${fn}"`, { app, function: fn });
    }
    const id = randomUUID();
    const exec = this.store({ executionId: id, app, workflow: null, function: fn, status: 'RUNNING', error: null, cause: null, t: { received, dispatched: 0, completed: null }, records: [], history: [] });
    return this.run(entry, exec, (sandboxStartMs) => ({ t: 'invoke', id, fn, input, sandboxStartMs }));
  }

  getExecution(id: string): ExecutionView {
    const { history: _history, ...view } = this.execution(id);
    return view;
  }

  getHistory(id: string): HistoryEvent[] {
    return this.execution(id).history;
  }

  // ------------------------------------------------------------------ lifecycle

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.apps.keys()].map((name) => this.deleteApp(name).catch(() => undefined)));
    await this.backend.close();
    await this.storage.close();
    await rm(this.runDir, { recursive: true, force: true });
  }

  // ------------------------------------------------------------------ internals

  private async run(
    entry: AppEntry,
    exec: StoredExecution,
    request: (sandboxStartMs: number | null) => Parameters<SandboxLink['request']>[0],
  ): Promise<ExecutionView> {
    let done: DoneMessage;
    try {
      const { link, startMs } = await this.sandboxFor(entry);
      exec.t.dispatched = now();
      done = await link.request(request(startMs));
    } catch (err) {
      const e = toMfError(err);
      exec.status = 'FAILED';
      exec.error = e.code;
      exec.cause = e.message;
      exec.t.completed = now();
      throw e;
    }
    exec.t.completed = now();
    exec.records = done.records;
    exec.history = done.history;
    if (done.result.status === 'SUCCEEDED') {
      exec.status = 'SUCCEEDED';
      exec.output = done.result.output;
    } else {
      exec.status = 'FAILED';
      exec.error = done.result.error;
      exec.cause = done.result.cause;
    }
    this.appendLogs(entry, exec.executionId, done.logs);
    this.metrics.recordExecution(exec.app, exec.workflow ?? `fn:${exec.function}`, exec.status, (exec.t.completed - exec.t.received) / 1000, exec.records);
    return this.getExecution(exec.executionId);
  }

  /** The app's sandbox, created on first use. Reports the start time only to the request that created it. */
  private async sandboxFor(entry: AppEntry): Promise<{ link: SandboxLink; startMs: number | null }> {
    if (entry.link?.alive) return { link: entry.link, startMs: null };
    let creator = false;
    if (!entry.creating) {
      creator = true;
      entry.creating = this.createSandbox(entry).finally(() => {
        entry.creating = null;
      });
    }
    const link = await entry.creating;
    return { link, startMs: creator ? link.startMs : null };
  }

  private async createSandbox(entry: AppEntry): Promise<SandboxLink> {
    const id = randomBytes(4).toString('hex');
    const { prepared } = entry;
    const link = await SandboxLink.create(
      this.backend,
      id,
      join(this.runDir, 'sb', id),
      {
        app: prepared.name,
        functions: prepared.functions,
        workflows: prepared.workflows,
        startWorkersAtDeploy: this.config.workerStart === 'deploy',
        poolSize: this.config.poolSize,
      },
      [DIST_ROOT, ...prepared.functions.map((f) => f.codeDir)],
      (op) => this.storageFor(prepared.name, op),
    );
    if (!this.apps.has(prepared.name) || this.closed) {
      // The app was deleted (or the platform closed) while its sandbox was starting.
      await link.destroy();
      throw new MfError('MF_APP_NOT_FOUND', `app "${prepared.name}" was deleted`, { app: prepared.name });
    }
    entry.link = link;
    this.metrics.sandboxes.inc();
    void link.sandbox.exited.then(() => {
      if (entry.link === link) {
        entry.link = null;
        this.metrics.sandboxes.dec();
      }
    });
    return link;
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
    const link = entry.link?.alive ? entry.link : null;
    return {
      name: prepared.name,
      functions: prepared.functions.map((f) => ({ name: f.name, handler: f.handler, memoryMB: f.memoryMB, timeoutSeconds: f.timeoutMs / 1000 })),
      workflows: Object.keys(prepared.workflows),
      sandboxes: link ? [{ id: link.id, pid: link.sandbox.pid, agentPid: link.agentPid, backend: link.sandbox.backend, createdAt: new Date(link.createdAt).toISOString() }] : [],
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
