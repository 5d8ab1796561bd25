/**
 * Platform configuration flows one way: UserConfig (partial, from the CLI, a file or code) -> resolveConfig() ->
 * a frozen ResolvedConfig. Defaults live in DEFAULTS only; cross-option checks live in checkConfig only.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MfError } from './errors.js';
import { SANDBOX_BACKENDS, type BackendName } from './sandbox/backends.js';

export type { BackendName };
export const BACKENDS = Object.keys(SANDBOX_BACKENDS) as BackendName[];

export const WORKER_START = ['first-use', 'deploy'] as const;
export type WorkerStart = (typeof WORKER_START)[number];

export const SANDBOXING = ['grouped', 'per-function'] as const;
export type Sandboxing = (typeof SANDBOXING)[number];

export const BUS_MODES = ['hierarchical', 'global'] as const;

/** Where executions run: in this process's sandboxes, or on host agents reached through the broker (docs/distributed.md). */
export const HOSTS = ['local', 'remote'] as const;
export type Hosts = (typeof HOSTS)[number];
export type BusMode = (typeof BUS_MODES)[number];

/** The policy switches a preset sets (docs/policies.md). Each can also be set on its own, for ablations. */
export interface PolicySwitches {
  /** One sandbox per app (SAND) or one sandbox per function instance (container-per-function). */
  readonly sandboxing: Sandboxing;
  /** hierarchical: hops stay on the sandbox's local bus, checkpoints go to the global bus asynchronously; global: every hop goes through the global bus. */
  readonly busMode: BusMode;
  /** Invocations one worker process runs at once. */
  readonly workerConcurrency: number;
  /** Worker processes one function may have in one sandbox. */
  readonly maxWorkersPerFunction: number;
  /** Sandboxes one function may have at once under per-function sandboxing (scale-out bound). */
  readonly maxSandboxesPerFunction: number;
  /**
   * Sandboxes one app may have at once under grouped sandboxing: another is made when every sandbox of the app runs
   * as many requests as its workers can take (workerConcurrency x maxWorkersPerFunction).
   */
  readonly maxSandboxesPerApp: number;
  /** Idle sandboxes and idle workers are reclaimed after this many seconds. */
  readonly keepAliveSeconds: number;
}

export const PRESETS = {
  /** SAND's design: grouped sandboxing, a local bus inside the sandbox, many executions per worker. */
  grouped: {
    sandboxing: 'grouped',
    busMode: 'hierarchical',
    workerConcurrency: 16,
    maxWorkersPerFunction: 4,
    maxSandboxesPerFunction: 1,
    maxSandboxesPerApp: 4,
    keepAliveSeconds: 600,
  },
  /** The container-per-function baseline: one execution at a time per sandbox, every hop through the global bus, OpenWhisk-like keep-alive. */
  'per-function': {
    sandboxing: 'per-function',
    busMode: 'global',
    workerConcurrency: 1,
    maxWorkersPerFunction: 1,
    maxSandboxesPerFunction: 32,
    maxSandboxesPerApp: 1,
    keepAliveSeconds: 600,
  },
} as const satisfies Record<string, PolicySwitches>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

export interface ResolvedConfig extends PolicySwitches {
  /** The preset whose switches fill in every switch the user did not set. */
  readonly preset: PresetName;
  /** Times an execution is resumed (or an invocation re-run) after its sandbox or worker died; 0 disables recovery. */
  readonly recoveryAttempts: number;
  /** Interface the HTTP API listens on. Loopback by default: the platform runs code it is given. */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Where the token, deployed code and sandbox folders live. */
  readonly dataDir: string;
  /** Bearer token for the management API; null generates one at first start (kept in dataDir/token). */
  readonly token: string | null;
  /** Require the token on invocation routes as well. Unset, it is on whenever `host` is not a loopback address. */
  readonly invocationAuth: boolean;
  /** Largest request body accepted, in bytes. */
  readonly maxBodyBytes: number;
  /** Deepest nesting of arrays and objects a JSON request body may have (docs/limits.md). */
  readonly maxJsonDepth: number;
  /** A request body that has not fully arrived after this many seconds is refused (408) and its connection closed. */
  readonly requestTimeoutSeconds: number;
  /** Largest result (a function's return value, an execution's output) as JSON, in bytes; Lambda's 6 MB by default. */
  readonly maxResultBytes: number;
  /** Accept `code: {dir}` manifests (code read from this host's disk). */
  readonly allowLocalCode: boolean;
  /** Sandbox backend that creates the app sandboxes. */
  readonly backend: BackendName;
  /** Pre-booted runtime processes each sandbox keeps ready (the Node counterpart of SAND's fork); 0 disables. */
  readonly poolSize: number;
  /** Start every function's worker when the app is deployed, or when the function is first invoked. */
  readonly workerStart: WorkerStart;
  /**
   * A worker hands a pass-through result straight to the next Task's worker (one wake-up per hop); off: every hop goes
   * through the sandbox agent, as before hand-over existed (for ablations; docs/architecture.md).
   */
  readonly handover: boolean;
  /** Default function memory limit (MB) and timeout (s) when the manifest gives none. */
  readonly defaultMemoryMB: number;
  readonly defaultTimeoutSeconds: number;
  /** Executions kept for GET /executions/{id}, newest first; older ones are forgotten. */
  readonly maxStoredExecutions: number;
  /** Bytes of finished executions' inputs and outputs kept in memory; older ones are spilled to the data directory. */
  readonly maxStoredExecutionBytes: number;
  /** State transitions one execution may make (AWS stops a standard workflow at 25,000 history events). */
  readonly maxTransitions: number;
  /** Longest an execution may run, in seconds, whatever its definition says. */
  readonly maxExecutionSeconds: number;
  /** Log lines kept per app. */
  readonly maxLogLinesPerApp: number;
  /**
   * The NATS JetStream broker that holds the global bus and global storage (`nats://host:port`, comma-separated for a
   * cluster); null keeps both in embedded journals in dataDir (docs/distributed.md).
   */
  readonly broker: string | null;
  /**
   * Copies JetStream keeps of each stream, KV bucket and object store the platform creates on the broker: 1 on a
   * single server; 3 on a cluster of three or more, so that losing one node keeps a quorum (docs/distributed.md).
   */
  readonly brokerReplicas: number;
  /**
   * local: this process owns the sandboxes and runs every execution; remote: it is a frontend that owns none and
   * places each execution on a host agent (`mfbench host start`) through the broker (docs/distributed.md).
   */
  readonly hosts: Hosts;
  /** Keep each execution's state transitions (GET /executions/{id}/history); off saves work on the hot path. */
  readonly keepHistory: boolean;
}

export type UserConfig = { -readonly [K in keyof ResolvedConfig]?: ResolvedConfig[K] };

export const DEFAULTS: ResolvedConfig = Object.freeze({
  preset: 'grouped',
  ...PRESETS.grouped,
  recoveryAttempts: 2,
  host: '127.0.0.1',
  port: 0,
  dataDir: join(tmpdir(), 'mfbench'),
  token: null,
  invocationAuth: false,
  maxBodyBytes: 6 * 1024 * 1024,
  maxJsonDepth: 128,
  requestTimeoutSeconds: 30,
  maxResultBytes: 6 * 1024 * 1024,
  allowLocalCode: true,
  backend: 'process',
  poolSize: 2,
  workerStart: 'first-use',
  handover: true,
  defaultMemoryMB: 256,
  defaultTimeoutSeconds: 30,
  maxStoredExecutions: 10_000,
  maxStoredExecutionBytes: 64 * 1024 * 1024,
  maxTransitions: 25_000,
  maxExecutionSeconds: 3600,
  maxLogLinesPerApp: 10_000,
  keepHistory: true,
  broker: null,
  brokerReplicas: 1,
  hosts: 'local',
});

/** Merges user values over the preset's switches over the defaults, drops undefined, checks, and freezes. */
export function resolveConfig(user: UserConfig = {}): ResolvedConfig {
  const preset = user.preset ?? DEFAULTS.preset;
  if (!PRESET_NAMES.includes(preset)) {
    throw new MfError('MF_CONFIG_INVALID', `config option "preset" must be one of ${PRESET_NAMES.join(', ')}`, { option: 'preset' });
  }
  const merged: Record<string, unknown> = { ...DEFAULTS, ...PRESETS[preset], preset };
  for (const [key, value] of Object.entries(user)) {
    if (!(key in DEFAULTS)) throw new MfError('MF_CONFIG_INVALID', `unknown config option "${key}"`, { option: key });
    if (value !== undefined) merged[key] = value;
  }
  // Invocation is open on loopback (a researcher's own machine) and token-protected wherever else it listens.
  if (user.invocationAuth === undefined) merged.invocationAuth = !isLoopbackHost(String(merged.host));
  const config = merged as unknown as ResolvedConfig;
  checkConfig(config);
  return Object.freeze(config);
}

/** Every check on option values and between options, in one pure function. Throws MF_CONFIG_INVALID. */
export function checkConfig(c: ResolvedConfig): void {
  const fail = (option: string, problem: string): never => {
    throw new MfError('MF_CONFIG_INVALID', `config option "${option}" ${problem}`, { option });
  };
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535) fail('port', 'must be an integer from 0 to 65535');
  if (typeof c.host !== 'string' || c.host === '') fail('host', 'must be a non-empty string');
  if (typeof c.dataDir !== 'string' || c.dataDir === '') fail('dataDir', 'must be a non-empty path');
  if (c.token !== null && (typeof c.token !== 'string' || c.token.length < 8)) fail('token', 'must be at least 8 characters');
  if (!BACKENDS.includes(c.backend)) fail('backend', `must be one of ${BACKENDS.join(', ')}`);
  if (!WORKER_START.includes(c.workerStart)) fail('workerStart', `must be one of ${WORKER_START.join(', ')}`);
  if (!Number.isInteger(c.poolSize) || c.poolSize < 0 || c.poolSize > 64) fail('poolSize', 'must be an integer from 0 to 64');
  if (!Number.isInteger(c.maxBodyBytes) || c.maxBodyBytes < 1024) fail('maxBodyBytes', 'must be an integer of at least 1024');
  if (!Number.isInteger(c.defaultMemoryMB) || c.defaultMemoryMB < 64) fail("defaultMemoryMB", "must be an integer of at least 64");
  if (!(c.defaultTimeoutSeconds > 0)) fail('defaultTimeoutSeconds', 'must be a positive number');
  if (!Number.isInteger(c.maxJsonDepth) || c.maxJsonDepth < 1 || c.maxJsonDepth > 10_000) fail('maxJsonDepth', 'must be an integer from 1 to 10000');
  if (!(c.requestTimeoutSeconds > 0)) fail('requestTimeoutSeconds', 'must be a positive number of seconds');
  if (!Number.isInteger(c.maxResultBytes) || c.maxResultBytes < 1024) fail('maxResultBytes', 'must be an integer of at least 1024');
  if (!Number.isInteger(c.maxStoredExecutionBytes) || c.maxStoredExecutionBytes < 0) fail('maxStoredExecutionBytes', 'must be a non-negative integer');
  if (!Number.isInteger(c.maxTransitions) || c.maxTransitions < 1) fail('maxTransitions', 'must be a positive integer');
  if (!(c.maxExecutionSeconds > 0)) fail('maxExecutionSeconds', 'must be a positive number of seconds');
  if (!Number.isInteger(c.maxStoredExecutions) || c.maxStoredExecutions < 1) fail('maxStoredExecutions', 'must be a positive integer');
  if (!Number.isInteger(c.maxLogLinesPerApp) || c.maxLogLinesPerApp < 1) fail('maxLogLinesPerApp', 'must be a positive integer');
  if (!SANDBOXING.includes(c.sandboxing)) fail('sandboxing', `must be one of ${SANDBOXING.join(', ')}`);
  if (!BUS_MODES.includes(c.busMode)) fail('busMode', `must be one of ${BUS_MODES.join(', ')}`);
  if (!Number.isInteger(c.workerConcurrency) || c.workerConcurrency < 1) fail('workerConcurrency', 'must be a positive integer');
  if (!Number.isInteger(c.maxWorkersPerFunction) || c.maxWorkersPerFunction < 1) fail('maxWorkersPerFunction', 'must be a positive integer');
  if (!Number.isInteger(c.maxSandboxesPerFunction) || c.maxSandboxesPerFunction < 1) fail('maxSandboxesPerFunction', 'must be a positive integer');
  if (!Number.isInteger(c.maxSandboxesPerApp) || c.maxSandboxesPerApp < 1) fail('maxSandboxesPerApp', 'must be a positive integer');
  if (c.broker !== null && (typeof c.broker !== 'string' || !c.broker.split(',').every((u) => BROKER_URL.test(u.trim())))) fail('broker', 'must be nats://host:port (comma-separated for a cluster)');
  if (!Number.isInteger(c.brokerReplicas) || c.brokerReplicas < 1 || c.brokerReplicas > 5) fail('brokerReplicas', 'must be an integer from 1 to 5 (JetStream keeps at most 5 copies)');
  if (c.brokerReplicas > 1 && c.broker === null) fail('brokerReplicas', 'needs a broker: the embedded journals keep one copy');
  if (!HOSTS.includes(c.hosts)) fail('hosts', `must be one of ${HOSTS.join(', ')}`);
  if (c.hosts === 'remote' && c.broker === null) fail('hosts', 'remote needs a broker: frontends and host agents meet on it');
  if (!(c.keepAliveSeconds > 0)) fail('keepAliveSeconds', 'must be a positive number of seconds');
  if (!Number.isInteger(c.recoveryAttempts) || c.recoveryAttempts < 0 || c.recoveryAttempts > 10) fail('recoveryAttempts', 'must be an integer from 0 to 10');
}

const BROKER_URL = /^nats:\/\/[^\s/,]+$/;

/** Whether a listen address only takes connections from this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
