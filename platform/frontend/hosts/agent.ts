/**
 * A host agent (`mfbench host start`): a platform with sandboxes and no HTTP API, on a broker. It registers under
 * its host id (registry.ts), takes the executions frontends placed on it from its work topic (a durable consumer,
 * explicit ack once the answer is published, at most `capacity` unacknowledged), runs each whole with the same
 * placements, transports and sandbox pools as a single platform, and publishes the answer to the results topic.
 * Apps come from the broker's manifests, deployed here when work for them first arrives (docs/distributed.md). It
 * also runs the sessions frontends place on it and answers for them on the broker (host-sessions.ts), and takes
 * pipes from other hosts' sessions on its pipe listener (pipe-listener.ts).
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Subscription } from '../../bus/global/index.js';
import { resolveConfig, type UserConfig } from '../../config.js';
import { MfError, toMfError } from '../../errors.js';
import { openGlobalLayer } from '../global-layer.js';
import type { Platform } from '../platform.js';
import { composePlatform, keepPlatformFilesPrivate } from '../start.js';
import type { SessionRegistry } from '../sessions.js';
import { HostSessions } from './host-sessions.js';
import { PipeListener } from './pipe-listener.js';
import { checkHostId, type HostInfo, type Registration } from './registry.js';
import { HOST_GROUP, resultId, TOPIC_RESULTS, workId, workTopic, type Work, type WorkResult } from './work.js';

/** A running host agent. `lost` resolves (with why) if its registration was lost and it stopped taking work. */
export interface HostAgentHandle {
  readonly hostId: string;
  readonly capacity: number;
  readonly lost: Promise<string>;
  close(): Promise<void>;
}

export interface HostOptions {
  /** Default: this machine's name, as one broker token. */
  hostId?: string;
  /** Executions run at once (default 16); more wait on the work topic. A running session holds one of these slots. */
  capacity?: number;
  /**
   * For experiments (docs/distributed.md#hops-across-hosts): under busMode global, every second Task hop of an
   * execution this host runs is dispatched by this host agent instead, so that the hop between two Tasks crosses hosts.
   */
  hopPeer?: string;
  /**
   * The address this host's pipe listener binds and advertises, for pipes from sessions on other hosts (default
   * 127.0.0.1; a host in a network namespace gives its address there). Port 0 (any free port) unless `pipePort`.
   */
  pipeAddress?: string;
  pipePort?: number;
}

/** The default host id: the machine's name with anything but letters, digits and '-' made '-'. */
export function defaultHostId(): string {
  return hostname().replace(/[^A-Za-z0-9-]/g, '-').slice(0, 64) || 'host';
}

export async function startHostAgent(user: UserConfig, options: HostOptions = {}): Promise<HostAgentHandle> {
  const hostId = options.hostId ?? defaultHostId();
  checkHostId(hostId);
  const hopPeer = options.hopPeer ?? null;
  if (hopPeer !== null) checkHostId(hopPeer);
  if (hopPeer === hostId) throw new MfError('MF_CONFIG_INVALID', 'a host agent cannot be its own hop peer', { option: 'hop-peer', value: hopPeer });
  const capacity = options.capacity ?? 16;
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 10_000) throw new MfError('MF_CONFIG_INVALID', 'capacity must be an integer from 1 to 10000', { option: 'capacity', value: capacity });
  const config = resolveConfig({ ...user, hosts: 'local' });
  if (config.broker === null) throw new MfError('MF_CONFIG_INVALID', 'a host agent needs a broker (--broker nats://…): frontends reach it there', { option: 'broker' });
  await mkdir(config.dataDir, { recursive: true });
  const layer = await openGlobalLayer(config);
  const { hosts, manifests, sessions: sessionDirectory } = layer.cluster!;
  let markLost: (why: string) => void = () => undefined;
  const lost = new Promise<string>((resolve) => (markLost = resolve));
  let listener: PipeListener;
  try {
    listener = await PipeListener.listen(options.pipeAddress ?? '127.0.0.1', options.pipePort ?? 0);
  } catch (err) {
    await layer.release();
    throw err;
  }
  let liveSessions = (): number => 0;
  const startedAt = Date.now();
  // `sessions` is read at each heartbeat (the entry is serialised then), so frontends see this host's load.
  const info: HostInfo = {
    hostId,
    capacity,
    pid: process.pid,
    backend: config.backend,
    startedAt,
    get sessions() {
      return liveSessions();
    },
    pipes: { host: listener.host, port: listener.port },
  };
  let registration: Registration;
  try {
    registration = await hosts.register(info, (why) => markLost(why));
  } catch (err) {
    await listener.close();
    await layer.release();
    throw err;
  }
  const runDir = await mkdtemp(join(config.dataDir, 'run-'));
  const hostSessions = new HostSessions(sessionDirectory, hostId, startedAt, listener);
  // The peer's hops need their app here too; `apps` exists once the platform does.
  const peer = { hostId: hopPeer, appReady: (name: string) => apps.ready(name) };
  const platform = composePlatform(config, runDir, layer, { hostId, peer, sessionHooks: hostSessions });
  const sessions = platform.sessions as SessionRegistry;
  liveSessions = () => sessions.liveCount;
  const apps: HostApps = new HostApps(platform, manifests);
  let work: Subscription | null = null;
  let watch: { stop(): void } | null = null;
  let histories: { stop(): void } | null = null;
  let serving: { stop(): void } | null = null;
  let stopping: { stop(): void } | null = null;
  // Stops for executions whose work has not arrived yet (a stop is a plain message; the work waits on JetStream).
  const stoppedAhead = new StoppedAhead();
  const close = async (): Promise<void> => {
    // Out of the registry first: frontends stop placing work here, and place again what this host does not answer.
    await registration.stop();
    watch?.stop();
    histories?.stop();
    stopping?.stop();
    await work?.close();
    // Sessions still answer while the platform stops them (their ends are recorded on the broker).
    await platform.close();
    await hostSessions.flush();
    serving?.stop();
    await listener.close();
    await layer.release();
  };
  try {
    if (platform.appUsers) await keepPlatformFilesPrivate(config.dataDir, runDir);
    watch = await manifests.watch((name, revision) => apps.changed(name, revision));
    // The engine histories stay in this host's sandboxes; frontends ask for them through the broker.
    histories = layer.cluster!.histories.serve(hostId, (id) => platform.engineHistory(id), (id) => platform.hasFinished(id));
    stopping = layer.cluster!.stops.serve(hostId, ({ executionId, error, cause }) => {
      if (!platform.stopRun(executionId, error, cause)) stoppedAhead.add(executionId, { error, cause });
    });
    serving = sessionDirectory.serve(hostId, (req, payload) => hostSessions.serve(sessions, (app) => apps.ready(app), req, payload));
    work = await layer.bus.subscribe<Work>(
      workTopic(hostId),
      HOST_GROUP,
      async (m) => {
        const { executionId, attempt } = m.payload;
        const answer = await runWork(platform, apps, hostId, hopPeer, m.payload, stoppedAhead.take(executionId));
        // Acknowledged once the answer is on the broker: a host that dies first leaves the work unacknowledged.
        await layer.bus.publish<WorkResult>(TOPIC_RESULTS, executionId, answer, { id: resultId(executionId, attempt) });
        // Answered: a placement that travelled by reference is needed by nobody now (off the path).
        if (m.referenced) void layer.bus.release(m.topic, executionId, workId(executionId, attempt)).catch(() => undefined);
      },
      // No execution runs longer than maxExecutionSeconds, so an unacknowledged one past that was lost with its run.
      // Sole: the id is this agent's alone now, so what a killed agent with it left in flight comes back at once.
      { maxInFlight: capacity, ackTimeoutMs: config.maxExecutionSeconds * 1000 + 60_000, maxAttempts: 3, sole: true },
    );
  } catch (err) {
    await close();
    throw err;
  }
  void lost.then(() => work?.close());
  return { hostId, capacity, lost, close };
}

/** Runs one placed execution to the answer the frontend keeps; records name this host (or the hop peer that ran them). */
async function runWork(platform: Platform, apps: HostApps, hostId: string, hopPeer: string | null, work: Work, stopped: StopReason | null): Promise<WorkResult> {
  const head = { executionId: work.executionId, attempt: work.attempt, host: hostId };
  try {
    await apps.ready(work.app);
    const done = await platform.runPlaced(work, stopped);
    for (const record of done.records) if (hopPeer === null || record.host !== hopPeer) record.host = hostId;
    return { ...head, ...done };
  } catch (err) {
    return { ...head, error: toMfError(err).toJSON() };
  }
}

type StopReason = { error: string | null; cause: string | null };

/** Stops that came before their execution's work, oldest first, at most STOPPED_AHEAD_KEPT (older ones are forgotten). */
const STOPPED_AHEAD_KEPT = 4096;
class StoppedAhead {
  private readonly stops = new Map<string, StopReason>();

  add(executionId: string, reason: StopReason): void {
    this.stops.set(executionId, reason);
    if (this.stops.size > STOPPED_AHEAD_KEPT) this.stops.delete(this.stops.keys().next().value as string);
  }

  /** The stop for this execution, if one came ahead of it (consumed). */
  take(executionId: string): StopReason | null {
    const reason = this.stops.get(executionId) ?? null;
    this.stops.delete(executionId);
    return reason;
  }
}

/** The apps deployed on this host, each as of the manifest revision it was deployed from. */
class HostApps {
  private readonly deployed = new Map<string, Promise<number>>();

  constructor(
    private readonly platform: Platform,
    private readonly manifests: { get(name: string): Promise<{ manifest: unknown; revision: number } | null> },
  ) {}

  /** Deploys the app from its manifest on the broker unless it is deployed here already. */
  ready(name: string): Promise<number> {
    let revision = this.deployed.get(name);
    if (!revision) {
      revision = (async () => {
        const found = await this.manifests.get(name);
        if (!found) throw new MfError('MF_APP_NOT_FOUND', `no app named "${name}" is deployed`, { app: name });
        await this.platform.deploy(found.manifest, { restoring: true });
        return found.revision;
      })();
      revision.catch(() => this.deployed.delete(name));
      this.deployed.set(name, revision);
    }
    return revision;
  }

  /** An app's manifest was written or deleted: a copy deployed from another revision is forgotten (the next work redeploys). */
  changed(name: string, revision: number): void {
    const deployed = this.deployed.get(name);
    if (!deployed) return;
    void deployed.then(
      (had) => {
        if (had === revision || this.deployed.get(name) !== deployed) return;
        this.deployed.delete(name);
        return this.platform.unload(name);
      },
      () => undefined,
    );
  }
}
