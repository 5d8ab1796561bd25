/**
 * The sandboxes of one unit of sandboxing: an app (grouped) or one function of an app (per-function). A request
 * takes a slot on a sandbox with room, else it waits in the unit's queue for the first slot that frees, on a sandbox
 * that exists or on one being made. Sandboxes are made while the queue holds more requests than the sandboxes being
 * made will take (up to `maxSandboxes`); a request is never tied to the sandbox started for it, so a warm sandbox
 * that frees in 5 ms serves it instead of a cold start that takes seconds (docs/policies.md#scaling). Idle sandboxes
 * are reclaimed after keep-alive; a sandbox that dies leaves the pool at once.
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
  /** No slot handed out yet: the first one carries the start times (its invocation is the cold-sandbox one). */
  fresh: boolean;
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
   * A slot on the least-loaded sandbox with room, or a place in the queue: at its end, or at its head for a request
   * being recovered (it was admitted before everyone now waiting, and it should not stay in flight long enough to
   * meet the next fault).
   */
  acquire(options: { first?: boolean } = {}): Promise<Slot> {
    if (this.closed) return Promise.reject(new MfError('MF_PLATFORM_CLOSED', 'the app is being removed'));
    const free = this.leastLoaded();
    if (free) return Promise.resolve(this.take(free));
    const slot = new Promise<Slot>((resolve, reject) => (options.first ? this.waiting.unshift({ resolve, reject }) : this.waiting.push({ resolve, reject })));
    this.scaleUp();
    return slot;
  }

  /** Starts sandboxes while the queue holds more requests than the sandboxes being made will take. */
  private scaleUp(): void {
    while (!this.closed && this.needsAnotherSandbox()) void this.grow();
  }

  private needsAnotherSandbox(): boolean {
    // Guarded: with capacity Infinity, 0 * Infinity would be NaN and no request would ever make the first sandbox.
    const roomInCreation = this.creating === 0 ? 0 : this.creating * this.options.capacity;
    return this.waiting.length > roomInCreation && this.members.length + this.creating < this.options.maxSandboxes;
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

  private async grow(): Promise<void> {
    this.creating++;
    let link: SandboxLink;
    try {
      link = await this.options.create();
    } catch (err) {
      this.creating--;
      if (!sandboxDiedFromOutside(err) && this.members.length === 0) {
        // Nothing could be created: waiting requests would wait forever unless a sandbox exists.
        for (const w of this.waiting.splice(0)) w.reject(err);
      } else {
        // The start fails the request at the head of the queue, the one it was for (its retries count it); killed
        // while starting, the next start may well succeed, so the others get a replacement.
        this.waiting.shift()?.reject(err);
        if (sandboxDiedFromOutside(err)) this.scaleUp();
      }
      return;
    }
    this.creating--;
    if (this.closed) {
      // destroyAll({ close }) already failed the requests that waited for it.
      await link.destroy();
      return;
    }
    this.members.push({ link, inflight: 0, lastUsed: now(), fresh: true });
    void link.sandbox.exited.then(() => {
      this.remove(link);
      this.scaleUp();
    });
    this.serveWaiting();
  }

  private take(member: Member): Slot {
    member.inflight++;
    const start = member.fresh ? member.link.startTimes : null;
    member.fresh = false;
    return { link: member.link, start };
  }

  /** Hands freed slots to the queue in order; the first slot of a new sandbox goes to the queue's head. */
  private serveWaiting(): void {
    while (this.waiting.length > 0) {
      const free = this.leastLoaded();
      if (!free) return;
      this.waiting.shift()!.resolve(this.take(free));
    }
  }

  private remove(link: SandboxLink): void {
    const i = this.members.findIndex((m) => m.link === link);
    if (i !== -1) this.members.splice(i, 1);
  }
}
