/**
 * The engine on a host agent (config `hosts: remote`): this frontend owns no sandboxes; it places each execution,
 * whole, on one live host agent through the broker, and the answer comes back on the results topic, whichever host
 * ran it. The placement rule lives here and nowhere else (docs/distributed.md, "The placement rule"):
 *
 *   An execution goes whole to one host: its engine and all its functions run there, next to one another (SAND's
 *   locality: under the grouped preset its hops stay on that sandbox's local bus). The host is the live one with the
 *   most free slots (its capacity minus the executions this frontend placed there and has no answer for yet, and
 *   minus the sessions it runs: a session holds a slot for its whole life), ties to the lower host id; so
 *   executions and sessions fill every host before any queues, and spill to the next host once one is full. When every host is full, the execution still goes to the least loaded one, where
 *   it waits on the host's work topic for a slot.
 *
 * A host that stops heartbeating is gone (registry.ts); every execution placed on it and not answered is placed
 * again on a live host, from its newest checkpoint on the global bus, up to recoveryAttempts times. An execution
 * another frontend placed and this one takes over (hosts/takeover.ts) may have its answer on the results topic
 * already: `adopting` reads it back, so that it is answered rather than placed again.
 */
import { onHost } from '../hosts/histories.js';
import { now } from '../../clock.js';
import type { GlobalBus, Subscription } from '../../bus/global/index.js';
import { MfError } from '../../errors.js';
import type { ExecutionResult, ResumePoint } from '../../protocol.js';
import type { DeployedApp } from '../apps.js';
import type { StoredExecution } from '../executions.js';
import { HEARTBEAT_MS, type HostInfo, type HostRegistry } from '../hosts/registry.js';
import { frontendGroup, resultId, TOPIC_RESULTS, workId, workMessage, workTopic, type Work, type WorkResult } from '../hosts/work.js';
import type { HostStops } from '../hosts/stops.js';
import { TOPIC_CHECKPOINTS } from '../recovery.js';
import type { ExecutionPlacement } from './placement.js';

/** How long an execution waits for a first live host before it fails with MF_NO_HOST. */
export const NO_HOST_WAIT_MS = 15_000;
/** Executions this frontend answered whose late answers (from a host thought lost) it still releases on the broker. */
const SETTLED_REMEMBERED = 4096;

/** An execution placed on a host, waiting for its answer. */
interface Placed {
  work: Omit<Work, 'input'>;
  /** The input as JSON text: the request's body as it arrived, sent as it is on every placement. */
  inputJson: string;
  exec: StoredExecution;
  host: string;
  resolve(result: ExecutionResult): void;
  reject(err: unknown): void;
}

export class OnHostsPlacement implements ExecutionPlacement {
  readonly workflowsInSandbox = false;
  private readonly placed = new Map<string, Placed>();
  /** Recently answered executions, oldest first: a host thought lost may answer them again (see answered). */
  private readonly settled = new Set<string>();
  /** The live hosts as last read from the registry (refreshed every heartbeat, off the invocation path). */
  private hosts: HostInfo[] = [];
  private refreshing: Promise<void> | null = null;
  private listening: Promise<Subscription> | null = null;
  private readonly watcher: NodeJS.Timeout;
  /** Executions being taken over and not placed yet, with their answer once one is known. */
  private readonly adopted = new Map<string, WorkResult | null>();
  /** Sessions this frontend placed in the last two heartbeats, oldest first (see hostForSession). */
  private readonly sessionsStarted: Array<{ host: string; at: number }> = [];

  constructor(
    private readonly bus: GlobalBus,
    private readonly registry: HostRegistry,
    /** Names this frontend's consumer group on the results topic (stable across its restarts). */
    private readonly frontendId: string,
    private readonly recoveryAttempts: number,
    /** Where a stop goes to the host that runs the execution (null: a stop ends it here only). */
    private readonly stops: HostStops | null = null,
  ) {
    this.watcher = setInterval(() => void this.refresh().then(() => this.relocateLost()).catch(() => undefined), HEARTBEAT_MS);
    this.watcher.unref();
  }

  run(app: DeployedApp, exec: StoredExecution, input: unknown, startTime: string, inputJson?: string): Promise<ExecutionResult> {
    return this.place(app, exec, exec.workflow, null, inputJson ?? JSON.stringify(input), startTime);
  }

  /** A direct function invocation, placed like an execution (transport/to-hosts.ts). */
  runFunction(app: DeployedApp, exec: StoredExecution, fn: string, input: unknown, inputJson?: string): Promise<ExecutionResult> {
    return this.place(app, exec, null, fn, inputJson ?? JSON.stringify(input), new Date().toISOString());
  }

  /** Sandboxes are on the hosts: none reports here. */
  checkpoints(): void {}

  close(): void {
    clearInterval(this.watcher);
    for (const p of this.placed.values()) p.reject(new MfError('MF_PLATFORM_CLOSED', 'the frontend closed before the host answered'));
    this.placed.clear();
    this.adopted.clear();
  }

  /**
   * Executions another frontend placed, about to be run here: from now on their answers are kept until they are, and
   * the first answer a host already published for each (before this frontend listened) is read back.
   */
  async adopting(ids: readonly string[]): Promise<void> {
    for (const id of ids) if (!this.adopted.has(id)) this.adopted.set(id, null);
    await this.listen();
    const queue = [...ids];
    const reader = async (): Promise<void> => {
      for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
        const [first] = await this.bus.read<WorkResult>(TOPIC_RESULTS, { key: id, limit: 1 });
        if (!first) continue;
        if (this.adopted.get(id) === null) this.adopted.set(id, first.payload);
        // Read now and held here: an answer that travelled by reference is needed by nobody else.
        if (first.referenced === true) void this.bus.release(TOPIC_RESULTS, id, resultId(id, first.payload.attempt)).catch(() => undefined);
      }
    };
    // A few reads at a time: each is an ephemeral consumer on the broker.
    await Promise.all(Array.from({ length: Math.min(8, ids.length) }, reader));
  }

  private async place(app: DeployedApp, exec: StoredExecution, workflow: string | null, fn: string | null, inputJson: string, startTime: string): Promise<ExecutionResult> {
    await this.listen();
    const work: Omit<Work, 'input'> = { executionId: exec.executionId, app: app.name, workflow, fn, received: exec.t.received, startTime, checkpoint: exec.checkpoint, attempt: 0 };
    const known = this.adopted.get(exec.executionId) ?? null;
    this.adopted.delete(exec.executionId);
    return new Promise<ExecutionResult>((resolve, reject) => {
      const p: Placed = { work, inputJson, exec, host: '', resolve, reject };
      this.placed.set(exec.executionId, p);
      // StopExecution: the platform answers ABORTED at once; the host running it is told to stop its run too.
      exec.abort.signal.addEventListener('abort', () => this.stopped(p), { once: true });
      if (known !== null) return this.answered(known, false); // released when it was read
      this.send(p).catch((err: unknown) => this.settle(p, () => reject(err)));
    });
  }

  /** Publishes the work to the host the rule picks (not once it is stopped: nothing runs it then). */
  private async send(p: Placed): Promise<void> {
    const host = await this.choose(p);
    if (p.exec.abort.signal.aborted) return this.settle(p, () => p.reject(stoppedError(p)));
    if (p.exec.t.dispatched === 0) p.exec.t.dispatched = now();
    // The id makes a replayed publish of one placement one message (JetStream's duplicate window).
    await this.bus.publish(workTopic(host.hostId), p.work.executionId, workMessage(p.work, p.inputJson), { id: workId(p.work.executionId, p.work.attempt) });
  }

  /** The placement rule (see the file's comment); `p` counts against its host from the moment it is chosen. */
  private async choose(p: Placed): Promise<HostInfo> {
    await this.waitForHost();
    const best = this.leastLoaded();
    p.host = best.hostId; // before any await: the next placement already counts it
    return best;
  }

  /**
   * The host a new session goes to, by the same rule: a running session holds a slot of its host (hosts advertise
   * how many they run with each heartbeat, and one started from here counts at once until that beat has surely come).
   */
  async hostForSession(): Promise<HostInfo> {
    // A fresh read: a session start is not on the invocation path, and a stale count would place it on a full host.
    // Bounded: on a slow broker the last read (at most a heartbeat old) serves.
    const fresh = this.refresh().catch(() => undefined);
    await Promise.race([fresh, new Promise((r) => setTimeout(r, HEARTBEAT_MS).unref())]);
    await this.waitForHost();
    const best = this.leastLoaded();
    this.sessionsStarted.push({ host: best.hostId, at: Date.now() });
    return best;
  }

  /** The live host with the most free slots, ties to the lower host id (this.hosts is sorted by id). */
  private leastLoaded(): HostInfo {
    const busy = new Map<string, number>();
    for (const p of this.placed.values()) busy.set(p.host, (busy.get(p.host) ?? 0) + 1);
    const recent = Date.now() - 2 * HEARTBEAT_MS;
    while (this.sessionsStarted.length > 0 && this.sessionsStarted[0]!.at < recent) this.sessionsStarted.shift();
    for (const s of this.sessionsStarted) busy.set(s.host, (busy.get(s.host) ?? 0) + 1);
    let best = this.hosts[0]!;
    let bestFree = -Infinity;
    for (const h of this.hosts) {
      const free = h.capacity - (h.sessions ?? 0) - (busy.get(h.hostId) ?? 0);
      if (free > bestFree) [best, bestFree] = [h, free];
    }
    return best;
  }

  /** Waits, bounded, for a first live host (MF_NO_HOST when none comes). */
  private async waitForHost(): Promise<void> {
    const deadline = Date.now() + NO_HOST_WAIT_MS;
    while (this.hosts.length === 0) {
      if (Date.now() > deadline) throw new MfError('MF_NO_HOST', `no host agent is alive on the broker (waited ${NO_HOST_WAIT_MS} ms); start one with mfbench host start`, { waitedMs: NO_HOST_WAIT_MS });
      await this.refresh();
      if (this.hosts.length === 0) await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Reads the live hosts again; concurrent callers share one read. */
  private refresh(): Promise<void> {
    this.refreshing ??= this.registry
      .live()
      .then((hosts) => {
        this.hosts = hosts;
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  /**
   * A stopped execution's host is told to stop its run (or not to start it, if the work has not reached it). It stays
   * counted against that host until the host answers, which is when its slot is really free.
   */
  private stopped(p: Placed): void {
    if (p.host === '' || this.stops === null) return; // not sent yet: send() sees the stop
    const reason = p.exec.abort.signal.reason as { error?: string | null; cause?: string | null } | undefined;
    this.stops.tell(p.host, { executionId: p.work.executionId, error: reason?.error ?? null, cause: reason?.cause ?? null });
  }

  /** Places again every execution whose host is gone, from its newest checkpoint (a stopped one is not placed again). */
  private relocateLost(): void {
    const live = new Set(this.hosts.map((h) => h.hostId));
    for (const p of this.placed.values()) {
      if (p.host === '' || live.has(p.host)) continue;
      if (p.exec.abort.signal.aborted) {
        this.settle(p, () => p.reject(stoppedError(p)));
        continue;
      }
      const lost = p.host;
      p.host = ''; // not counted against any host until it is sent again
      void this.relocate(p, lost).catch((err: unknown) => this.settle(p, () => p.reject(err)));
    }
  }

  private async relocate(p: Placed, lost: string): Promise<void> {
    const attempt = p.work.attempt + 1;
    if (attempt > this.recoveryAttempts) {
      throw new MfError('MF_HOST_LOST', `host "${lost}" stopped heartbeating while it ran the execution, and recoveryAttempts (${this.recoveryAttempts}) are used up`, { host: lost, attempts: p.work.attempt });
    }
    const points = await this.bus.read<ResumePoint>(TOPIC_CHECKPOINTS, { key: p.work.executionId });
    const checkpoint = points.at(-1)?.payload ?? p.work.checkpoint;
    p.work = { ...p.work, checkpoint, attempt };
    p.exec.history.push({ t: now(), type: 'ExecutionRecovering', state: checkpoint?.state ?? 'StartAt', attempt, cause: `host "${lost}" stopped heartbeating` });
    await this.send(p);
  }

  /**
   * The results topic, read with this frontend's own group: every answer reaches it; it keeps those it waits for
   * (the others are acknowledged unread: a large answer is fetched only by the frontend that waits for it).
   */
  private listen(): Promise<Subscription> {
    this.listening ??= this.bus.subscribe<WorkResult>(TOPIC_RESULTS, frontendGroup(this.frontendId), (m) => this.answered(m.payload, m.referenced === true), {
      fromOffset: 'latest',
      keys: (executionId) => this.placed.has(executionId) || this.settled.has(executionId) || this.adopted.has(executionId),
    });
    this.listening.catch(() => (this.listening = null));
    return this.listening;
  }

  /** The first answer for an execution ends it (a host thought lost may still answer: its answer is as good). */
  private answered(answer: WorkResult, referenced: boolean): void {
    // Held here from now on, or answered already (a late answer of another attempt): an answer that travelled by
    // reference is needed by nobody else, so it is released on the broker (off the path).
    if (referenced) void this.bus.release(TOPIC_RESULTS, answer.executionId, resultId(answer.executionId, answer.attempt)).catch(() => undefined);
    const p = this.placed.get(answer.executionId);
    if (!p) {
      if (this.adopted.get(answer.executionId) === null) this.adopted.set(answer.executionId, answer);
      return;
    }
    if ('error' in answer) return this.settle(p, () => p.reject(MfError.fromJSON(answer.error)));
    for (const record of answer.records) p.exec.records.push(record); // no spread: a huge array overflows the stack
    for (const event of answer.history) p.exec.history.push(event);
    // The engine's events stayed in the host's sandbox: asked from there, through the broker, when wanted.
    if (answer.historyKept === true) p.exec.historyIn = onHost(answer.host);
    this.settle(p, () => p.resolve(answer.result));
  }

  private settle(p: Placed, how: () => void): void {
    if (this.placed.get(p.work.executionId) !== p) return;
    this.placed.delete(p.work.executionId);
    this.settled.add(p.work.executionId);
    if (this.settled.size > SETTLED_REMEMBERED) this.settled.delete(this.settled.values().next().value as string);
    how();
  }
}

/** What a stopped execution's placement settles with: its stop (the platform answered ABORTED already; nobody reads it). */
function stoppedError(p: Placed): unknown {
  return p.exec.abort.signal.reason;
}
