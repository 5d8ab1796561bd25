/**
 * The composition root: turns a user config into a running platform. Every variant is chosen here, once, from the
 * resolved config: the sandbox backend, where the workflow engine runs (placement) and how a hop travels
 * (transport). Nothing below this file branches on those choices.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { debugHopDelayUs } from '../debug-hop-delay.js';
import { MfError } from '../errors.js';
import { resolveConfig, type ResolvedConfig, type UserConfig } from '../config.js';
import { createBackend } from '../sandbox/backends.js';
import { AppManifests } from './app-manifests.js';
import { AppRegistry } from './apps.js';
import { ExecutionStore } from './executions.js';
import { embeddedLayer, openGlobalLayer, type GlobalLayer } from './global-layer.js';
import { startHttpServer } from './http.js';
import { followApps } from './hosts/follow-apps.js';
import { newLife, type FrontendInfo } from './hosts/frontends.js';
import { Takeover } from './hosts/takeover.js';
import { InSandboxPlacement } from './placement/in-sandbox.js';
import { OnHostPlacement } from './placement/on-host.js';
import { OnHostsPlacement } from './placement/on-hosts.js';
import { SessionRegistry, type SessionHooks, type SessionService } from './sessions.js';
import { RemoteSessions } from './hosts/remote-sessions.js';
import type { ExecutionPlacement } from './placement/placement.js';
import { Platform, type Recovered } from './platform.js';
import { executionLimits } from './sandboxes.js';
import { DirectTransport } from './transport/direct.js';
import { JournalTransport, type HopPeer } from './transport/journal.js';
import { ToHostsTransport } from './transport/to-hosts.js';
import type { HopTransport } from './transport/transport.js';

/** A running platform. `close()` stops every sandbox and the HTTP server. */
export interface PlatformHandle {
  readonly url: string;
  readonly token: string;
  readonly dataDir: string;
  readonly platform: Platform;
  /** What this start read back from the data folder (docs/distributed.md). */
  readonly recovered: Recovered;
  /**
   * Resolves (with why) if this remote frontend was counted gone on the broker, so that others may run its executions
   * now (docs/distributed.md, "Frontend takeover"): it must stop. Never resolves for a single platform.
   */
  readonly lost: Promise<string>;
  close(): Promise<void>;
}

export async function startPlatform(user: UserConfig = {}): Promise<PlatformHandle> {
  const config = resolveConfig(user);
  debugHopDelayUs(); // a bad debug switch fails here, not in every sandbox
  await mkdir(config.dataDir, { recursive: true });
  const token = config.token ?? (await loadOrCreateToken(join(config.dataDir, 'token')));
  const runDir = await mkdtemp(join(config.dataDir, 'run-'));
  const layer = await openGlobalLayer(config);
  const life = newLife(config.hosts === 'remote' ? await loadOrCreateId(join(config.dataDir, 'frontend-id')) : 'local');
  const platform = composePlatform(config, runDir, layer, { frontend: life });
  let takeover: Takeover | null = null;
  let markLost: (why: string) => void = () => undefined;
  const lost = new Promise<string>((resolve) => (markLost = resolve));
  const closePlatform = async (): Promise<void> => {
    await takeover?.stop();
    await platform.close();
    await layer.release();
  };
  try {
    if (platform.appUsers) await keepPlatformFilesPrivate(config.dataDir, runDir);
    // Recovery takes the data folder's bus first: past it, no other live platform uses this folder.
    let recovered = await platform.recover();
    if (config.hosts === 'remote') {
      // Registered before it serves: from here on the other frontends leave its executions to it.
      const started = await Takeover.start({ platform, placement: onHosts(platform), bus: layer.bus, frontends: layer.cluster!.frontends, owners: layer.cluster!.owners, results: layer.cluster!.results }, life, markLost);
      takeover = started.takeover;
      recovered = { ...recovered, resumed: recovered.resumed + started.resumed };
    }
    await removeStaleRuns(config.dataDir, runDir);
    // Apps deployed through other frontends of the broker, from now on (recover() deployed those kept so far).
    const following = config.hosts === 'remote' ? await followApps(platform, layer.cluster!.manifests) : null;
    const server = await startHttpServer(platform, config, token);
    let closing: Promise<void> | null = null;
    return {
      url: server.url,
      token,
      dataDir: config.dataDir,
      platform,
      recovered,
      lost,
      close() {
        closing ??= (async () => {
          following?.stop();
          await server.close();
          await closePlatform();
        })();
        return closing;
      },
    };
  } catch (err) {
    await closePlatform();
    throw err;
  }
}

/**
 * The platform's parts, one variant of each seam, as the config asks (the global layer is opened by the caller). What
 * outlives a run (the bus, finished executions, app manifests, global storage) lives in the data folder; the run
 * folder holds only this run's code copies and sandbox folders. `role`: a frontend's stable id and this life of it
 * (its consumer group and its accepted executions' owner on the broker, under remote hosts), or the host agent this
 * platform is (hosts/agent.ts).
 */
export function composePlatform(config: ResolvedConfig, runDir: string, layer: GlobalLayer = embeddedLayer(config), role: Role = { frontend: newLife('local') }): Platform {
  const apps = new AppRegistry();
  const executions = new ExecutionStore({ maxCount: config.maxStoredExecutions, maxBytes: config.maxStoredExecutionBytes }, join(config.dataDir, 'executions'));
  const { bus, storage } = layer;
  const hostId = 'hostId' in role ? role.hostId : null;
  // Sessions run where sandboxes are: here, or on the host agents a remote frontend places them on.
  const remote = config.hosts === 'remote' && hostId === null;
  const onHostsPlacement = remote ? new OnHostsPlacement(bus, cluster(layer).hosts, 'frontend' in role ? role.frontend.frontendId : 'local', config.recoveryAttempts, cluster(layer).stops) : null;
  const sessions: SessionService = onHostsPlacement
    ? new RemoteSessions(apps, cluster(layer).sessions, cluster(layer).hosts, () => onHostsPlacement.hostForSession())
    : new SessionRegistry(apps, 'hostId' in role ? (role.sessionHooks ?? null) : null);
  let placement: ExecutionPlacement;
  let transport: HopTransport;
  if (onHostsPlacement) {
    [placement, transport] = [onHostsPlacement, new ToHostsTransport(onHostsPlacement)];
  } else {
    transport = config.busMode === 'global' ? new JournalTransport(bus, apps, executions, hostId, 'hostId' in role ? role.peer ?? null : null) : new DirectTransport();
    placement = engineInSandbox(config)
      ? new InSandboxPlacement(config.keepHistory, executions, bus)
      : new OnHostPlacement(config.keepHistory, transport, executionLimits(config), sessions);
  }
  // Frontends and host agents share the apps on the broker; a single platform keeps them in its data folder.
  const manifests = config.hosts === 'remote' || hostId !== null ? cluster(layer).manifests : new AppManifests(join(config.dataDir, 'apps'));
  const frontend = config.hosts === 'remote' && 'frontend' in role ? { frontendId: role.frontend.frontendId, generation: role.frontend.generation } : null;
  // Frontends of one broker answer each other's finished executions from it.
  const sharedResults = frontend !== null ? cluster(layer).results : null;
  const hostHistories = frontend !== null ? cluster(layer).histories : null;
  return new Platform({ config, backend: createBackend(config.backend), runDir, apps, executions, manifests, storage, bus, placement, transport, sessions, frontend, sharedResults, hostHistories });
}

/**
 * What a composed platform is: a frontend (which owns sandboxes unless its hosts are remote) or a host agent, with its
 * `peer` (where every second Task hop goes, and how a peer's hop finds its app: transport/journal.ts).
 */
export type Role = { frontend: FrontendInfo } | { hostId: string; peer?: HopPeer; sessionHooks?: SessionHooks };

/** A remote frontend's placement (the takeover hands it the executions it adopts). */
function onHosts(platform: Platform): OnHostsPlacement {
  const { placement } = platform.parts;
  if (!(placement instanceof OnHostsPlacement)) throw new MfError('MF_INTERNAL', 'a frontend with remote hosts has no placement on hosts');
  return placement;
}

function cluster(layer: GlobalLayer): NonNullable<GlobalLayer['cluster']> {
  if (layer.cluster === null) throw new MfError('MF_CONFIG_INVALID', 'frontends and host agents need a broker (the broker option)', { option: 'broker' });
  return layer.cluster;
}

/**
 * The engine runs in the sandbox when a sandbox holds the whole app and hops stay on its local bus (SAND's design);
 * otherwise (per-function sandboxes, or every hop through the global bus) it runs on the host.
 */
export function engineInSandbox(config: Pick<ResolvedConfig, 'sandboxing' | 'busMode'>): boolean {
  return config.sandboxing === 'grouped' && config.busMode === 'hierarchical';
}

/**
 * On a root platform, apps run as users of their own (app-users.ts). They may pass through the data and run folders
 * to reach their own sandbox and code folders (0711: no listing), and nothing else: the token (0600), the global
 * storage journals and the embedded bus are root's alone (0700).
 */
export async function keepPlatformFilesPrivate(dataDir: string, runDir: string): Promise<void> {
  for (const dir of [dataDir, runDir]) await chmod(dir, 0o711);
  for (const dir of ['apps', 'sb']) await mkdir(join(runDir, dir), { mode: 0o711 });
  for (const dir of ['bus', 'storage', 'apps', 'executions'].map((d) => join(dataDir, d))) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  }
}

/**
 * Removes the run folders that earlier platforms on this data folder left behind (a killed one never removes its
 * own). Called once this platform holds the data folder's bus, so none of them belongs to a live platform.
 */
async function removeStaleRuns(dataDir: string, current: string): Promise<void> {
  const entries = await readdir(dataDir, { withFileTypes: true });
  const stale = entries.filter((e) => e.isDirectory() && e.name.startsWith('run-') && join(dataDir, e.name) !== current);
  await Promise.all(stale.map((e) => rm(join(dataDir, e.name), { recursive: true, force: true })));
}

/** A frontend's id: made once per data folder, so that a restarted frontend reads its answers with the same group. */
async function loadOrCreateId(path: string): Promise<string> {
  try {
    const existing = (await readFile(path, 'utf8')).trim();
    if (/^[A-Za-z0-9-]{8,64}$/.test(existing)) return existing;
  } catch {
    // no id yet
  }
  const id = randomBytes(6).toString('hex');
  await writeFile(path, id + '\n');
  return id;
}

async function loadOrCreateToken(path: string): Promise<string> {
  try {
    const existing = (await readFile(path, 'utf8')).trim();
    if (existing.length >= 8) return existing;
  } catch {
    // no token yet
  }
  const token = randomBytes(24).toString('base64url');
  await writeFile(path, token + '\n', { mode: 0o600 });
  return token;
}
