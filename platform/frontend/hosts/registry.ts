/**
 * The host agents alive on a broker (docs/distributed.md, "Host agents and frontends"). Each agent registers under
 * its host id in the KV bucket `mfhosts`, whose entries expire HOST_TTL_MS after their last write (the bucket's
 * max age), and rewrites its entry every HEARTBEAT_MS. So an agent that stops heartbeating, killed or hung, is
 * gone from the bucket within HOST_TTL_MS (plus the server's expiry sweep), and a second agent with a live one's id
 * is refused: registering is a create, which fails while the key holds a value.
 */
import type { KV, NatsConnection } from 'nats';
import { JSONCodec } from 'nats';
import { MfError } from '../../errors.js';
import { lazyBucket } from './bucket.js';

export const HEARTBEAT_MS = 1_000;
/** Generous for a busy machine: a host is counted gone this long after its last heartbeat. */
export const HOST_TTL_MS = 8_000;
const BUCKET = 'mfhosts'; // not mf-<app>: that is an app's storage (storage/jetstream.ts)
/** A host id is one broker token (it names the host's work topic): letters, digits and '-'. */
const HOST_ID = /^[A-Za-z0-9-]{1,64}$/;
const codec = JSONCodec<HostInfo>();
const memberCodec = JSONCodec<Member>();

/** What a host agent says about itself in its entry. */
export interface HostInfo {
  hostId: string;
  /** Executions it runs at once; more wait on its work topic. */
  capacity: number;
  pid: number;
  /** The sandbox backend of its sandboxes. */
  backend: string;
  startedAt: number;
  /** Sessions it runs now, as of its last heartbeat: each holds a slot (placement counts them). */
  sessions?: number;
  /** Where its pipe listener takes pipes from other hosts (hosts/pipe-listener.ts). */
  pipes?: { host: string; port: number };
}

export function checkHostId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !HOST_ID.test(id)) {
    throw new MfError('MF_CONFIG_INVALID', `bad host id ${JSON.stringify(id)}: use 1 to 64 letters, digits or '-'`, { option: 'hostId', value: id });
  }
}

export class HostRegistry {
  private readonly kv = lazyBucket('the host registry', () => this.nc.jetstream().views.kv(BUCKET, { ttl: HOST_TTL_MS, history: 1, replicas: this.replicas }));

  constructor(
    private readonly nc: NatsConnection,
    private readonly replicas: number,
  ) {}

  /**
   * Registers a host agent and keeps its entry alive until `stop()`. MF_HOST_DUPLICATE when an agent with the same
   * id is alive. `lost` is called if the entry was taken over (this agent was silent past the TTL and another took
   * its id) or can no longer be written: the agent must stop, since frontends no longer send it work.
   */
  async register(info: HostInfo, lost: (why: string) => void): Promise<Registration> {
    checkHostId(info.hostId);
    const kv = await this.kv();
    let revision: number;
    try {
      revision = await kv.create(info.hostId, codec.encode(info));
    } catch (err) {
      const holder = await kv.get(info.hostId).catch(() => null);
      if (holder?.operation === 'PUT') {
        const alive = codec.decode(holder.value);
        throw new MfError('MF_HOST_DUPLICATE', `a host agent with id "${info.hostId}" is alive on the broker (pid ${alive.pid}); give this one another --host-id`, { hostId: info.hostId, pid: alive.pid });
      }
      throw new MfError('MF_STORAGE_FAILED', `the broker could not register host "${info.hostId}": ${(err as Error).message}`, { hostId: info.hostId });
    }
    return new Registration(kv, info.hostId, info, revision, lost);
  }

  /** The hosts whose entries are alive now, by host id. */
  async live(): Promise<HostInfo[]> {
    const kv = await this.kv();
    // Keys first, values after: a slow reader of the key listing loses the rest of it.
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    const hosts: HostInfo[] = [];
    for (const e of await Promise.all(keys.map((k) => kv.get(k)))) if (e?.operation === 'PUT') hosts.push(codec.decode(e.value));
    return hosts.sort((a, b) => (a.hostId < b.hostId ? -1 : 1));
  }
}

/** What every registered process (a host agent, a frontend) says about itself: enough to tell two lives apart. */
export interface Member {
  pid: number;
  startedAt: number;
}

/**
 * A live registration of a host agent or a frontend (frontends.ts) in a bucket whose entries expire. Each heartbeat
 * rewrites the entry with the revision it last wrote; when that fails because the revision moved (a beat whose answer
 * was lost on a busy broker) or the entry expired (this process was too slow to beat), it takes its entry back,
 * unless another process holds the key now: then this one is lost. With `expiredIsLost` an expired entry is lost too:
 * a frontend counted gone has had its executions taken over, so it must not carry on as if it had not.
 */
export class Registration<T extends Member = HostInfo> {
  private readonly timer: NodeJS.Timeout;
  private stopped = false;
  private beating = false;

  constructor(
    private readonly kv: KV,
    private readonly key: string,
    private readonly info: T,
    private revision: number,
    lost: (why: string) => void,
    private readonly expiredIsLost = false,
  ) {
    let failingSince: number | null = null;
    const fail = (why: string): void => {
      this.stop().catch(() => undefined);
      lost(why);
    };
    this.timer = setInterval(() => {
      if (this.beating || this.stopped) return;
      this.beating = true;
      this.beat()
        .then(
          (why) => {
            failingSince = null;
            if (why !== null) fail(why);
          },
          (err: unknown) => {
            // Missed beats (a slow broker) are fine; a TTL's worth of them means frontends count this host gone.
            failingSince ??= Date.now();
            if (!this.stopped && Date.now() - failingSince >= HOST_TTL_MS) fail(`its heartbeat could not be written for ${HOST_TTL_MS} ms: ${(err as Error).message}`);
          },
        )
        .finally(() => (this.beating = false));
    }, HEARTBEAT_MS);
    this.timer.unref();
  }

  /** Stops the heartbeat and removes the entry, so frontends stop placing work here at once. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.kv.delete(this.key, { previousSeq: this.revision }).catch(() => undefined);
  }

  /** One heartbeat; resolves with why this registration is lost, or null. */
  private async beat(): Promise<string | null> {
    const value = memberCodec.encode(this.info);
    try {
      this.revision = await this.kv.update(this.key, value, this.revision);
      return null;
    } catch (err) {
      if (!/wrong last sequence/i.test((err as Error).message)) throw err;
    }
    const e = await this.kv.get(this.key);
    if (e?.operation === 'PUT') {
      const holder = memberCodec.decode(e.value);
      if (holder.pid !== this.info.pid || holder.startedAt !== this.info.startedAt) return `its id "${this.key}" is held by another process now (pid ${holder.pid})`;
      this.revision = await this.kv.update(this.key, value, e.revision);
    } else if (this.expiredIsLost) {
      return `its entry "${this.key}" expired: it was counted gone after ${HOST_TTL_MS} ms without a heartbeat`;
    } else {
      this.revision = await this.kv.create(this.key, value);
    }
    return null;
  }
}
