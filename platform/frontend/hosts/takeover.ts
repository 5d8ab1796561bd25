/**
 * Frontend takeover (docs/distributed.md, "Frontend takeover"): every remote frontend registers its life in
 * `mffrontends` (frontends.ts) and watches the others'. When one goes silent, or at this frontend's own start, it
 * sweeps: it reads on in the `executions` journal from where its last sweep stopped (the unfinished async executions
 * of frontends, heads only, kept between sweeps) and claims, with a revision check, each one whose owner (the life
 * that accepted it, or the last claim in `mfowners`, owners.ts) is an earlier life of this frontend or a frontend with
 * no live entry at all, so that exactly one live frontend runs it. The winner reads that execution's own journal
 * entries again: one that finished meanwhile, or whose result is already on the broker (`mfresults`: its frontend
 * stored it and died before it journalled the end), is marked finished and not run again; any other is resumed from
 * its newest checkpoint, and this frontend answers `GET /executions/{id}` for it from then on. Once a taken-over
 * execution's end is journalled, its claim is removed. A frontend that comes back (on its data folder, so with its
 * id) takes back what nobody took meanwhile and never runs what another one took; while its id is alive again, the
 * others leave its executions to it.
 */
import type { GlobalBus } from '../../bus/global/index.js';
import type { ResumePoint } from '../../protocol.js';
import type { OnHostsPlacement } from '../placement/on-hosts.js';
import type { Platform } from '../platform.js';
import { TOPIC_CHECKPOINTS, TOPIC_EXECUTIONS, type AcceptedExecution, type ExecutionEvent, type InterruptedExecution } from '../recovery.js';
import type { FrontendInfo, FrontendLife, FrontendRegistry } from './frontends.js';
import type { ExecutionOwners } from './owners.js';
import { HEARTBEAT_MS, type Registration } from './registry.js';
import type { BrokerResults } from './results.js';

export interface TakeoverParts {
  platform: Platform;
  placement: OnHostsPlacement;
  bus: GlobalBus;
  frontends: FrontendRegistry;
  owners: ExecutionOwners;
  results: BrokerResults;
}

/** Claims in flight at once during a sweep (each is one KV read and at most one write). */
const CLAIMS_AT_ONCE = 16;
/** Journal messages read per call. */
const PAGE = 1000;
/** How often the markers of removed claims are dropped from `mfowners` (owners.ts). */
const MARKERS_EVERY_MS = 10 * 60_000;

export class Takeover {
  /** The frontend ids alive at the last look. */
  private seen = new Set<string>();
  private sweeping: Promise<number> | null = null;
  /** A sweep was asked for while one ran (or one failed): run another. */
  private again = false;
  private readonly watcher: NodeJS.Timeout;
  /** The unfinished async executions of frontends read so far, by id, with the life that accepted each. */
  private readonly open = new Map<string, FrontendLife>();
  /** The journal offset the next sweep reads on from. */
  private cursor = 0;
  /** Executions this life claimed and runs: their claims go once their end is journalled. */
  private readonly claimed = new Set<string>();
  /**
   * Executions this life claimed and has not resumed yet (a sweep failed in between): the claim names this life, so
   * no sweep would claim them again; the next sweep resumes them.
   */
  private readonly unresumed = new Set<string>();
  private markersDroppedAt = Date.now();

  private constructor(
    private readonly parts: TakeoverParts,
    private readonly me: FrontendInfo,
    private readonly registration: Registration<FrontendInfo>,
  ) {
    this.watcher = setInterval(() => void this.watch().catch(() => (this.again = true)), HEARTBEAT_MS);
    this.watcher.unref();
    parts.platform.onEndJournalled((id) => {
      if (this.claimed.delete(id)) void parts.owners.release(id);
    });
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
    if (Date.now() - this.markersDroppedAt > MARKERS_EVERY_MS) {
      this.markersDroppedAt = Date.now();
      await this.parts.owners.dropMarkers();
    }
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

  /** Reads the journal on from the last sweep: accepted executions of frontends join `open`, finished ones leave. */
  private async readOn(): Promise<void> {
    for (;;) {
      const page = await this.parts.bus.read<ExecutionEvent>(TOPIC_EXECUTIONS, { fromOffset: this.cursor, limit: PAGE });
      for (const m of page) {
        if (m.payload.t !== 'accepted') this.open.delete(m.key);
        else if (m.payload.frontend !== undefined) this.open.set(m.key, { frontendId: m.payload.frontend, generation: m.payload.generation ?? '' });
      }
      if (page.length > 0) this.cursor = page[page.length - 1]!.offset + 1;
      if (page.length < PAGE) return;
    }
  }

  private async takeOrphans(): Promise<number> {
    const { platform, placement, frontends, owners } = this.parts;
    // The journal first, the live frontends after: every execution read was accepted by a frontend registered by then.
    await this.readOn();
    const onDisk = platform.finishedBeforeStart();
    const open = [...this.open].filter(([id]) => !onDisk.has(id));
    if (open.length === 0) return 0;
    const live = await frontends.live();
    const orphaned = (owner: FrontendLife): boolean => (owner.frontendId === this.me.frontendId ? owner.generation !== this.me.generation : !live.has(owner.frontendId));
    const taken: Array<{ e: InterruptedExecution; from: FrontendLife }> = [];
    const queue = [...open];
    const claimer = async (): Promise<void> => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const [id, accepted] = next;
        let owner = accepted;
        if (!this.unresumed.has(id)) {
          const claim = await owners.get(id);
          owner = claim?.owner ?? accepted;
          if (!orphaned(owner) || !(await owners.claim(id, this.me, claim))) continue;
          this.unresumed.add(id);
        }
        const e = await this.toResume(id);
        if (e === null) {
          this.unresumed.delete(id);
          void owners.release(id);
          continue;
        }
        taken.push({ e, from: owner });
      }
    };
    await Promise.all(Array.from({ length: Math.min(CLAIMS_AT_ONCE, open.length) }, claimer));
    if (taken.length === 0) return 0;
    await placement.adopting(taken.map((t) => t.e.id));
    for (const { e, from } of taken) {
      this.unresumed.delete(e.id);
      this.claimed.add(e.id);
      const cause = from.frontendId === this.me.frontendId ? 'the frontend restarted' : `frontend "${from.frontendId}" stopped heartbeating`;
      platform.resume(e, cause);
    }
    return taken.length;
  }

  /**
   * A claimed execution as it stands now, read again after the claim: null when it needs no run, because its end is
   * journalled (it finished after the sweep read the journal; its claim may have been removed since) or its result is
   * on the broker (its frontend stored it and died before journalling the end: the end is journalled here, so that no
   * sweep takes it again). Else its accepted event with its newest checkpoint.
   */
  private async toResume(id: string): Promise<InterruptedExecution | null> {
    const { bus, results } = this.parts;
    const events = await readKey<ExecutionEvent>(bus, TOPIC_EXECUTIONS, id);
    const accepted = events.find((m) => m.payload.t === 'accepted')?.payload as AcceptedExecution | undefined;
    if (accepted === undefined || events.some((m) => m.payload.t !== 'accepted')) {
      this.open.delete(id);
      return null;
    }
    if ((await results.get(id, 'view')) !== null) {
      await bus.publish<ExecutionEvent>(TOPIC_EXECUTIONS, id, { t: 'finished' });
      this.open.delete(id);
      return null;
    }
    const points = await readKey<ResumePoint>(bus, TOPIC_CHECKPOINTS, id);
    return { ...accepted, id, checkpoint: points.at(-1)?.payload ?? null };
  }
}

/** Every message of one key, in order (paged: a long workflow has more checkpoints than one read returns). */
async function readKey<T>(bus: GlobalBus, topic: string, key: string): Promise<Array<{ payload: T }>> {
  const out: Array<{ payload: T }> = [];
  for (let from = 0; ; ) {
    const page = await bus.read<T>(topic, { key, fromOffset: from, limit: PAGE });
    out.push(...page);
    if (page.length < PAGE) return out;
    from = page[page.length - 1]!.offset + 1;
  }
}
