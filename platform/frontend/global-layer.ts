/**
 * The global layer (global bus + global storage), chosen once from the config's `broker`: the embedded journals in
 * the data directory, or NATS JetStream. Both halves of one layer live in the same place, so a run never mixes them.
 */
import { join } from 'node:path';
import { connectBroker } from '../broker.js';
import { JournalBus, type GlobalBus } from '../bus/global/index.js';
import { JetStreamBus } from '../bus/global/jetstream.js';
import type { ResolvedConfig } from '../config.js';
import { GlobalStorage } from '../storage/global-store.js';
import { JetStreamStorage } from '../storage/jetstream.js';
import type { GlobalTier } from '../storage/types.js';
import { BrokerManifests } from './hosts/manifests.js';
import { FrontendRegistry } from './hosts/frontends.js';
import { ExecutionOwners } from './hosts/owners.js';
import { HostRegistry } from './hosts/registry.js';
import { HostHistories } from './hosts/histories.js';
import { BrokerResults } from './hosts/results.js';
import { SessionDirectory } from './hosts/sessions.js';
import { HostStops } from './hosts/stops.js';

export interface GlobalLayer {
  readonly bus: GlobalBus;
  readonly storage: GlobalTier;
  /** What frontends and host agents share on a broker (the host registry, the apps' manifests, finished executions and engine histories, the live frontends and their claims, where sessions run, stops sent to hosts); null when embedded. */
  readonly cluster: { readonly hosts: HostRegistry; readonly manifests: BrokerManifests; readonly results: BrokerResults; readonly histories: HostHistories; readonly frontends: FrontendRegistry; readonly owners: ExecutionOwners; readonly sessions: SessionDirectory; readonly stops: HostStops } | null;
  /** Releases what the bus and storage share (the broker connection); after they are closed. */
  release(): Promise<void>;
}

/** The embedded journals, in the data folder so that a restart finds them (docs/distributed.md). */
export function embeddedLayer(config: Pick<ResolvedConfig, 'dataDir'>): GlobalLayer {
  return { bus: new JournalBus(join(config.dataDir, 'bus')), storage: new GlobalStorage(join(config.dataDir, 'storage')), cluster: null, release: async () => undefined };
}

/** Connects to the broker when the config names one (MF_BROKER_UNREACHABLE if it does not answer). */
export async function openGlobalLayer(config: Pick<ResolvedConfig, 'dataDir' | 'broker' | 'brokerReplicas'>): Promise<GlobalLayer> {
  if (config.broker === null) return embeddedLayer(config);
  const nc = await connectBroker(config.broker);
  // Large payloads travel on a connection of their own: heartbeats and hops never wait behind their chunks.
  const bulk = await connectBroker(config.broker).catch(async (err: unknown) => {
    await nc.close();
    throw err;
  });
  const replicas = config.brokerReplicas;
  return {
    bus: await JetStreamBus.open(nc, { replicas, bulk }),
    storage: new JetStreamStorage(nc, { replicas }),
    // Buckets are made on first use: a platform with local hosts never creates them.
    cluster: {
      hosts: new HostRegistry(nc, replicas),
      manifests: new BrokerManifests(nc, replicas),
      results: new BrokerResults(nc, replicas),
      // An engine history can be many MiB (every state's input and output): it travels on the bulk connection.
      histories: new HostHistories(bulk, new BrokerResults(bulk, replicas)),
      frontends: new FrontendRegistry(nc, replicas),
      owners: new ExecutionOwners(nc, replicas),
      sessions: new SessionDirectory(nc, replicas),
      stops: new HostStops(nc),
    },
    release: async () => {
      await nc.close();
      await bulk.close();
    },
  };
}
