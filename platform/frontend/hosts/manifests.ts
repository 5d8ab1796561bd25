/**
 * Deployed apps' manifests on the broker (KV bucket `mfapps`, one entry per app), so that every frontend and every
 * host agent reads the same apps: a frontend writes at deploy and deletes at delete; a host agent deploys an app
 * when work for it first arrives, and forgets it when its entry changes (docs/distributed.md).
 */
import { JSONCodec, KvWatchInclude, type KV, type NatsConnection } from 'nats';
import { brokerToken, fromBrokerToken } from '../../broker.js';
import { MfError } from '../../errors.js';
import { lazyBucket } from './bucket.js';
import type { ManifestStore } from '../app-manifests.js';

const BUCKET = 'mfapps'; // not mf-<app>: that is an app's storage (storage/jetstream.ts)
const codec = JSONCodec<unknown>();

export class BrokerManifests implements ManifestStore {
  private readonly bucket = lazyBucket(`the bucket ${BUCKET}`, () => this.nc.jetstream().views.kv(BUCKET, { history: 1, replicas: this.replicas }));

  constructor(
    private readonly nc: NatsConnection,
    private readonly replicas: number,
  ) {}

  async save(name: string, manifest: unknown): Promise<void> {
    await this.call(`keep the manifest of app "${name}"`, async (kv) => kv.put(brokerToken(name), codec.encode(manifest)));
  }

  async remove(name: string): Promise<void> {
    await this.call(`remove the manifest of app "${name}"`, async (kv) => kv.delete(brokerToken(name)));
  }

  async loadAll(onBad: (name: string, err: Error) => void): Promise<Map<string, unknown>> {
    return this.call('read the kept manifests', async (kv) => {
      const out = new Map<string, unknown>();
      // Keys first, values after: a slow reader of the key listing loses the rest of it.
      const keys: string[] = [];
      for await (const key of await kv.keys()) keys.push(key);
      for (const key of keys) {
        const name = fromBrokerToken(key);
        try {
          const found = await this.get(name);
          if (found) out.set(name, found.manifest);
        } catch (err) {
          onBad(name, err as Error);
        }
      }
      return out;
    });
  }

  /** The app's manifest and its revision (which changes with every deploy), or null when no app has the name. */
  async get(name: string): Promise<{ manifest: unknown; revision: number } | null> {
    const e = await this.call(`read the manifest of app "${name}"`, async (kv) => kv.get(brokerToken(name)));
    return e?.operation === 'PUT' ? { manifest: codec.decode(e.value), revision: e.revision } : null;
  }

  /** Calls `changed(name)` whenever an app's entry is written or deleted after now, until `stop()`. */
  async watch(changed: (name: string, revision: number) => void): Promise<{ stop(): void }> {
    const updates = await this.call('watch the manifests', async (kv) => kv.watch({ include: KvWatchInclude.UpdatesOnly }));
    void (async () => {
      for await (const e of updates) changed(fromBrokerToken(e.key), e.revision);
    })().catch(() => undefined);
    return { stop: () => updates.stop() };
  }

  private async call<T>(what: string, body: (kv: KV) => Promise<T>): Promise<T> {
    try {
      return await body(await this.bucket());
    } catch (err) {
      if (err instanceof MfError) throw err;
      throw new MfError('MF_STORAGE_FAILED', `the broker could not ${what}: ${(err as Error).message}`);
    }
  }
}
