/**
 * Which frontend life runs an async execution once its first owner died (docs/distributed.md, "Frontend takeover").
 * An execution belongs to the life that accepted it (its `accepted` event says which) until a claim in the KV
 * bucket `mfowners` says otherwise. A claim is a compare-and-set on the execution's entry: a create when it has none,
 * an update with the revision the claimer read when it has one. Of two frontends that both try to take one
 * execution over, exactly one write succeeds, so exactly one of them runs it.
 */
import type { KV, NatsConnection } from 'nats';
import { JSONCodec } from 'nats';
import { MfError } from '../../errors.js';
import { lazyBucket } from './bucket.js';
import type { FrontendLife } from './frontends.js';

const BUCKET = 'mfowners';
/** Markers of removed claims older than this are dropped (JetStream's own default age for purgeDeletes). */
const MARKER_AGE_MS = 30 * 60_000;
const codec = JSONCodec<FrontendLife>();

/** The owner an execution's claim names, with the entry's revision (what the next claim must expect). */
export interface Claimed {
  owner: FrontendLife;
  revision: number;
}

export class ExecutionOwners {
  private readonly kv = lazyBucket('the execution owners', () => this.nc.jetstream().views.kv(BUCKET, { history: 1, replicas: this.replicas }));

  constructor(
    private readonly nc: NatsConnection,
    private readonly replicas: number,
  ) {}

  /** The execution's claim, or null when none was made (it still belongs to the life that accepted it). */
  async get(executionId: string): Promise<Claimed | null> {
    const e = await (await this.kv()).get(executionId);
    return e?.operation === 'PUT' ? { owner: codec.decode(e.value), revision: e.revision } : null;
  }

  /**
   * Makes `me` the execution's owner if its entry is still as read (`seen`: the claim read, or null for none).
   * False when another frontend claimed it first; other broker failures reject.
   */
  async claim(executionId: string, me: FrontendLife, seen: Claimed | null): Promise<boolean> {
    const kv = await this.kv();
    try {
      if (seen === null) await kv.create(executionId, codec.encode(me));
      else await kv.update(executionId, codec.encode(me), seen.revision);
      return true;
    } catch (err) {
      if (lostTheRace(err)) return false;
      throw new MfError('MF_STORAGE_FAILED', `the broker could not claim execution "${executionId}": ${(err as Error).message}`, { executionId });
    }
  }

  /**
   * Removes a claim once its execution's end is journalled (takeover.ts): a purge, which keeps only a marker of the
   * entry; `dropMarkers` drops old markers. A failure leaves the claim behind, which costs its bytes and nothing else:
   * a sweep never takes an execution whose end is journalled.
   */
  async release(executionId: string): Promise<void> {
    await (await this.kv()).purge(executionId).catch(() => undefined);
  }

  /**
   * Drops the markers of claims removed more than MARKER_AGE_MS ago, so that the bucket holds only the claims of
   * running executions. A claim made on a marker meanwhile is a create after a delete; one that races the drop loses
   * (claim() says false) and the next sweep tries again.
   */
  async dropMarkers(): Promise<void> {
    // The client's KV interface does not declare it; the Bucket that views.kv() returns has it.
    const kv = (await this.kv()) as KV & Partial<{ purgeDeletes(olderMillis?: number): Promise<unknown> }>;
    await kv.purgeDeletes?.(MARKER_AGE_MS).catch(() => undefined);
  }
}

/** JetStream's "wrong last sequence" (10071): the entry changed since it was read. */
function lostTheRace(err: unknown): boolean {
  return (err as { api_error?: { err_code?: number } }).api_error?.err_code === 10071 || /wrong last sequence/i.test((err as Error).message);
}
