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
import type { ExecutionResult, HistoryReply } from '../protocol.js';
import type { ExecutionStatus } from '../records.js';
import type { SandboxBackend } from '../sandbox/backend.js';
import type { GlobalTier } from '../storage/types.js';
import type { StorageOp, StorageReply, StoredValue } from '../storage/types.js';
import type { GlobalBus } from '../bus/global/index.js';
import type { JsonText } from '../json-text.js';
import { plain, RawJson } from '../asl/raw-json.js';
import { AppUsers } from './app-users.js';
import type { ManifestStore } from './app-manifests.js';
import { DeployedApp, type AppLogLine, type AppRegistry } from './apps.js';
import { prepareApp } from './deploy.js';
import type { ExecutionStore, ExecutionView, FinishedExecution, StoredExecution } from './executions.js';
import { PlatformMetrics } from './metrics.js';
import type { ExecutionPlacement } from './placement/placement.js';
import { acceptedId, acceptedMessage, readInterrupted, TOPIC_EXECUTIONS, type AcceptedExecution, type ExecutionEvent, type InterruptedExecution } from './recovery.js';
import { AppSandboxes, type SandboxEnvironment } from './sandboxes.js';
import { serveSessionTask } from '../sessions/task.js';
import type { SessionService } from './sessions.js';
import type { HopTransport } from './transport/transport.js';
import type { Work, WorkResult } from './hosts/work.js';
import type { BrokerResults, ResultPart } from './hosts/results.js';
import type { FrontendLife } from './hosts/frontends.js';
import { hostOf, type HostHistories } from './hosts/histories.js';

export type { AppLogLine } from './apps.js';
export type { ExecutionView, FinishedExecution } from './executions.js';

/** The parts a platform is composed of (start.ts makes them from the resolved config); it closes them all. */
export interface PlatformParts {
  readonly config: ResolvedConfig;
  readonly backend: SandboxBackend;
  /** This run's folder (deployed code, sandbox folders, the embedded bus); removed at close. */
  readonly runDir: string;
  readonly apps: AppRegistry;
  readonly executions: ExecutionStore;
  /** The deployed apps' manifests in the data directory, deployed again at the next start. */
  readonly manifests: ManifestStore;
  /** The durable global storage tier, one store per app, in the data directory (it outlives runs). */
  readonly storage: GlobalTier;
  /** The durable global bus: hops under the journal transport, checkpoints under the in-sandbox placement (docs/bus.md). */
  readonly bus: GlobalBus;
  readonly placement: ExecutionPlacement;
  readonly transport: HopTransport;
  /** The app's sessions; a workflow's session Tasks reach them too (the on-host placement directly, sandboxes by asking). */
  readonly sessions: SessionService;
  /**
   * This frontend's id and life when several share the broker (`hosts: remote`): its accepted executions carry them,
   * and its takeover (hosts/takeover.ts), not recover(), resumes the unfinished ones of every frontend life that died.
   */
  readonly frontend: FrontendLife | null;
  /** Finished executions on the broker, shared by its frontends (`hosts: remote`); null for a single platform or a host. */
  readonly sharedResults: BrokerResults | null;
  /** Engine histories kept on host agents, asked through the broker (`hosts: remote`); null otherwise. */
  readonly hostHistories: HostHistories | null;
}

let warnedOnce = false;

export class Platform {
  readonly config: ResolvedConfig;
  readonly metrics = new PlatformMetrics(() => this.liveSandboxes());
  private readonly apps: AppRegistry;
  /** Long-running session functions and their messages (docs/sessions.md). */
  readonly sessions: SessionService;
  private readonly executions: ExecutionStore;
  private readonly sandboxEnvironment: SandboxEnvironment;
  /** Each app's own OS user when the platform runs as root (docs/security.md). */
  private readonly users: AppUsers;
  /** Reclaims idle sandboxes after keep-alive. */
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;
  /** Async executions accepted and not yet started (see startExecution). */
  private readonly startQueue: Array<() => void> = [];
  /** Running executions journalled on the bus (async ones): their end is journalled too. */
  private readonly journalled = new Set<string>();
  /** Told each id whose end is journalled (hosts/takeover.ts removes its claim then). */
  private readonly endListeners: Array<(executionId: string) => void> = [];
  /** What recover() found finished in the data folder. */
  private finishedBefore: ReadonlySet<string> = new Set();

  constructor(readonly parts: PlatformParts) {
    const { config, backend, runDir, placement } = parts;
    this.config = config;
    this.users = new AppUsers(config.dataDir);
    if (this.users.warning !== null && !warnedOnce) {
      warnedOnce = true; // once per process: an embedding process may start many platforms in one place
      process.stderr.write(`${this.users.warning}\n`);
    }
    this.apps = parts.apps;
    this.sessions = parts.sessions;
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
      sessionEnded: (end) => this.sessions.onEnded(end),
      pipeBroker: (app, to, opener) => this.sessions.broker(app, to, opener),
      sessionTask: (app, op) => serveSessionTask(this.sessions.tasks(app), op),
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

  /** Deploys an app and keeps its manifest for restarts (`restoring`: it is one the data folder already kept). */
  async deploy(manifest: unknown, options: { restoring?: boolean } = {}): Promise<AppSummary> {
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
    try {
      if (!options.restoring) await this.parts.manifests.save(prepared.name, manifest);
      // A frontend whose hosts are remote owns no sandboxes: the hosts start theirs.
      if (this.config.workerStart === 'deploy' && this.config.hosts === 'local') await app.sandboxes.startAll();
    } catch (err) {
      // A restored app that cannot start now keeps its manifest: the next start tries again.
      await (options.restoring ? this.unload(prepared.name) : this.deleteApp(prepared.name));
      throw err;
    }
    return app.summary();
  }

  listApps(): AppSummary[] {
    return this.apps.all().map((app) => app.summary());
  }

  getApp(name: string): AppSummary {
    return this.apps.get(name).summary();
  }

  /** The definition a workflow of the app was deployed with, as it was sent. */
  getWorkflow(appName: string, workflow: string): unknown {
    const app = this.apps.get(appName);
    if (!Object.hasOwn(app.prepared.workflows, workflow)) {
      throw new MfError('MF_WORKFLOW_NOT_FOUND', `app "${appName}" has no workflow "${workflow}"`, { app: appName, workflow, workflows: Object.keys(app.prepared.workflows) });
    }
    return app.prepared.workflows[workflow];
  }

  /**
   * Keys of the app's global storage tier under `prefix`, sorted, at most `limit` of them (a read-only view for
   * people; functions use context.storage).
   */
  async storageKeys(appName: string, prefix: string, limit: number): Promise<{ keys: string[]; truncated: boolean }> {
    this.apps.get(appName);
    const keys = (await this.parts.storage.apply(appName, { op: 'list', prefix, tier: 'global' })) as string[];
    const sorted = [...keys].sort();
    return { keys: sorted.slice(0, limit), truncated: sorted.length > limit };
  }

  /** One value of the app's global tier as stored (`{json}` or base64 `{bytes}`), null when the key is absent. */
  async storageValue(appName: string, key: string): Promise<StoredValue | null> {
    this.apps.get(appName);
    return ((await this.parts.storage.apply(appName, { op: 'get', key, tier: 'global' })) as StoredValue | null | undefined) ?? null;
  }

  async deleteApp(name: string): Promise<void> {
    this.apps.get(name);
    await this.parts.manifests.remove(name);
    await this.unload(name);
  }

  /**
   * Stops the app's sandboxes and forgets it in this process; its kept manifest stays (close, delete's second half,
   * and a host agent whose copy of the app is out of date).
   */
  async unload(name: string, sessionsStopReason?: string): Promise<void> {
    const app = this.apps.get(name);
    // Sessions first, while the app is still known: each stops cleanly and leaves no worker behind.
    await this.sessions.stopApp(name, sessionsStopReason);
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
   * Starts an execution of a workflow. `wait` resolves when it has finished; the execution is already stored (as
   * RUNNING) when this returns. `later`: an async caller's execution starts after the current I/O has been served
   * (batched with the others accepted meanwhile), so that accepting a burst does not wait for dispatching it; it is
   * also journalled on the global bus (`journalled` resolves once it is), so that a restart runs it to its end.
   * `inputJson`: the input as the JSON text it arrived as (the request's body); the journal and a placement that
   * sends the input on take that text, so the input is never serialised for them.
   */
  startExecution(
    appName: string,
    workflow: string,
    input: unknown,
    received: number,
    options: { later?: boolean; inputJson?: string } = {},
  ): { executionId: string; wait: Promise<FinishedExecution>; journalled: Promise<void> } {
    this.checkOpen();
    const app = this.apps.get(appName);
    if (!Object.hasOwn(app.prepared.workflows, workflow)) {
      throw new MfError('MF_WORKFLOW_NOT_FOUND', `app "${appName}" has no workflow "${workflow}"`, { app: appName, workflow, workflows: Object.keys(app.prepared.workflows) });
    }
    const exec = this.executions.create(appName, workflow, null, received);
    const startTime = new Date().toISOString();
    const { inputJson } = options;
    const run = () => this.parts.placement.run(app, exec, input, startTime, inputJson);
    const wait = this.finish(exec, options.later ? this.soon(run) : run());
    if (!options.later) return { executionId: exec.executionId, wait, journalled: Promise.resolve() };
    const accepted = { t: 'accepted' as const, app: appName, workflow, received, startTime, ...this.acceptedBy };
    // Without the request's text (an in-process caller), the input is serialised here, once.
    return { executionId: exec.executionId, wait, journalled: this.journalAccepted(exec.executionId, acceptedMessage(accepted, inputJson ?? JSON.stringify(input))) };
  }

  /**
   * Reads back what the data folder holds from earlier runs: deploys the kept apps again, knows the finished
   * executions again, and runs the interrupted ones from their newest checkpoint (or from the start). Called once,
   * before the HTTP server starts; it is also what takes the data folder's bus (a second live platform fails here).
   */
  async recover(): Promise<Recovered> {
    const onDisk = await this.executions.storedIds();
    this.finishedBefore = onDisk;
    // A remote frontend's interrupted executions are resumed by its takeover, once it is registered as alive.
    const interrupted = this.parts.frontend === null ? await readInterrupted(this.parts.bus, onDisk) : [];
    const manifests = await this.parts.manifests.loadAll((name, err) => process.stderr.write(`app "${name}" was not restored: its kept manifest does not parse (${err.message})\n`));
    let apps = 0;
    for (const [name, manifest] of manifests) {
      try {
        await this.deploy(manifest, { restoring: true });
        apps++;
      } catch (err) {
        process.stderr.write(`app "${name}" was not restored: ${toMfError(err).message}\n`);
      }
    }
    for (const id of onDisk) this.executions.restore(id);
    for (const e of interrupted) this.resume(e, 'the platform restarted');
    return { apps, finished: onDisk.size, resumed: interrupted.length };
  }

  /**
   * The ids of the executions an earlier run of this data folder finished, as recover() read them (read once: what
   * this run finishes is journalled as finished on the bus).
   */
  finishedBeforeStart(): ReadonlySet<string> {
    return this.finishedBefore;
  }

  /** Calls `listener` with each async execution's id once its end is journalled on the global bus. */
  onEndJournalled(listener: (executionId: string) => void): void {
    this.endListeners.push(listener);
  }

  /**
   * Runs an interrupted execution again under its own id, from its checkpoint (after a restart, or taken over from a
   * frontend that died: `cause` says which); it ends once, like any other, and its end is journalled.
   */
  resume(e: InterruptedExecution, cause: string): void {
    this.checkOpen();
    const exec = this.executions.create(e.app, e.workflow, null, e.received, e.id);
    exec.checkpoint = e.checkpoint;
    exec.history.push({ t: now(), type: 'ExecutionRecovering', state: e.checkpoint?.state ?? 'StartAt', cause });
    this.journalled.add(e.id);
    const run = async (): Promise<ExecutionResult> => {
      const app = this.apps.get(e.app); // a typed failure if the app was not restored
      if (!Object.hasOwn(app.prepared.workflows, e.workflow)) throw new MfError('MF_WORKFLOW_NOT_FOUND', `app "${e.app}" has no workflow "${e.workflow}" any more`, { app: e.app, workflow: e.workflow });
      return this.parts.placement.run(app, exec, e.input, e.startTime);
    };
    this.finish(exec, this.soon(run)).catch(() => undefined); // the failure is kept with the execution
  }

  /**
   * Runs an execution a frontend placed on this host agent (hosts/agent.ts) under the frontend's id, from its
   * checkpoint, and returns what the frontend keeps: the result, the records and the history. A platform fault rejects.
   */
  /**
   * Runs an execution a frontend placed on this host agent. `stopped`: the frontend stopped it before its work
   * arrived (hosts/stops.ts); it is answered ABORTED without running.
   */
  async runPlaced(work: Work, stopped: { error: string | null; cause: string | null } | null = null): Promise<Omit<Extract<WorkResult, { result: unknown }>, 'executionId' | 'attempt' | 'host'>> {
    this.checkOpen();
    const app = this.apps.get(work.app);
    const exec = this.executions.create(work.app, work.workflow, work.fn, work.received, work.executionId);
    exec.checkpoint = work.checkpoint;
    const run = async (): Promise<ExecutionResult> => {
      if (work.fn !== null) return (await this.parts.transport.hop(app, exec, { fn: work.fn, input: work.input, state: null })).result;
      if (work.workflow === null || !Object.hasOwn(app.prepared.workflows, work.workflow)) {
        throw new MfError('MF_WORKFLOW_NOT_FOUND', `app "${work.app}" has no workflow "${work.workflow}"`, { app: work.app, workflow: work.workflow });
      }
      return this.parts.placement.run(app, exec, work.input, work.startTime);
    };
    // finish() listens for the abort before it awaits, so a stop sent ahead ends it ABORTED as a live stop would.
    const finishing = this.finish(exec, stopped ? new Promise<ExecutionResult>(() => undefined) : run());
    if (stopped) exec.abort.abort(new StopRequest(stopped.error, stopped.cause));
    await finishing;
    const result: ExecutionResult = exec.status === 'SUCCEEDED' ? { status: 'SUCCEEDED', output: exec.output } : { status: 'FAILED', error: exec.error ?? 'States.Runtime', cause: exec.cause ?? '' };
    return { result, records: exec.records, history: exec.history, historyKept: exec.historyIn !== null };
  }

  /** A host agent's part of a stop (hosts/stops.ts): aborts its run of the execution; false when it runs none. */
  stopRun(id: string, error: string | null, cause: string | null): boolean {
    const exec = this.executions.running(id);
    if (!exec) return false;
    exec.abort.abort(new StopRequest(error, cause));
    return true;
  }

  /** Whether this process ran the execution to its end (it knows it, and it is not running). */
  hasFinished(id: string): boolean {
    try {
      this.executions.historyIn(id); // throws for an id this process does not know
    } catch {
      return false;
    }
    return this.executions.running(id) === null;
  }

  /**
   * The engine's part of an execution's history as the sandbox that ran it keeps it (a host agent answers a
   * frontend's ask with it, hosts/histories.ts); `unknown` when no sandbox of this process kept it.
   */
  engineHistory(id: string): Promise<HistoryReply> {
    let sandboxId: string | null;
    try {
      sandboxId = this.executions.historyIn(id);
    } catch {
      sandboxId = null; // not known here (this host started again since)
    }
    if (sandboxId === null) return Promise.resolve({ kind: 'unknown' });
    const link = this.apps
      .all()
      .flatMap((app) => app.sandboxes.live())
      .find((l) => l.id === sandboxId);
    return link ? link.history(id) : Promise.resolve({ kind: 'unknown' });
  }

  /** Who accepted an execution, as its `accepted` event says (nothing for a single platform). */
  private get acceptedBy(): Pick<AcceptedExecution, 'frontend' | 'generation'> {
    const f = this.parts.frontend;
    return f === null ? {} : { frontend: f.frontendId, generation: f.generation };
  }

  /** Journals an accepted execution; the caller is answered once the journal has it. */
  private journalAccepted(id: string, accepted: JsonText): Promise<void> {
    this.journalled.add(id);
    return this.parts.bus.publish(TOPIC_EXECUTIONS, id, accepted, { id: acceptedId(id) }).then(() => undefined);
  }

  /** Invokes one function directly, outside any workflow: one hop through the transport. */
  invokeFunction(appName: string, fn: string, input: unknown, received: number, inputJson?: string): Promise<FinishedExecution> {
    this.checkOpen();
    const app = this.apps.get(appName);
    if (!app.prepared.functions.some((f) => f.name === fn)) {
      throw new MfError('MF_FUNCTION_NOT_FOUND', `app "${appName}" has no function "${fn}"`, { app: appName, function: fn });
    }
    const exec = this.executions.create(appName, null, fn, received);
    const run = async (): Promise<ExecutionResult> => (await this.parts.transport.hop(app, exec, { fn, input, state: null, ...(inputJson === undefined ? {} : { inputJson }) })).result;
    return this.finish(exec, run());
  }

  /**
   * Any known execution, running or finished (a spilled one is read back from disk); one this frontend does not
   * know, another frontend of the broker finished (read from the broker).
   */
  async getExecution(id: string): Promise<FinishedExecution> {
    try {
      return await this.executions.answer(id);
    } catch (err) {
      const json = await this.shared(id, 'view', err);
      return { json, view: () => JSON.parse(json) as ExecutionView };
    }
  }

  /**
   * An execution's history, as JSON text: the events the platform recorded (recoveries), then those the engine made,
   * fetched now from the sandbox that ran it when it ran in one (docs/architecture.md#execution-history); from the
   * broker when another frontend finished it.
   */
  async getHistoryJson(id: string): Promise<string> {
    let own: string;
    let sandboxId: string | null;
    try {
      own = await this.executions.historyJson(id);
      sandboxId = this.executions.historyIn(id);
    } catch (err) {
      own = await this.shared(id, 'history', err);
      sandboxId = (await this.parts.sharedResults?.historyIn(id)) ?? null;
    }
    if (sandboxId === null) return own;
    // A host agent's sandbox (hosts: remote) is asked through the broker; one of this process directly.
    const host = hostOf(sandboxId);
    const { hostHistories } = this.parts;
    const reply = host !== null ? (hostHistories !== null ? await hostHistories.ask(host, id) : ({ kind: 'unknown' } as const)) : await this.engineHistory(id);
    if (reply.kind === 'events') return joinJsonArrays(own, reply.json);
    if (reply.kind === 'evicted') {
      throw new MfError('MF_HISTORY_EVICTED', `${host !== null ? `a sandbox of host agent "${host}"` : `sandbox ${sandboxId}`} dropped the history of execution "${id}" to stay within its bounds`, { executionId: id, ...(host !== null ? { host } : { sandboxId }), evicted: reply.evicted });
    }
    const where = host !== null ? { text: `on host agent "${host}", whose sandboxes are gone (it stopped or started again)`, details: { host } } : { text: `in sandbox ${sandboxId}, which is gone`, details: { sandboxId } };
    throw new MfError('MF_HISTORY_GONE', `the history of execution "${id}" stayed ${where.text}`, { executionId: id, ...where.details, events: JSON.parse(own) as unknown });
  }

  /** A part of an execution another frontend finished; rethrows `notHere` (MF_EXECUTION_NOT_FOUND) when none did. */
  private async shared(id: string, part: ResultPart, notHere: unknown): Promise<string> {
    const { sharedResults } = this.parts;
    if (sharedResults === null || !(notHere instanceof MfError && notHere.code === 'MF_EXECUTION_NOT_FOUND')) throw notHere;
    const text = await sharedResults.get(id, part);
    if (text === null) throw notHere;
    return text;
  }

  /**
   * StopExecution: a running execution ends ABORTED now, with the given error and cause, and makes no further
   * transitions (its placement tells the engine, wherever it runs). A finished one is answered as it is.
   */
  stopExecution(id: string, error: string | null, cause: string | null): Promise<FinishedExecution> {
    this.executions.running(id)?.abort.abort(new StopRequest(error, cause));
    return this.executions.answer(id);
  }

  // ------------------------------------------------------------------ lifecycle

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    const reason = 'platform-closed: the platform (or host agent) running it stopped';
    await Promise.all(this.apps.all().map((app) => this.unload(app.name, reason).catch(() => undefined)));
    const { backend, transport, bus, storage, runDir } = this.parts;
    await backend.close();
    await transport.close();
    await bus.close();
    await storage.close();
    await this.executions.close();
    await rm(runDir, { recursive: true, force: true });
  }

  // ------------------------------------------------------------------ internals

  /**
   * Stores an execution's outcome and metrics once it has a result, or at once when it is stopped (the engine winds
   * down behind it; what it reports later is dropped). A platform fault is stored, then rethrown.
   */
  private async finish(exec: StoredExecution, running: Promise<ExecutionResult>): Promise<FinishedExecution> {
    // A holder, not a variable: it is set in a listener, where the compiler cannot follow it.
    const stop: { finished: FinishedExecution | null } = { finished: null };
    const whenStopped = new Promise<null>((resolve) => {
      exec.abort.signal.addEventListener(
        'abort',
        () => {
          const { error, cause } = exec.abort.signal.reason instanceof StopRequest ? exec.abort.signal.reason : new StopRequest(null, null);
          stop.finished = this.store(exec, 'ABORTED', { error, cause });
          resolve(null);
        },
        { once: true },
      );
    });
    let result: ExecutionResult | null;
    try {
      result = await Promise.race([running, whenStopped]);
    } catch (err) {
      if (stop.finished) return stop.finished;
      const e = toMfError(err);
      this.store(exec, 'FAILED', { error: e.code, cause: e.message });
      throw e;
    }
    if (stop.finished) {
      running.catch(() => undefined); // the abandoned run's outcome has nowhere to go
      return stop.finished;
    }
    if (result === null) throw new MfError('MF_INTERNAL', 'an execution ended as stopped without a stored answer');
    if (result.status === 'FAILED') return this.store(exec, 'FAILED', { error: result.error, cause: result.cause });
    // An output framed by a sandbox (a RawJson, checked by the link) is measured by its bytes and spliced into the
    // stored answer as their text; any other is serialised once, here, for both.
    const { output } = result;
    const raw = output instanceof RawJson;
    const outputJson = raw ? output.text : (JSON.stringify(output) ?? 'null');
    const bytes = raw ? output.bytes.length : Buffer.byteLength(outputJson);
    if (bytes > this.config.maxResultBytes) {
      return this.store(exec, 'FAILED', { error: 'MF_RESULT_TOO_LARGE', cause: `the output is ${bytes} bytes, over the limit of ${this.config.maxResultBytes} (maxResultBytes)` });
    }
    exec.output = plain(output);
    return this.store(exec, 'SUCCEEDED', { error: null, cause: null }, outputJson);
  }

  private store(exec: StoredExecution, status: ExecutionStatus, why: { error: string | null; cause: string | null }, outputJson: string | null = null): FinishedExecution {
    exec.t.completed = now();
    exec.status = status;
    exec.error = why.error;
    exec.cause = why.cause;
    exec.checkpoint = null;
    this.metrics.recordExecution(exec.app, exec.workflow ?? `fn:${exec.function}`, status, (exec.t.completed - exec.t.received) / 1000, exec.records);
    const finished = this.executions.finish(exec, outputJson);
    // Off the path, once its own files are written: every frontend of the broker answers it from then on.
    const { sharedResults } = this.parts;
    // A history kept on a host says so, for the frontends that answer it from the broker.
    const historyIn = hostOf(exec.historyIn) !== null ? exec.historyIn : null;
    if (sharedResults !== null) void finished.written.then(() => sharedResults.put(exec.executionId, finished.json, finished.history, historyIn)).catch(() => undefined);
    if (this.journalled.delete(exec.executionId)) {
      // Off the hot path: once the result is on disk, the journal says the execution needs no recovery.
      const { bus } = this.parts;
      // Then its accepted input is needed no more (a broker deletes it if it travelled by reference).
      const id = exec.executionId;
      void finished.written
        .then(() => bus.publish<ExecutionEvent>(TOPIC_EXECUTIONS, id, { t: 'finished' }))
        .then(() => {
          for (const listener of this.endListeners) listener(id);
          return bus.release(TOPIC_EXECUTIONS, id, acceptedId(id));
        })
        .catch(() => undefined);
    }
    return finished;
  }

  /** Runs `start` once the I/O now pending has been served; every start queued meanwhile shares one turn. */
  private soon<T>(start: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve) => {
      if (this.startQueue.push(() => resolve(start())) === 1) {
        setImmediate(() => {
          for (const queued of this.startQueue.splice(0)) queued();
        });
      }
    });
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

/** What a start read back from the data folder: apps deployed again, finished executions known again, executions resumed. */
export interface Recovered {
  apps: number;
  finished: number;
  resumed: number;
}

/** Why an execution was aborted: StopExecution's optional error and cause. */
class StopRequest {
  constructor(
    readonly error: string | null,
    readonly cause: string | null,
  ) {}
}

/** Two JSON arrays' texts as one array's text. */
function joinJsonArrays(a: string, b: string): string {
  if (a === '[]') return b;
  if (b === '[]') return a;
  return `${a.slice(0, -1)},${b.slice(1)}`;
}
