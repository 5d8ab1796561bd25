/**
 * Frontend takeover (docs/distributed.md, "Frontend takeover"): every remote frontend registers its life in
 * `mffrontends` (frontends.ts) and watches the others'. When one goes silent, or at this frontend's own start, it
 * sweeps: it reads the unfinished async executions off the `executions` journal and claims, with a revision check,
 * each one whose owner (the life that accepted it, or the last claim in `mfowners`, owners.ts) is an earlier life of
 * this frontend or a frontend with no live entry at all, so that exactly one live frontend runs it. The winner resumes
 * it from its newest checkpoint and answers `GET /executions/{id}` for it from then on. A frontend that comes back
 * (on its data folder, so with its id) takes back what nobody took meanwhile and never runs what another one took;
 * while its id is alive again, the others leave its executions to it.
 */
import type { GlobalBus } from '../../bus/global/index.js';
import type { OnHostsPlacement } from '../placement/on-hosts.js';
import type { Platform } from '../platform.js';
import { readInterrupted, type InterruptedExecution } from '../recovery.js';
import type { FrontendInfo, FrontendLife, FrontendRegistry } from './frontends.js';
import type { ExecutionOwners } from './owners.js';
import { HEARTBEAT_MS, type Registration } from './registry.js';

export interface TakeoverParts {
  platform: Platform;
  placement: OnHostsPlacement;
  bus: GlobalBus;
  frontends: FrontendRegistry;
  owners: ExecutionOwners;
}

/** Claims in flight at once during a sweep (each is one KV read and at most one write). */
const CLAIMS_AT_ONCE = 16;

export class Takeover {
  /** The frontend ids alive at the last look. */
  private seen = new Set<string>();
  private sweeping: Promise<number> | null = null;
  /** A sweep was asked for while one ran (or one failed): run another. */
  private again = false;
  private readonly watcher: NodeJS.Timeout;

  private constructor(
    private readonly parts: TakeoverParts,
    private readonly me: FrontendInfo,
    private readonly registration: Registration<FrontendInfo>,
  ) {
    this.watcher = setInterval(() => void this.watch().catch(() => (this.again = true)), HEARTBEAT_MS);
    this.watcher.unref();
  }

  /**
   * Registers this frontend's life, then sweeps once (what this frontend's previous life and any dead frontend left);
   * resolves with the takeover and how many executions that first sweep resumed. `lost`: as for a host agent, this
   * life was counted gone, so its executions may run elsewhere now; the frontend must stop.
   */
  static async start(parts: TakeoverParts, me: FrontendInfo, lost: (why: string) => void): Promise<{ takeover: Takeover; resumed: number }> {
    const registration = await parts.frontends.register(me, lost);
    const takeover = new Takeover(parts, me, registration);
    try {
      return { takeover, resumed: await takeover.sweep() };
    } catch (err) {
      await takeover.stop();
      throw err;
    }
  }

  /** Stops watching and removes this life's entry: the others take over what it leaves unfinished. */
  async stop(): Promise<void> {
    clearInterval(this.watcher);
    await this.registration.stop();
  }

  /** Sweeps when a frontend seen alive is gone, or when the last sweep asked for another. */
  private async watch(): Promise<void> {
    const live = await this.parts.frontends.live();
    const gone = [...this.seen].some((id) => !live.has(id));
    this.seen = new Set(live.keys());
    if (gone || this.again) await this.sweep();
  }

  /** One sweep at a time; resolves with how many executions it resumed here. */
  private sweep(): Promise<number> {
    if (this.sweeping) {
      this.again = true;
      return this.sweeping;
    }
    this.again = false;
    this.sweeping = this.takeOrphans().finally(() => (this.sweeping = null));
    this.sweeping.catch(() => (this.again = true));
    return this.sweeping;
  }

  private async takeOrphans(): Promise<number> {
    const { platform, placement, bus, frontends, owners } = this.parts;
    // The journal first, the live frontends after: every execution read was accepted by a frontend registered by then.
    const open = await readInterrupted(bus, platform.finishedBeforeStart(), (a) => a.frontend !== undefined);
    if (open.length === 0) return 0;
    const live = await frontends.live();
    const orphaned = (owner: FrontendLife): boolean => (owner.frontendId === this.me.frontendId ? owner.generation !== this.me.generation : !live.has(owner.frontendId));
    const taken: Array<{ e: InterruptedExecution; from: FrontendLife }> = [];
    const queue = [...open];
    const claimer = async (): Promise<void> => {
      for (let e = queue.shift(); e !== undefined; e = queue.shift()) {
        const claim = await owners.get(e.id);
        const owner = claim?.owner ?? { frontendId: e.frontend ?? '', generation: e.generation ?? '' };
        if (orphaned(owner) && (await owners.claim(e.id, this.me, claim))) taken.push({ e, from: owner });
      }
    };
    await Promise.all(Array.from({ length: Math.min(CLAIMS_AT_ONCE, open.length) }, claimer));
    if (taken.length === 0) return 0;
    await placement.adopting(taken.map((t) => t.e.id));
    for (const { e, from } of taken) {
      const cause = from.frontendId === this.me.frontendId ? 'the frontend restarted' : `frontend "${from.frontendId}" stopped heartbeating`;
      platform.resume(e, cause);
    }
    return taken.length;
  }
}
