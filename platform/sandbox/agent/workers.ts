/**
 * The worker processes of one sandbox: a pool of pre-booted, not yet specialised runtime processes (the Node
 * counterpart of SAND's fork: a new function worker loads code into an already running Node instead of booting
 * one), and one specialised worker per function. Enforces each function's timeout and memory limit by killing its
 * worker; a dead worker is replaced on the next invocation.
 */
import type { ChildProcess } from 'node:child_process';
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { isMfError, MfError, type ErrorCode } from '../../errors.js';
import type { FunctionSpec } from '../../manifest.js';
import { now } from '../../clock.js';
import { FrameChannel } from '../../bus/frames.js';
import { LOCAL_BUS_FD, type AgentToWorker, type AgentToWorkerFrame, type Handover, type WorkerToAgent, type WorkerToAgentFrame } from '../../protocol.js';
import type { ColdStartPhases } from '../../records.js';
import type { StorageOp, StorageReply } from '../../storage/types.js';
import { bootRuntime, type RuntimeProcess } from './runtime-boot.js';

const MEMORY_CHECK_INTERVAL_MS = 100;
const PAGE_SIZE = 4096;
/** How long an invocation told to stop (context.signal aborted) may take to answer before it is abandoned. */
export const CANCEL_GRACE_MS = 2000;
/**
 * A worker over its memory limit with several invocations in flight is drained, not killed (the breach cannot be
 * pinned on one of them); past this multiple of the limit it is killed all the same.
 */
const MEMORY_HARD_FACTOR = 1.5;

/** What came back from one invocation: the worker's answer, or a fault that ended it. */
export type InvocationAnswer =
  /** `payload`: the handler's value as the JSON bytes the worker framed; null when it failed (`message.error`). */
  | { kind: 'result'; message: WorkerToAgentFrame; payload: Buffer | null }
  | {
      kind: 'fault';
      code: Extract<ErrorCode, 'MF_FUNCTION_TIMEOUT' | 'MF_WORKER_EXITED' | 'MF_FUNCTION_MEMORY_EXCEEDED' | 'MF_INVOCATION_ABANDONED'>;
      message: string;
      /** The worker was killed from outside (a signal neither the function nor the agent sent): safe to run again. */
      external?: boolean;
    };

/** Scaling and reclaiming policy for the workers of one sandbox. */
export interface WorkerPolicy {
  poolSize: number;
  workerConcurrency: number;
  maxWorkersPerFunction: number;
  keepAliveMs: number;
  /** Times a worker killed from outside while it boots or loads is replaced before its callers see the failure. */
  recoveryAttempts: number;
  /** Results larger than this are not handed over between workers (the agent refuses them). */
  maxResultBytes: number;
  /** Whether workers get an inbox for handed-over invocations (off: none is opened). */
  handover: boolean;
}

/** Unix socket paths longer than this do not fit a sockaddr_un on every platform: such a worker gets no inbox. */
const MAX_SOCKET_PATH = 100;

type Fault = Extract<InvocationAnswer, { kind: 'fault' }>;

interface Pending {
  resolve(answer: InvocationAnswer): void;
  /** The function's timeout, then (once told to stop) the grace period; null until a handed-over invocation starts. */
  timer: NodeJS.Timeout | null;
  /** Told to stop: the fault it ends with whatever it answers (a timeout), or null to keep its own answer (an abort). */
  stopping: { fault: Fault | null } | null;
  /** Did not stop in time: its answer is no longer awaited; it ends when its worker is gone. */
  abandoned: Fault | null;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | null;
}

/** A pool runtime still booting; a worker start that finds no idle runtime claims it rather than fork another. */
interface BootingRuntime {
  promise: Promise<RuntimeProcess>;
  claimed: boolean;
}

export class FunctionWorker {
  readonly inflight = new Map<string, Pending>();
  /** Slots promised by acquire() whose invocation has not been sent yet. */
  reserved = 0;
  /** When the worker last finished an invocation (or started): idle workers are reclaimed after keep-alive. */
  lastActive = now();
  killReason: 'memory' | 'drained' | 'shutdown' | 'idle' | null = null;
  /**
   * Takes no new invocations; killed (and so replaced) once every invocation still in it has finished or been
   * abandoned. Set when an invocation is abandoned or the worker went over its memory limit.
   */
  draining: 'abandoned' | 'memory' | null = null;
  dead = false;
  /** It died from a signal nobody in the sandbox sent: what it was running may run again. */
  killedFromOutside = false;
  /** The local bus to this worker: invocations out, results back (set when the worker is adopted). */
  bus: FrameChannel<WorkerToAgentFrame, AgentToWorkerFrame> | null = null;
  /** The socket on which it takes invocations handed over by other workers; null when it has none. */
  inbox: string | null = null;

  constructor(
    readonly spec: FunctionSpec,
    readonly child: ChildProcess,
    readonly origin: 'pool' | 'spawn',
  ) {}

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get load(): number {
    return this.inflight.size + this.reserved;
  }
}

/** The workers of one function in this sandbox, and the callers waiting for a free slot. */
interface FunctionWorkers {
  live: FunctionWorker[];
  starting: number;
  waiting: Array<{ resolve(a: Acquired): void; reject(e: unknown): void }>;
}

export interface Acquired {
  worker: FunctionWorker;
  /** The caller waited for this worker to start (it is a cold-worker invocation). */
  started: boolean;
  phases: ColdStartPhases;
}

export class Workers {
  private readonly idlePool: RuntimeProcess[] = [];
  /** Pool boots in flight that a worker start waits for: no other boot starts meanwhile, to share its CPU. */
  private claimedBooting = 0;
  /** Pool boots in flight that no worker start has claimed yet, oldest first. */
  private readonly bootingPool: BootingRuntime[] = [];
  private readonly byFunction = new Map<string, FunctionWorkers>();
  private readonly memoryTimer: NodeJS.Timeout;
  private readonly idleTimer: NodeJS.Timeout;
  private closed = false;
  /** A memory sample is being read (asynchronously, so the local bus's event loop never waits on /proc). */
  private sampling = false;

  constructor(
    private readonly functions: ReadonlyMap<string, FunctionSpec>,
    private readonly policy: WorkerPolicy,
    private readonly cwd: string,
    /** Serves the workers' `context.storage` calls. */
    private readonly storage: (op: StorageOp) => Promise<StorageReply>,
    /** The pool's first runtime, forked when the agent process started (main.ts), before the app was deployed. */
    early: Promise<RuntimeProcess> | null = null,
  ) {
    this.memoryTimer = setInterval(() => void this.checkMemory(), MEMORY_CHECK_INTERVAL_MS);
    this.memoryTimer.unref();
    this.idleTimer = setInterval(() => this.reclaimIdle(), Math.min(1000, policy.keepAliveMs / 2));
    this.idleTimer.unref();
    // With a runtime already booting, the rest of the pool waits for it: the first invocation is likely to need it.
    if (early) this.addBooting(early);
    else this.refillPool();
  }

  /** Live worker pids by function, and the idle pool size. */
  snapshot(): { workers: Record<string, number[]>; pool: number } {
    const workers: Record<string, number[]> = {};
    for (const [name, f] of this.byFunction) workers[name] = f.live.map((w) => w.pid);
    return { workers, pool: this.idlePool.length };
  }

  /**
   * A slot on one of the function's workers: the least loaded worker under its concurrency limit; else a new
   * worker (from the pool when it has one) while the function has fewer than maxWorkersPerFunction; else the
   * caller waits for a slot. The slot is reserved until invoke() uses it.
   */
  acquire(fn: string): Promise<Acquired> {
    if (this.closed) return Promise.reject(new MfError('MF_PLATFORM_CLOSED', 'the sandbox is shutting down'));
    if (!this.functions.has(fn)) return Promise.reject(new MfError('MF_FUNCTION_NOT_FOUND', `the app has no function "${fn}"`, { function: fn }));
    const f = this.workersOf(fn);
    const free = this.leastLoaded(f);
    if (free) {
      free.reserved++;
      return Promise.resolve({ worker: free, started: false, phases: {} });
    }
    if (f.live.length + f.starting < this.policy.maxWorkersPerFunction) return this.startFor(fn, f);
    return new Promise((resolve, reject) => f.waiting.push({ resolve, reject }));
  }

  /**
   * Sends one invocation to a worker, its event already serialised (JSON text or bytes); resolves with its answer or the fault that ended it. Never rejects. When its
   * function's timeout expires or `signal` aborts, the worker is told (the function's context.signal aborts); an
   * invocation that does not answer within CANCEL_GRACE_MS is abandoned and its worker drained. The promise settles
   * only when the invocation can no longer run: it answered, or its worker is gone (docs/recovery.md).
   */
  invoke(
    worker: FunctionWorker,
    id: string,
    event: Buffer | string,
    executionId: string | null,
    idempotencyKey: string,
    signal?: AbortSignal,
    next?: Handover,
  ): Promise<InvocationAnswer> {
    const answer = this.expect(worker, id);
    if (worker.dead) return answer;
    this.started(worker, id);
    this.watch(worker, id, signal);
    const header: AgentToWorkerFrame = { t: 'invoke', id, deadline: now() + worker.spec.timeoutMs, executionId, idempotencyKey };
    if (next) header.next = next;
    worker.bus!.send(header, event);
    return answer;
  }

  /**
   * A slot on an idle-enough worker of `fn` that takes handed-over invocations, reserved; null when the function has
   * no such worker now. Never starts one: a hop that would wait for a worker goes through the agent instead.
   */
  reserveForHandover(fn: string): FunctionWorker | null {
    if (this.closed) return null;
    const f = this.byFunction.get(fn);
    if (!f || f.waiting.length > 0) return null;
    const free = this.leastLoaded(f);
    if (!free || free.inbox === null) return null;
    free.reserved++;
    return free;
  }

  /**
   * Takes a reserved slot for invocation `id`, which the worker gets from the agent (invoke) or from another worker
   * (a handover); resolves as invoke() does. Its timeout starts with started().
   */
  expect(worker: FunctionWorker, id: string): Promise<InvocationAnswer> {
    return new Promise<InvocationAnswer>((resolve) => {
      if (worker.dead) {
        resolve({ kind: 'fault', code: 'MF_WORKER_EXITED', message: `worker ${worker.pid} of "${worker.spec.name}" had exited`, external: worker.killedFromOutside });
        return;
      }
      worker.reserved = Math.max(0, worker.reserved - 1);
      worker.inflight.set(id, { resolve, timer: null, stopping: null, abandoned: null, signal: undefined, onAbort: null });
    });
  }

  /** The invocation has been sent: its function's timeout runs from now. */
  started(worker: FunctionWorker, id: string): void {
    const pending = worker.inflight.get(id);
    if (!pending || pending.timer !== null || pending.stopping) return;
    pending.timer = setTimeout(() => {
      const message = `function "${worker.spec.name}" timed out after ${worker.spec.timeoutMs / 1000} seconds`;
      this.stop(worker, id, pending, 'the function timed out', { kind: 'fault', code: 'MF_FUNCTION_TIMEOUT', message });
    }, worker.spec.timeoutMs);
  }

  /** When `signal` aborts, the invocation is told to stop, and abandoned if it does not (see invoke). */
  watch(worker: FunctionWorker, id: string, signal: AbortSignal | undefined): void {
    const pending = worker.inflight.get(id);
    if (!pending || !signal) return;
    pending.signal = signal;
    // A listener, not a timer or a message: the abort plumbing costs nothing until something aborts.
    pending.onAbort = () => this.stop(worker, id, pending, 'the result is no longer wanted', null);
    if (signal.aborted) pending.onAbort();
    else signal.addEventListener('abort', pending.onAbort, { once: true });
  }

  /**
   * Gives up a planned handover that was not (or may not have been) handed over: its slot is freed at once, and the
   * worker is told to cancel it in case the event still arrives (its answer is then ignored).
   */
  withdraw(worker: FunctionWorker, id: string): void {
    const pending = worker.inflight.get(id);
    if (!pending) return;
    this.settle(worker, id, pending, { kind: 'fault', code: 'MF_INVOCATION_ABANDONED', message: `the handover ${id} to "${worker.spec.name}" was withdrawn` });
    worker.bus?.send({ t: 'cancel', id, reason: 'the handover was withdrawn' });
    worker.lastActive = now();
    this.serveWaiting(this.workersOf(worker.spec.name), false);
  }

  /** Tells a running invocation to stop, and abandons it if it has not answered within the grace period. */
  private stop(worker: FunctionWorker, id: string, pending: Pending, reason: string, fault: Fault | null): void {
    if (pending.stopping || worker.dead) return;
    pending.stopping = { fault };
    if (pending.timer) clearTimeout(pending.timer);
    worker.bus!.send({ t: 'cancel', id, reason });
    pending.timer = setTimeout(() => {
      const what = fault ? fault.message : `the invocation ${id} of "${worker.spec.name}" was cancelled (${reason})`;
      pending.abandoned = {
        kind: 'fault',
        code: fault ? fault.code : 'MF_INVOCATION_ABANDONED',
        message: `${what}; it did not stop within ${CANCEL_GRACE_MS / 1000} s of being told, so it was abandoned and its worker ${worker.pid} drained and replaced`,
      };
      this.drain(worker, 'abandoned');
    }, CANCEL_GRACE_MS);
  }

  /** No new work for `worker`; it is killed once nothing it runs can still finish. */
  private drain(worker: FunctionWorker, why: 'abandoned' | 'memory'): void {
    worker.draining ??= why;
    this.killIfDrained(worker);
  }

  private killIfDrained(worker: FunctionWorker): void {
    if (!worker.draining || worker.dead || worker.killReason) return;
    for (const p of worker.inflight.values()) if (!p.abandoned) return;
    worker.killReason = worker.draining === 'memory' ? 'memory' : 'drained';
    worker.child.kill('SIGKILL');
  }

  /** Ends one pending invocation with `answer`. */
  private settle(worker: FunctionWorker, id: string, pending: Pending, answer: InvocationAnswer): void {
    worker.inflight.delete(id);
    if (pending.timer) clearTimeout(pending.timer);
    if (pending.onAbort) pending.signal!.removeEventListener('abort', pending.onAbort);
    pending.resolve(answer);
  }

  /** Starts every function's worker (the `workerStart: deploy` policy). */
  async startAll(): Promise<number> {
    const results = await Promise.allSettled([...this.functions.keys()].map((fn) => this.acquire(fn)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (const r of results) if (r.status === 'fulfilled') this.release(r.value.worker);
    return results.length;
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.memoryTimer);
    clearInterval(this.idleTimer);
    const children = [...this.byFunction.values()].flatMap((f) => {
      for (const waiter of f.waiting.splice(0)) waiter.reject(new MfError('MF_PLATFORM_CLOSED', 'the sandbox is shutting down'));
      return f.live.map((w) => {
        w.killReason = 'shutdown';
        return w.child;
      });
    });
    children.push(...this.idlePool.splice(0).map((p) => p.child));
    await Promise.all(children.map(killAndWait));
  }

  // ------------------------------------------------------------------ internals

  private workersOf(fn: string): FunctionWorkers {
    let f = this.byFunction.get(fn);
    if (!f) {
      f = { live: [], starting: 0, waiting: [] };
      this.byFunction.set(fn, f);
    }
    return f;
  }

  private leastLoaded(f: FunctionWorkers): FunctionWorker | null {
    let best: FunctionWorker | null = null;
    for (const w of f.live) {
      if (w.dead || w.killReason || w.draining || w.load >= this.policy.workerConcurrency) continue;
      if (best === null || w.load < best.load) best = w;
    }
    return best;
  }

  /** Starts a worker for `fn`; the caller gets its first slot, and waiting callers the others. */
  private async startFor(fn: string, f: FunctionWorkers): Promise<Acquired> {
    f.starting++;
    let acquired: Acquired;
    try {
      acquired = await this.startWorker(fn);
    } catch (err) {
      f.starting--;
      // The function cannot start: callers waiting for one of its slots would wait forever.
      if (f.live.length === 0) for (const waiter of f.waiting.splice(0)) waiter.reject(err);
      throw err;
    }
    f.starting--;
    acquired.worker.reserved++;
    f.live.push(acquired.worker);
    this.serveWaiting(f, true);
    return acquired;
  }

  /** Gives free slots to waiting callers; `started` says whether they waited for a worker that just started. */
  private serveWaiting(f: FunctionWorkers, started: boolean): void {
    while (f.waiting.length > 0) {
      const free = this.leastLoaded(f);
      if (!free) return;
      free.reserved++;
      f.waiting.shift()!.resolve({ worker: free, started, phases: {} });
    }
  }

  /** Returns a reserved slot that will not be used for an invocation. */
  release(worker: FunctionWorker): void {
    worker.reserved = Math.max(0, worker.reserved - 1);
    worker.lastActive = now();
    this.serveWaiting(this.workersOf(worker.spec.name), false);
  }

  /**
   * Starts a worker for `fn`. A runtime killed from outside while it boots or loads the code is replaced, up to
   * recoveryAttempts times, so the callers waiting for it are not failed by a fault that a new process does not
   * have; a load that fails on its own (the code throws, a module is missing) fails at once.
   */
  private async startWorker(fn: string): Promise<Acquired> {
    for (let retry = 0; ; retry++) {
      try {
        return await this.startWorkerOnce(fn);
      } catch (err) {
        if (this.closed || !killedWhileStarting(err) || retry >= this.policy.recoveryAttempts) throw err;
      }
    }
  }

  private async startWorkerOnce(fn: string): Promise<Acquired> {
    const spec = this.functions.get(fn)!;
    const asked = now();
    let runtime = this.idlePool.shift();
    let origin: FunctionWorker['origin'] = 'pool';
    let phases: ColdStartPhases = {};
    if (!runtime) {
      const booting = this.bootingPool.shift();
      if (booting) {
        // A pool runtime is already booting: wait for it instead of forking a second process to share its CPU.
        booting.claimed = true;
        this.claimedBooting++;
        runtime = await booting.promise.finally(() => this.claimedBooting--);
        phases = { runtimeWaitMs: now() - asked };
      } else {
        runtime = await bootRuntime(this.cwd);
        origin = 'spawn';
        phases = { runtimeBootMs: runtime.bootMs };
      }
    }
    this.refillPool();
    const worker = new FunctionWorker(spec, runtime.child, origin);
    this.serveStorage(worker.child); // before load: module top-level code may use storage too
    const loaded = await this.load(worker);
    phases.codeLoadMs = loaded.initMs;
    if (loaded.handover) worker.inbox = this.inboxOf(worker);
    this.adopt(worker);
    return { worker, started: true, phases };
  }

  /** The worker's inbox for handovers: a socket in the sandbox's folder, named by its pid; null when hand-over is off or the path is too long. */
  private inboxOf(worker: FunctionWorker): string | null {
    if (!this.policy.handover) return null;
    const path = join(this.cwd, `hop-${worker.pid}.sock`);
    return Buffer.byteLength(path) <= MAX_SOCKET_PATH ? path : null;
  }

  private load(worker: FunctionWorker): Promise<{ initMs: number; handover: boolean }> {
    const child = worker.child;
    return new Promise((resolve, reject) => {
      const onMessage = (m: WorkerToAgent) => {
        if (m.t === 'loaded') {
          cleanup();
          resolve({ initMs: m.initMs, handover: m.handover });
        } else if (m.t === 'load-failed') {
          cleanup();
          void killAndWait(child);
          reject(MfError.fromJSON(m.error));
        }
      };
      const onExit = (code: number | null, signal: string | null) => {
        cleanup();
        reject(
          new MfError('MF_FUNCTION_INIT_FAILED', `the worker of "${worker.spec.name}" exited while loading its code`, {
            function: worker.spec.name,
            code,
            signal,
          }),
        );
      };
      const cleanup = () => {
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      const inbox = this.inboxOf(worker);
      const message: AgentToWorker = { t: 'load', spec: worker.spec, ...(inbox ? { handover: { socket: inbox, maxResultBytes: this.policy.maxResultBytes } } : {}) };
      child.send(message);
    });
  }

  private serveStorage(child: ChildProcess): void {
    child.on('message', (m: WorkerToAgent) => {
      if (m.t !== 'storage') return;
      void this.storage(m.op).then((reply) => {
        if (child.connected) child.send({ t: 'storage-result', id: m.id, reply } satisfies AgentToWorker);
      });
    });
  }

  /** Makes a loaded worker the function's worker and wires its results and its death. */
  private adopt(worker: FunctionWorker): void {
    const f = this.workersOf(worker.spec.name);
    worker.bus = new FrameChannel<WorkerToAgentFrame, AgentToWorkerFrame>(worker.child.stdio[LOCAL_BUS_FD] as Duplex, ({ header: m, payload }) => {
      const pending = worker.inflight.get(m.id);
      if (!pending) return;
      worker.lastActive = now();
      // Told to stop after its timeout: it stopped (the worker is kept), but the invocation still timed out.
      const fault = pending.abandoned ?? pending.stopping?.fault ?? null;
      this.settle(worker, m.id, pending, fault ?? { kind: 'result', message: m, payload });
      this.killIfDrained(worker);
      this.serveWaiting(f, false);
    });
    worker.child.once('exit', (code, signal) => {
      worker.dead = true;
      if (worker.inbox) void unlink(worker.inbox).catch(() => undefined);
      worker.killedFromOutside = worker.killReason === null && isOutsideSignal(signal);
      const i = f.live.indexOf(worker);
      if (i !== -1) f.live.splice(i, 1);
      const fault: Fault =
        worker.killReason === 'memory'
          ? {
              kind: 'fault',
              code: 'MF_FUNCTION_MEMORY_EXCEEDED',
              message: `function "${worker.spec.name}" went over its memory limit of ${worker.spec.memoryMB} MB; its worker ${worker.pid} was killed`,
            }
          : {
              kind: 'fault',
              code: 'MF_WORKER_EXITED',
              message: `the worker ${worker.pid} of "${worker.spec.name}" exited during the invocation (code ${code}, signal ${signal})`,
              external: worker.killedFromOutside,
            };
      // An invocation told to stop keeps the fault it was stopped for; an abandoned one, the fault it was abandoned with.
      // A handover not yet known to have started may never have reached the worker: safe to run again elsewhere.
      for (const [id, pending] of worker.inflight)
        this.settle(worker, id, pending, pending.abandoned ?? pending.stopping?.fault ?? (pending.timer === null ? { ...fault, external: true } : fault));
      // Callers waiting for a slot: start a replacement if the function has room now.
      if (f.waiting.length > 0 && !this.closed && f.live.length + f.starting < this.policy.maxWorkersPerFunction) {
        const waiter = f.waiting.shift()!;
        this.startFor(worker.spec.name, f).then(waiter.resolve, waiter.reject);
      }
    });
  }

  /** Kills workers that have been idle for longer than the keep-alive time. */
  private reclaimIdle(): void {
    const cutoff = now() - this.policy.keepAliveMs;
    for (const f of this.byFunction.values()) {
      for (const w of f.live) {
        if (w.load === 0 && w.lastActive < cutoff && !w.killReason) {
          w.killReason = 'idle';
          w.child.kill('SIGKILL');
        }
      }
    }
  }

  /** Boots pool runtimes until idle and unclaimed booting ones make poolSize; none while a worker start waits for a boot. */
  private refillPool(): void {
    if (this.claimedBooting > 0) return;
    while (!this.closed && this.idlePool.length + this.bootingPool.length < this.policy.poolSize) this.addBooting(bootRuntime(this.cwd));
  }

  /** Tracks one pool boot: when it ends unclaimed, its runtime joins the idle pool; then the pool is refilled. */
  private addBooting(promise: Promise<RuntimeProcess>): void {
    const entry: BootingRuntime = { promise, claimed: false };
    this.bootingPool.push(entry);
    const settled = () => {
      const i = this.bootingPool.indexOf(entry);
      if (i !== -1) this.bootingPool.splice(i, 1);
    };
    promise.then(
      (runtime) => {
        settled();
        if (entry.claimed) {
          // Its claimer adopts it.
        } else if (this.closed) void killAndWait(runtime.child);
        else {
          this.idlePool.push(runtime);
          runtime.child.once('exit', () => {
            const i = this.idlePool.indexOf(runtime);
            if (i !== -1) this.idlePool.splice(i, 1);
          });
        }
        this.refillPool();
      },
      (err: unknown) => {
        settled();
        // A claimed boot's failure is its claimer's (startWorker replaces a runtime killed from outside).
        // Not booted again from here (a runtime that cannot boot would loop): the next worker start refills.
        if (!entry.claimed && !this.closed) process.stderr.write(`mfbench agent: pool runtime failed to boot: ${String(err)}\n`);
      },
    );
  }

  /**
   * A worker over its function's memory limit: killed when it runs one invocation or none (the breach is that
   * invocation's), drained when it runs several so that the others can finish, and killed all the same past
   * MEMORY_HARD_FACTOR times the limit.
   */
  private async checkMemory(): Promise<void> {
    if (this.sampling) return; // the previous sample is still reading (a busy machine): skip, do not pile up
    this.sampling = true;
    const live = [...this.byFunction.values()].flatMap((f) => f.live);
    const samples = await Promise.all(live.map((w) => residentBytes(w.pid)));
    this.sampling = false;
    for (const [i, worker] of live.entries()) {
      // Judged after the read: a worker that died or was marked meanwhile is left alone.
      if (this.closed || worker.dead || worker.killReason) continue;
      const rss = samples[i]!;
      const limit = worker.spec.memoryMB * 1024 * 1024;
      if (rss === null || rss <= limit) continue;
      if (worker.inflight.size <= 1 || rss > limit * MEMORY_HARD_FACTOR) {
        worker.killReason = 'memory';
        worker.child.kill('SIGKILL');
      } else this.drain(worker, 'memory');
    }
  }
}

/** A signal that nobody in the sandbox sends on purpose (the agent kills with SIGKILL only after setting a reason). */
function isOutsideSignal(signal: string | null): boolean {
  return signal === 'SIGKILL' || signal === 'SIGTERM';
}

/** Whether a worker start failed because its process was killed from outside while booting or loading. */
function killedWhileStarting(err: unknown): boolean {
  if (!isMfError(err, 'MF_WORKER_EXITED') && !isMfError(err, 'MF_FUNCTION_INIT_FAILED')) return false;
  return typeof err.details.signal === 'string' && isOutsideSignal(err.details.signal);
}

export async function residentBytes(pid: number): Promise<number | null> {
  try {
    const statm = await readFile(`/proc/${pid}/statm`, 'latin1');
    const resident = Number(statm.split(' ')[1]);
    return Number.isFinite(resident) ? resident * PAGE_SIZE : null;
  } catch {
    return null; // not Linux, or the process is gone
  }
}

function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
