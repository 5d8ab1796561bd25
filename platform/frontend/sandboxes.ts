/**
 * The sandboxes of one app: a pool per unit of sandboxing (the whole app under grouped sandboxing, each function
 * under per-function), how a sandbox of a unit is made, and the one loop that runs a request on a sandbox and runs
 * it again on another when the sandbox dies.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { now } from '../clock.js';
import type { ResolvedConfig } from '../config.js';
import { toMfError } from '../errors.js';
import type { Checkpoint, DoneMessage, ExecutionLimits, SandboxAppSpec, SandboxRequest, SandboxStartTimes } from '../protocol.js';
import type { SandboxBackend } from '../sandbox/backend.js';
import type { RemotePipeTarget, SessionRecord, SessionReply, SessionState, SessionTaskOp } from '../sessions/types.js';
import type { StorageOp, StorageReply } from '../storage/types.js';
import type { PreparedApp } from './deploy.js';
import type { StoredExecution } from './executions.js';
import { SandboxLink, sandboxDiedFromOutside } from './sandbox-link.js';
import { SandboxPool, type Slot } from './sandbox-pool.js';

/** The answer to a request stopped before it reached a sandbox: nothing ran. */
function notSent(id: string): DoneMessage {
  return { t: 'done', id, result: { status: 'FAILED', error: 'States.Aborted', cause: 'The execution was stopped before it started' }, records: [], logs: [] };
}

/** The pool key of an app's sandboxes under grouped sandboxing. */
const GROUPED = '*';

/** Memory of a sandbox agent or an idle runtime process, for the sandbox's memory limit (measured: ~46 MB RSS). */
const SANDBOX_OVERHEAD_MB = 64;

/** Platform code the sandboxes must be able to read (the compiled dist folder). */
const DIST_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What every app's sandboxes share: chosen once, where the platform is composed. */
export interface SandboxEnvironment {
  readonly config: ResolvedConfig;
  readonly backend: SandboxBackend;
  /** Sandbox folders go under <runDir>/sb. */
  readonly runDir: string;
  /** Whether sandboxes carry the app's workflows and report checkpoints (the engine runs inside them). */
  readonly workflowsInSandbox: boolean;
  /** Serves one app's global-tier storage; the app comes from the sandbox, never from the request. */
  storage(app: string, op: StorageOp): Promise<StorageReply>;
  checkpoints(items: Checkpoint[]): void;
  /** Keeps a line one of the app's sandboxes printed in the app's logs. */
  output(app: string, line: string, stream: 'stdout' | 'stderr'): void;
  /** A session ended in one of the app's sandboxes. */
  sessionEnded(end: { state: SessionState; records: SessionRecord[] }): void;
  /** Brokers a pipe from a session instance in the sandbox `opener` to an instance of another session of the app. */
  pipeBroker(app: string, to: RemotePipeTarget, opener: PipeOpener): Promise<SessionReply>;
  /** A session Task of a workflow the sandbox runs: always on the sandbox's own app (sessions/task.ts). */
  sessionTask(app: string, op: SessionTaskOp): Promise<SessionReply>;
}

/** The sandbox a brokered pipe starts from: its id and its folder. */
export interface PipeOpener {
  sandboxId: string;
  dir: string;
}

/** The platform's bounds on one execution, for the engine wherever it runs. */
export function executionLimits(config: Pick<ResolvedConfig, 'maxTransitions' | 'maxExecutionSeconds'>): ExecutionLimits {
  return { maxTransitions: config.maxTransitions, maxDurationMs: config.maxExecutionSeconds * 1000 };
}

export class AppSandboxes {
  /** Pools by unit: GROUPED, or a function name under per-function sandboxing. */
  private readonly pools = new Map<string, SandboxPool>();

  constructor(
    private readonly app: PreparedApp,
    private readonly env: SandboxEnvironment,
  ) {}

  /**
   * Runs one request on a sandbox of `fn`'s unit (null: the app's own unit). If the sandbox dies during it, the
   * request runs again on another sandbox, up to recoveryAttempts times; so does a request whose sandbox was killed
   * while it was starting. `recovering` is told of each new attempt.
   */
  async request(
    fn: string | null,
    exec: StoredExecution,
    /** `attempt` is 0 for the first run and n for the n-th recovery (the records of that run say so); `sandboxId` runs it. */
    message: (sandboxStart: SandboxStartTimes | null, attempt: number, sandboxId: string) => SandboxRequest,
    recovering: (attempt: number, cause: string) => void,
    /** Aborting it tells the sandbox running the request to stop it (a stopped execution, a cancelled hop). */
    signal?: AbortSignal,
  ): Promise<DoneMessage> {
    const pool = this.pool(fn);
    for (let attempt = 0; ; attempt++) {
      let slot: Slot | null = null;
      let onAbort: (() => void) | null = null;
      try {
        // A sandbox killed while it starts fails acquire() the way one killed while serving fails request().
        slot = await pool.acquire({ first: attempt > 0 });
        if (exec.t.dispatched === 0) exec.t.dispatched = now();
        if (signal?.aborted) return notSent(exec.executionId);
        const request = message(slot.start, attempt, slot.link.id);
        if (signal) {
          const link = slot.link;
          onAbort = () => link.abort(request.header.id, reasonText(signal.reason));
          signal.addEventListener('abort', onAbort, { once: true });
        }
        const answer = slot.link.request(request);
        if (signal?.aborted) onAbort?.();
        return await answer;
      } catch (err) {
        if (!sandboxDiedFromOutside(err) || attempt >= this.env.config.recoveryAttempts || signal?.aborted) throw err;
        recovering(attempt + 1, toMfError(err).message);
      } finally {
        if (onAbort) signal!.removeEventListener('abort', onAbort);
        if (slot) pool.release(slot.link);
      }
    }
  }

  /**
   * Holds a slot on a sandbox of the app's own unit for as long as a session runs there, so that keep-alive does
   * not reclaim it; `release` gives the slot back.
   */
  async hold(): Promise<{ link: SandboxLink; release(): void }> {
    const pool = this.pool(null);
    const { link } = await pool.acquire();
    return { link, release: () => pool.release(link) };
  }

  /** The sandboxes alive now, across units. */
  live(): SandboxLink[] {
    return [...this.pools.values()].flatMap((pool) => pool.sandboxes).filter((link) => link.alive);
  }

  /** workerStart: deploy: every sandbox of the app, and its workers, start now. */
  async startAll(): Promise<void> {
    const units = this.env.config.sandboxing === 'per-function' ? this.app.functions.map((f) => f.name) : [null];
    await Promise.all(
      units.map(async (fn) => {
        const pool = this.pool(fn);
        const { link } = await pool.acquire();
        pool.release(link);
      }),
    );
  }

  /** Destroys sandboxes idle for longer than keep-alive. */
  reclaimIdle(): void {
    for (const pool of this.pools.values()) void pool.reclaimIdle();
  }

  /** Destroys every sandbox; `close` also refuses new requests (the app is being removed). Returns how many. */
  async destroyAll(options: { close?: boolean } = {}): Promise<number> {
    const counts = await Promise.all([...this.pools.values()].map((pool) => pool.destroyAll(options)));
    return counts.reduce((a, b) => a + b, 0);
  }

  private pool(fn: string | null): SandboxPool {
    const { config } = this.env;
    const perFunction = config.sandboxing === 'per-function';
    const key = perFunction && fn !== null ? fn : GROUPED;
    let pool = this.pools.get(key);
    if (!pool) {
      const only = key === GROUPED ? null : key;
      pool = new SandboxPool({
        // A sandbox takes as many requests as its workers can run at once; beyond that the pool makes another sandbox
        // of the unit (the function under per-function, the app under grouped), up to its bound.
        capacity: config.workerConcurrency * config.maxWorkersPerFunction,
        maxSandboxes: perFunction ? config.maxSandboxesPerFunction : config.maxSandboxesPerApp,
        keepAliveMs: config.keepAliveSeconds * 1000,
        create: () => this.create(only),
      });
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** Creates one sandbox holding the whole app (fn null) or one function of it. */
  private create(fn: string | null): Promise<SandboxLink> {
    const { config, backend, runDir, workflowsInSandbox } = this.env;
    const id = randomBytes(4).toString('hex');
    const functions = fn === null ? this.app.functions : this.app.functions.filter((f) => f.name === fn);
    const spec: SandboxAppSpec = {
      app: this.app.name,
      functions,
      // Only a sandbox that runs workflows itself needs them.
      workflows: workflowsInSandbox ? this.app.workflows : {},
      startWorkersAtDeploy: config.workerStart === 'deploy',
      policy: {
        poolSize: config.poolSize,
        workerConcurrency: config.workerConcurrency,
        maxWorkersPerFunction: config.maxWorkersPerFunction,
        keepAliveMs: config.keepAliveSeconds * 1000,
        recoveryAttempts: config.recoveryAttempts,
        checkpoints: workflowsInSandbox && config.recoveryAttempts > 0,
        limits: executionLimits(config),
        maxResultBytes: config.maxResultBytes,
        handover: config.handover,
        history: { maxExecutions: config.maxStoredExecutions, maxBytes: config.maxStoredExecutionBytes },
      },
    };
    // The sandbox's memory: its functions' limits (each may run maxWorkersPerFunction workers) plus the agent and the pool.
    const memoryMB = functions.reduce((sum, f) => sum + f.memoryMB * config.maxWorkersPerFunction, 0) + SANDBOX_OVERHEAD_MB * (1 + config.poolSize);
    const where = { sandboxId: id, dir: join(runDir, 'sb', id), readPaths: [DIST_ROOT, ...functions.map((f) => f.codeDir)], memoryMB, user: this.app.user };
    return SandboxLink.create(backend, where, spec, {
      storage: (op) => this.env.storage(this.app.name, op),
      checkpoints: (items) => this.env.checkpoints(items),
      output: (line, stream) => this.env.output(this.app.name, line, stream),
      sessionEnded: (end) => this.env.sessionEnded(end),
      pipeBroker: (to) => this.env.pipeBroker(this.app.name, to, { sandboxId: id, dir: where.dir }),
      sessionTask: (op) => this.env.sessionTask(this.app.name, op),
    });
  }
}

/** What the function's AbortError says: the abort's own message when it has one (a stop's cause, an Error). */
function reasonText(reason: unknown): string {
  if (typeof reason === 'string') return reason;
  const message = (reason as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message !== '' ? message : 'the execution was stopped';
}
