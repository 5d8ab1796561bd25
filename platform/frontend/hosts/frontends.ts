/**
 * The frontends alive on a broker (docs/distributed.md, "Frontend takeover"), kept as host agents are (registry.ts):
 * each remote frontend has an entry in the KV bucket `mffrontends` under its frontend id, which expires HOST_TTL_MS
 * after its last heartbeat. The entry names this life of the frontend (`generation`, new at every start), so a
 * frontend that died and started again is told apart from the one that accepted an execution before it died.
 */
import { randomUUID } from 'node:crypto';
import type { KV, NatsConnection } from 'nats';
import { JSONCodec } from 'nats';
import { MfError } from '../../errors.js';
import { lazyBucket } from './bucket.js';
import { HOST_TTL_MS, Registration } from './registry.js';

const BUCKET = 'mffrontends';
const codec = JSONCodec<FrontendInfo>();

export interface FrontendInfo {
  frontendId: string;
  /** This life of the frontend: a fresh id at every start. */
  generation: string;
  pid: number;
  startedAt: number;
}

/** One life of one frontend: what an accepted execution and an ownership claim name. */
export interface FrontendLife {
  frontendId: string;
  generation: string;
}

export function newLife(frontendId: string): FrontendInfo {
  return { frontendId, generation: randomUUID(), pid: process.pid, startedAt: Date.now() };
}

export class FrontendRegistry {
  private readonly kv = lazyBucket('the frontend registry', () => this.nc.jetstream().views.kv(BUCKET, { ttl: HOST_TTL_MS, history: 1, replicas: this.replicas }));

  constructor(
    private readonly nc: NatsConnection,
    private readonly replicas: number,
  ) {}

  /**
   * Registers this life of a frontend and keeps its entry alive until `stop()`. An entry under the same id that is
   * still alive is this frontend's previous life (the id lives in its data folder): this one takes it over at once,
   * so that its executions count as this life's to resume rather than another frontend's to adopt.
   */
  async register(info: FrontendInfo, lost: (why: string) => void): Promise<Registration<FrontendInfo>> {
    const kv = await this.kv();
    try {
      let revision: number;
      const previous = await kv.get(info.frontendId);
      if (previous?.operation === 'PUT') revision = await kv.update(info.frontendId, codec.encode(info), previous.revision);
      else revision = await kv.create(info.frontendId, codec.encode(info));
      return new Registration(kv, info.frontendId, info, revision, lost, true);
    } catch (err) {
      throw new MfError('MF_STORAGE_FAILED', `the broker could not register frontend "${info.frontendId}": ${(err as Error).message}`, { frontendId: info.frontendId });
    }
  }

  /** The frontends whose entries are alive now, by frontend id. */
  async live(): Promise<Map<string, FrontendInfo>> {
    const kv = await this.kv();
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    const live = new Map<string, FrontendInfo>();
    for (const e of await Promise.all(keys.map((k) => kv.get(k)))) {
      if (e?.operation === 'PUT') live.set(e.key, codec.decode(e.value));
    }
    return live;
  }
}
