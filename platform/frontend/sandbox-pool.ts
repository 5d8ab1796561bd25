/**
 * The sandboxes of one unit of sandboxing: an app (grouped) or one function of an app (per-function). A request
 * takes a slot on a sandbox with room, else a new sandbox is made (up to `maxSandboxes`), else it waits. Idle
 * sandboxes are reclaimed after keep-alive; a sandbox that dies leaves the pool at once.
 */
import { now } from '../clock.js';
import { MfError } from '../errors.js';
import type { SandboxStartTimes } from '../protocol.js';
import { sandboxDiedFromOutside, type SandboxLink } from './sandbox-link.js';

export interface PoolOptions {
  /** Requests one sandbox serves at once (Infinity: the agent scales its workers itself). */
  capacity: number;
  /** Sandboxes this unit may have at once. */
  maxSandboxes: number;
  keepAliveMs: number;
  create(): Promise<SandboxLink>;
}

export interface Slot {
  link: SandboxLink;
  /** How long creating and starting the sandbox took, for the request that created it; null when it existed. */
  start: SandboxStartTimes | null;
}

interface Member {
  link: SandboxLink;
  inflight: number;
  lastUsed: number;
}

export class SandboxPool {
  private readonly members: Member[] = [];
  private creating = 0;
  private readonly waiting: Array<{ resolve(slot: Slot): void; reject(err: unknown): void }> = [];
  private closed = false;

  constructor(private readonly options: PoolOptions) {}

  get sandboxes(): SandboxLink[] {
    return this.members.map((m) => m.link);
  }

  /**
   * A slot on the least-loaded sandbox with room, or a new sandbox, or a place in the queue: at its end, or at its
   * head for a request being recovered (it was admitted before everyone now waiting, and it should not stay in
   * flight long enough to meet the next fault).
   */
  acquire(options: { first?: boolean } = {}): Promise<Slot> {
    if (this.closed) return Promise.reject(new MfError('MF_PLATFORM_CLOSED', 'the app is being removed'));
    const free = this.leastLoaded();
    if (free) {
      free.inflight++;
      return Promise.resolve({ link: free.link, start: null });
    }
    if (this.needsAnotherSandbox(1)) return this.grow();
    return new Promise((resolve, reject) => (options.first ? this.waiting.unshift({ resolve, reject }) : this.waiting.push({ resolve, reject })));
  }

  /**
   * Whether `arriving` more requests (beyond those waiting) call for another sandbox: the sandboxes being made serve
   * their creators and capacity - 1 more each, and the pool stays within maxSandboxes.
   */
  private needsAnotherSandbox(arriving: number): boolean {
    // Guarded: with capacity Infinity, 0 * Infinity would be NaN and no request would ever make the first sandbox.
    const roomInCreation = this.creating === 0 ? 0 : this.creating * (this.options.capacity - 1);
    return this.waiting.length + arriving > roomInCreation && this.members.length + this.creating < this.options.maxSandboxes;
  }

  release(link: SandboxLink): void {
    const member = this.members.find((m) => m.link === link);
    if (!member) return;
    member.inflight = Math.max(0, member.inflight - 1);
    member.lastUsed = now();
    this.serveWaiting();
  }

  /** Destroys sandboxes idle for longer than keep-alive; returns how many. */
  async reclaimIdle(): Promise<number> {
    const cutoff = now() - this.options.keepAliveMs;
    const idle = this.members.filter((m) => m.inflight === 0 && m.lastUsed < cutoff);
    for (const m of idle) this.remove(m.link);
    await Promise.all(idle.map((m) => m.link.destroy()));
    return idle.length;
  }

  /** Destroys every sandbox (enforcing a cold start, or removing the app); returns how many. */
  async destroyAll(options: { close?: boolean } = {}): Promise<number> {
    if (options.close) {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w.reject(new MfError('MF_APP_NOT_FOUND', 'the app was removed'));
    }
    const all = this.members.splice(0);
    await Promise.all(all.map((m) => m.link.destroy()));
    return all.length;
  }

  private leastLoaded(): Member | null {
    let best: Member | null = null;
    for (const m of this.members) {
      if (!m.link.alive || m.inflight >= this.options.capacity) continue;
      if (best === null || m.inflight < best.inflight) best = m;
    }
    return best;
  }

  private async grow(): Promise<Slot> {
    this.creating++;
    let link: SandboxLink;
    try {
      link = await this.options.create();
    } catch (err) {
      this.creating--;
      if (sandboxDiedFromOutside(err)) {
        // Killed while starting: the next start may well succeed, so requests that waited for this one get a
        // replacement (each replacement that fails counts against the attempts of the request it serves).
        this.replaceForWaiting();
      } else if (this.members.length === 0) {
        // Nothing could be created: waiting requests would wait forever unless a sandbox exists.
        for (const w of this.waiting.splice(0)) w.reject(err);
      }
      throw err;
    }
    this.creating--;
    if (this.closed) {
      await link.destroy();
      throw new MfError('MF_APP_NOT_FOUND', 'the app was removed while its sandbox was starting');
    }
    const member: Member = { link, inflight: 1, lastUsed: now() };
    this.members.push(member);
    void link.sandbox.exited.then(() => {
      this.remove(link);
      this.replaceForWaiting();
    });
    // The creator's request goes to the new sandbox first (its first invocation is the cold-sandbox one);
    // requests that waited for the sandbox follow on the next turn.
    setImmediate(() => this.serveWaiting());
    return { link, start: link.startTimes };
  }

  /** Requests waiting for a slot may need a new sandbox after one died (the same rule as for arriving ones). */
  private replaceForWaiting(): void {
    while (!this.closed && this.waiting.length > 0 && this.needsAnotherSandbox(0)) {
      const w = this.waiting.shift()!;
      this.grow().then(w.resolve, w.reject);
    }
  }

  private serveWaiting(): void {
    while (this.waiting.length > 0) {
      const free = this.leastLoaded();
      if (!free) return;
      free.inflight++;
      this.waiting.shift()!.resolve({ link: free.link, start: null });
    }
  }

  private remove(link: SandboxLink): void {
    const i = this.members.findIndex((m) => m.link === link);
    if (i !== -1) this.members.splice(i, 1);
  }
}
