/**
 * The MicroFunctions adapter: drives MicroFunctions through its HTTP API with the SDK, either an embedded platform
 * started on port 0 in a process of its own (the default) or a platform already running at a URL (remote).
 *
 * Every request goes over real HTTP even when the platform is embedded, so a number measured here is what any client
 * of the platform would see. The embedded platform runs apart from this process, and where the machine allows on
 * other CPUs, so that the load generator's timers are never held up by the platform's work (docs/load.md).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKENDS, PRESET_NAMES, WORKER_START, type BackendName, type PolicySwitches, type PresetName, type UserConfig, type WorkerStart } from '../../platform/config.js';
import { now } from '../../platform/clock.js';
import { MfError } from '../../platform/errors.js';
import type { AppManifest } from '../../platform/manifest.js';
import { MicroFunctionsClient } from '../../platform/sdk/client.js';
import type { Execution, FunctionInvocation, PlatformPolicy } from '../../platform/sdk/types.js';
import { CPU_POLICIES, pinLoader, planPlacement, releaseLoader, type CpuPlacement, type CpuPolicy } from '../cpu-placement.js';
import { startPlatformProcess, type PlatformProcess } from './platform-process.js';
import { descendants, pssBytes, rssBytes } from '../proc.js';
import { BaseAdapter, type Deployment, type HookAnswer, type ProcessSample, type ResourceSnapshot, type SendStamps } from '../types.js';

export interface MicroFunctionsOptions {
  /** Sandbox backend of an embedded platform (default `process`). For a remote one: what its records must say. */
  backend?: BackendName;
  /** Policy preset (default `grouped`; docs/policies.md). */
  preset?: string;
  /** A running platform to drive instead of starting one in-process. */
  url?: string;
  /** Its bearer token (management routes). */
  token?: string;
  /** Embedded only: pre-booted runtimes per sandbox (platform default 2). */
  poolSize?: number;
  /** Embedded only: start workers on first use (default) or at deploy. */
  workerStart?: WorkerStart;
  /**
   * Embedded only: any other platform config (policy switches for an ablation, keepAliveSeconds, ...). The
   * platform checks every value; the resolved policy is in the adapter's description, so it lands in the manifest.
   */
  platformConfig?: UserConfig;
  /**
   * Embedded only: `split` pins the platform's processes and this one (the load generator) to different CPUs where
   * the machine has two or more and taskset; `auto` (default) does so unless the machine is oversubscribed; `shared`
   * leaves both to the scheduler (harness/cpu-placement.ts).
   */
  cpus?: CpuPolicy;
}

/** The options as resolved, without the token. */
export interface MicroFunctionsDescription {
  platform: 'microfunctions';
  mode: 'embedded' | 'remote';
  url: string;
  backend: string;
  preset: string;
  poolSize: number | null;
  workerStart: string | null;
  /** Whether workers hand results straight to the next worker (null: the platform does not say). */
  handover?: boolean | null;
  /** Whether the platform records execution history (embedded: off unless platformConfig turns it on). */
  keepHistory?: boolean;
  /** The policy switches as the platform resolved them (docs/policies.md); a remote platform reports them (GET /config). */
  policy: PolicySwitches | null;
  /** Where the global bus and global storage lived (embedded journals, or JetStream at the broker URL). */
  globalLayer?: { bus: 'journal' | 'jetstream'; storage: 'journal' | 'jetstream-kv'; broker: string | null; replicas?: number } | null;
  /** Embedded only: the platform runs in a process of its own; which CPUs it and the load generator got (null when remote). */
  placement?: { platformProcess: 'separate'; cpus: CpuPlacement } | null;
  [key: string]: unknown;
}

/** Checks the options and fills in defaults; throws MF_CONFIG_INVALID naming the first bad one. */
export function resolveMicroFunctionsOptions(o: MicroFunctionsOptions): Required<Pick<MicroFunctionsOptions, 'backend' | 'preset'>> & MicroFunctionsOptions {
  const fail = (option: string, problem: string): never => {
    throw new MfError('MF_CONFIG_INVALID', `microfunctions adapter: option "${option}" ${problem}`, { option });
  };
  const known = ['backend', 'preset', 'url', 'token', 'poolSize', 'workerStart', 'platformConfig', 'cpus'];
  for (const key of Object.keys(o)) if (!known.includes(key)) fail(key, `is unknown (known: ${known.join(', ')})`);
  const backend = o.backend ?? 'process';
  if (!BACKENDS.includes(backend)) fail('backend', `must be one of ${BACKENDS.join(', ')}, got "${String(backend)}"`);
  const preset = o.preset ?? 'grouped';
  const presets: readonly string[] = PRESET_NAMES;
  if (!presets.includes(preset)) {
    fail('preset', `must be one of ${presets.join(', ')}, got "${preset}"`);
  }
  if (o.url !== undefined) {
    if (o.poolSize !== undefined) fail('poolSize', 'can only be set for an embedded platform (a remote one has its own config)');
    if (o.workerStart !== undefined) fail('workerStart', 'can only be set for an embedded platform (a remote one has its own config)');
    if (o.cpus !== undefined) fail('cpus', 'can only be set for an embedded platform (a remote one runs where it runs)');
  }
  if (o.cpus !== undefined && !CPU_POLICIES.includes(o.cpus)) fail('cpus', `must be one of ${CPU_POLICIES.join(', ')}`);
  if (o.workerStart !== undefined && !WORKER_START.includes(o.workerStart)) fail('workerStart', `must be one of ${WORKER_START.join(', ')}`);
  return { ...o, backend, preset };
}

interface Embedded {
  platform: PlatformProcess;
  dataDir: string;
  placement: CpuPlacement;
}

/** The adapter's description (it lands in the run's manifest) from the policy the platform resolved. */
function describePlatform(mode: 'embedded' | 'remote', url: string, p: PlatformPolicy, placement: MicroFunctionsDescription['placement'] = null): MicroFunctionsDescription {
  return {
    platform: 'microfunctions',
    mode,
    url,
    backend: p.backend,
    preset: p.preset,
    poolSize: p.poolSize,
    workerStart: p.workerStart,
    handover: p.handover ?? null,
    keepHistory: p.keepHistory,
    globalLayer: p.globalLayer,
    policy: {
      sandboxing: p.sandboxing as PolicySwitches['sandboxing'],
      busMode: p.busMode as PolicySwitches['busMode'],
      workerConcurrency: p.workerConcurrency,
      maxWorkersPerFunction: p.maxWorkersPerFunction,
      maxSandboxesPerFunction: p.maxSandboxesPerFunction,
      maxSandboxesPerApp: p.maxSandboxesPerApp,
      keepAliveSeconds: p.keepAliveSeconds,
    },
    recoveryAttempts: p.recoveryAttempts,
    placement,
  };
}

export class MicroFunctionsAdapter extends BaseAdapter {
  readonly platform = 'microfunctions';
  readonly description: Readonly<MicroFunctionsDescription>;
  readonly #client: MicroFunctionsClient;
  readonly #embedded: Embedded | null;
  readonly #manifests = new Map<number, AppManifest>();
  /** Worker pid -> function, learnt from records, so that metrics can name a worker's function. */
  readonly #workerOf = new Map<number, string>();

  private constructor(description: MicroFunctionsDescription, client: MicroFunctionsClient, embedded: Embedded | null) {
    super();
    this.description = Object.freeze(description);
    this.#client = client;
    this.#embedded = embedded;
  }

  /**
   * The SDK on this platform, for what only MicroFunctions has and the adapter interface therefore lacks: sessions,
   * which the `sessions` experiment measures (experiments/sessions.ts).
   */
  get client(): MicroFunctionsClient {
    return this.#client;
  }

  /** Starts an embedded platform (or connects to `url`) and returns the adapter. */
  static async create(options: MicroFunctionsOptions = {}): Promise<MicroFunctionsAdapter> {
    const o = resolveMicroFunctionsOptions(options);
    if (o.url !== undefined) {
      const client = new MicroFunctionsClient({ url: o.url, token: o.token });
      await client.health(); // fail now, naming the URL, rather than in the middle of an experiment
      // The manifest records what the platform resolved, not what this side assumed (issue 14).
      return new MicroFunctionsAdapter(describePlatform('remote', client.url, await client.config()), client, null);
    }
    const dataDir = await mkdtemp(join(tmpdir(), 'mfbench-adapter-'));
    // Execution history is the console's debugging record, not part of the execution path, and the other platforms'
    // adapters record none: off unless asked for. Under grouped sandboxing it would cross the sandbox boundary with
    // every state's input and output (1.5 MB for one anomaly-detection execution), a cost per-function's host
    // engine does not pay, so leaving it on would skew the comparison of the presets (docs/experiments.md).
    const user: Record<string, unknown> = { keepHistory: false, ...o.platformConfig, port: 0, dataDir, backend: o.backend };
    if (o.token !== undefined) user.token = o.token;
    if (o.poolSize !== undefined) user.poolSize = o.poolSize;
    if (o.workerStart !== undefined) user.workerStart = o.workerStart;
    user.preset = o.preset as PresetName;
    const placement = await pinLoader(planPlacement(o.cpus ?? 'auto'));
    let platform: PlatformProcess;
    try {
      platform = await startPlatformProcess(user as UserConfig, placement); // resolveConfig (in the child) checks every value
    } catch (err) {
      await releaseLoader(placement);
      await rm(dataDir, { recursive: true, force: true });
      throw err;
    }
    const embedded: Embedded = { platform, dataDir, placement };
    try {
      const client = new MicroFunctionsClient({ url: platform.url, token: platform.token });
      // The manifest records what the platform resolved (GET /config), as for a remote platform, plus where it ran.
      const description = describePlatform('embedded', client.url, await client.config(), { platformProcess: 'separate', cpus: placement });
      return new MicroFunctionsAdapter(description, client, embedded);
    } catch (err) {
      await closeEmbedded(embedded);
      throw err;
    }
  }

  protected async doDeploy(deployment: Deployment, manifest: AppManifest): Promise<void> {
    await this.#client.deploy(manifest);
    this.#manifests.set(deployment.id, manifest);
  }

  protected async doInvoke(deployment: Deployment, fn: string, input: unknown, stamps: SendStamps): Promise<HookAnswer> {
    stamps.actualSend = now();
    const answer = await this.#client.invokeFunction(deployment.app, fn, input);
    stamps.receive = now();
    return this.#answer(answer);
  }

  protected async doExecute(deployment: Deployment, workflow: string, input: unknown, stamps: SendStamps): Promise<HookAnswer> {
    stamps.actualSend = now();
    const answer = await this.#client.execute(deployment.app, workflow, input);
    stamps.receive = now();
    return this.#answer(answer);
  }

  /** Destroys every sandbox of the app (its agent, workers and pool); the app stays deployed. */
  protected async doEnforceColdStart(deployment: Deployment): Promise<void> {
    await this.#client.reclaim(deployment.app);
  }

  protected async doCollectMetrics(): Promise<ResourceSnapshot> {
    const at = now();
    const apps = await this.#client.listApps();
    const sandboxes = apps.flatMap((a) =>
      a.sandboxes.map((s) => ({ app: a.name, id: s.id, agentPid: s.agentPid ?? null, rootPid: s.pid, ...(s.containerId ? { containerId: s.containerId } : {}) })),
    );
    const processes: ProcessSample[] = [];
    if (this.#seesProcesses()) {
      const sample = (pid: number, role: string, app: string | null): ProcessSample => ({ pid, role, app, rssBytes: rssBytes(pid), pssBytes: pssBytes(pid) });
      if (this.#embedded) processes.push(sample(this.#embedded.platform.pid, 'frontend', null));
      for (const s of sandboxes) {
        const root = s.rootPid ?? s.agentPid;
        if (root === null) continue;
        const inside = [root, ...descendants(root)];
        for (const pid of inside) {
          const fn = this.#workerOf.get(pid);
          const role = pid === s.agentPid ? 'agent' : fn !== undefined ? `worker:${fn}` : pid === root ? 'sandbox' : 'runtime';
          processes.push(sample(pid, role, s.app));
        }
      }
    }
    return { at, sandboxes, processes };
  }

  protected async doRemove(deployment: Deployment): Promise<void> {
    this.#manifests.delete(deployment.id);
    await this.#client.deleteApp(deployment.app);
  }

  protected async doClose(): Promise<void> {
    if (this.#embedded) await closeEmbedded(this.#embedded);
  }

  /** Processes can be read from /proc only when the platform runs on this host. */
  #seesProcesses(): boolean {
    if (this.#embedded) return true;
    const host = new URL(this.description.url).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  }

  #answer(answer: Execution | FunctionInvocation): HookAnswer {
    const records = answer.records ?? [];
    for (const r of records) if (r.workerPid > 0) this.#workerOf.set(r.workerPid, r.function);
    const platform = { executionId: answer.executionId, t: answer.t, records };
    if (answer.status === 'SUCCEEDED') return { platform, status: 'succeeded', output: answer.output };
    return { platform, status: 'failed', error: answer.error ?? 'unknown', cause: answer.cause ?? '' };
  }
}

async function closeEmbedded(e: Embedded): Promise<void> {
  try {
    await e.platform.close();
  } finally {
    await releaseLoader(e.placement);
    await rm(e.dataDir, { recursive: true, force: true });
  }
}
