/**
 * `mfbench platform start`: the platform in the foreground. The first stdout line is exactly the JSON
 * {"url": "...", "token": "..."} (scripts and the ASL conformance kit read it); human lines go to stderr.
 * SIGINT / SIGTERM close the platform cleanly and exit 0.
 */
import type { Argv, Options } from 'yargs';
import { BACKENDS, BUS_MODES, DEFAULTS, HOSTS, PRESET_NAMES, SANDBOXING, WORKER_START, resolveConfig, type UserConfig } from '../../platform/config.js';
import { strongestBackend } from '../../platform/sandbox/backends.js';
import type { GlobalOptions } from '../lib/args.js';
import { defineCommand } from '../lib/command.js';
import { EXIT, outJson, reportError, say } from '../lib/output.js';

/** One yargs option per config key. */
interface ConfigOption {
  /** The command-line flag (kebab-case). */
  flag: string;
  describe: string;
  type: 'string' | 'number' | 'boolean';
  choices?: readonly string[];
}

/**
 * Every UserConfig key mapped to its flag: `satisfies Record<keyof UserConfig, …>` makes a new config key a type
 * error here until it has a flag (docs/conventions.md#4). Defaults are not repeated: resolveConfig owns them, the help text
 * only shows them.
 */
export const CONFIG_OPTIONS = {
  host: { flag: 'host', type: 'string', describe: 'interface the HTTP API listens on' },
  port: { flag: 'port', type: 'number', describe: 'TCP port (0 picks a free one)' },
  dataDir: { flag: 'data-dir', type: 'string', describe: 'folder for the token, deployed code and sandboxes' },
  token: { flag: 'token', type: 'string', describe: 'bearer token for the management API (generated and kept in <data-dir>/token if absent)' },
  invocationAuth: { flag: 'invocation-auth', type: 'boolean', describe: 'require the token on invocation routes too (default: on unless --host is loopback)' },
  maxBodyBytes: { flag: 'max-body-bytes', type: 'number', describe: 'largest request body accepted, in bytes' },
  maxJsonDepth: { flag: 'max-json-depth', type: 'number', describe: 'deepest nesting of arrays and objects in a request body' },
  requestTimeoutSeconds: { flag: 'request-timeout-seconds', type: 'number', describe: 'a request body must arrive within this (408 otherwise)' },
  maxResultBytes: { flag: 'max-result-bytes', type: 'number', describe: "largest function result or execution output, as JSON (Lambda's 6 MB)" },
  maxStoredExecutionBytes: { flag: 'max-stored-execution-bytes', type: 'number', describe: 'finished executions kept in memory; older ones spill to the data dir' },
  maxTransitions: { flag: 'max-transitions', type: 'number', describe: 'state transitions one execution may make (AWS: 25,000 history events)' },
  maxExecutionSeconds: { flag: 'max-execution-seconds', type: 'number', describe: 'longest an execution may run' },
  allowLocalCode: { flag: 'allow-local-code', type: 'boolean', describe: 'accept manifests whose code is a {dir} on this host (--no-allow-local-code refuses)' },
  backend: { flag: 'backend', type: 'string', choices: BACKENDS, describe: 'sandbox backend (platform start: bwrap where it works, else process with a warning)' },
  poolSize: { flag: 'pool-size', type: 'number', describe: 'pre-booted runtime processes per sandbox (0 disables the pool)' },
  workerStart: { flag: 'worker-start', type: 'string', choices: WORKER_START, describe: "start a function's worker at deploy or on first use" },
  handover: { flag: 'handover', type: 'boolean', describe: 'a worker hands a pass-through result straight to the next worker (--no-handover: every hop through the agent, for ablations)' },
  defaultMemoryMB: { flag: 'default-memory-mb', type: 'number', describe: 'memory limit (MB) of functions whose manifest gives none' },
  defaultTimeoutSeconds: { flag: 'default-timeout-seconds', type: 'number', describe: 'timeout (s) of functions whose manifest gives none' },
  maxStoredExecutions: { flag: 'max-stored-executions', type: 'number', describe: 'executions kept in memory for GET /executions/{id}' },
  maxLogLinesPerApp: { flag: 'max-log-lines-per-app', type: 'number', describe: 'log lines kept per app' },
  keepHistory: { flag: 'keep-history', type: 'boolean', describe: "keep each execution's state transitions (--no-keep-history saves work on the hot path)" },
  preset: { flag: 'preset', type: 'string', choices: PRESET_NAMES, describe: 'policy preset: grouped (SAND) or per-function (the container-per-function baseline); docs/policies.md' },
  sandboxing: { flag: 'sandboxing', type: 'string', choices: SANDBOXING, describe: 'one sandbox per app, or per function instance (overrides the preset)' },
  busMode: { flag: 'bus-mode', type: 'string', choices: BUS_MODES, describe: 'hops on the local bus (hierarchical) or all through the global bus (overrides the preset)' },
  workerConcurrency: { flag: 'worker-concurrency', type: 'number', describe: 'invocations one worker runs at once (overrides the preset)' },
  maxWorkersPerFunction: { flag: 'max-workers-per-function', type: 'number', describe: 'workers one function may have in one sandbox (overrides the preset)' },
  maxSandboxesPerFunction: { flag: 'max-sandboxes-per-function', type: 'number', describe: 'sandboxes one function may have under per-function sandboxing (overrides the preset)' },
  maxSandboxesPerApp: { flag: 'max-sandboxes-per-app', type: 'number', describe: 'sandboxes one app may have under grouped sandboxing (overrides the preset)' },
  keepAliveSeconds: { flag: 'keep-alive-seconds', type: 'number', describe: 'idle sandboxes and workers are reclaimed after this (overrides the preset)' },
  broker: { flag: 'broker', type: 'string', describe: 'global bus and global storage on this NATS JetStream broker, nats://host:port (default: embedded journals in the data dir)' },
  brokerReplicas: { flag: 'broker-replicas', type: 'number', describe: 'copies of each stream and bucket on the broker (3 on a 3-node JetStream cluster survives losing a node)' },
  hosts: { flag: 'hosts', type: 'string', choices: HOSTS, describe: 'run executions here (local) or, as a frontend with no sandboxes, on host agents of the broker (remote; mfbench host start)' },
  recoveryAttempts: { flag: 'recovery-attempts', type: 'number', describe: 'resumes of an execution whose sandbox or worker died (0 disables recovery)' },
} as const satisfies Record<keyof UserConfig, ConfigOption>;

type ConfigKey = keyof typeof CONFIG_OPTIONS;

/** `platform start` listens on 8080 unless told otherwise, so the other commands' default --url reaches it. */
export const CLI_DEFAULT_PORT = 8080;

/**
 * What `platform start` sets over resolveConfig's defaults: port 8080, and no `code.dir` manifests, since a served
 * platform would otherwise run any file of this host for any token holder (--allow-local-code turns them back on).
 */
export const SERVED_DEFAULTS: UserConfig = { port: CLI_DEFAULT_PORT, allowLocalCode: false };

/** Adds the config options to a yargs instance (help shows resolveConfig's defaults, or the command's own). */
export function withConfigOptions<T>(y: Argv<T>, commandDefaults: UserConfig = { port: CLI_DEFAULT_PORT }): Argv<T> {
  let out = y;
  for (const key of Object.keys(CONFIG_OPTIONS) as ConfigKey[]) {
    const spec: ConfigOption = CONFIG_OPTIONS[key];
    const def = commandDefaults[key] ?? DEFAULTS[key];
    const opt: Options = { type: spec.type, describe: spec.describe, defaultDescription: def === null ? 'generated' : String(def), group: 'Platform options:' };
    if (spec.choices) opt.choices = [...spec.choices];
    out = out.option(spec.flag, opt);
  }
  return out;
}

/** The UserConfig the parsed flags give: only what was set, over the command's own defaults (port 8080 here). */
/**
 * The config of a served process (a platform or a host agent): it runs code it is given, so unless told otherwise it
 * isolates it as well as this machine allows, and says so when that is less than the strongest backend.
 */
export function servedUserConfig(argv: Record<string, unknown>): UserConfig {
  const user = userConfigFromArgv(argv, SERVED_DEFAULTS);
  if (user.backend === undefined) {
    const chosen = strongestBackend();
    user.backend = chosen.backend;
    if (chosen.warning !== null) say(chosen.warning);
  }
  return user;
}

export function userConfigFromArgv(argv: Record<string, unknown>, commandDefaults: UserConfig = { port: CLI_DEFAULT_PORT }): UserConfig {
  const user: Record<string, unknown> = { ...commandDefaults };
  for (const key of Object.keys(CONFIG_OPTIONS) as ConfigKey[]) {
    const value = argv[CONFIG_OPTIONS[key].flag];
    if (value !== undefined) user[key] = value;
  }
  return user as UserConfig;
}

const start = defineCommand({
  command: 'start',
  describe: 'start the MicroFunctions platform in the foreground (first stdout line: {"url","token"})',
  builder: (y: Argv<GlobalOptions>) => withConfigOptions(y, SERVED_DEFAULTS),
  handler: async (argv) => {
    const user = servedUserConfig(argv as unknown as Record<string, unknown>);
    const config = resolveConfig(user); // checks the options before anything starts (MF_CONFIG_INVALID -> exit 2)

    // Listen for signals before starting, and keep listening throughout: a signal during start-up closes the platform
    // as soon as it is up, and there is never a moment without a listener (when Node would apply the default action).
    let signalled: NodeJS.Signals | null = null;
    let wake: (() => void) | null = null;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled !== null) {
        say(`second signal (${signal}): exiting without a clean close`);
        process.exit(EXIT.failed);
      }
      signalled = signal;
      wake?.();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    // Loaded here, not at the top: the client commands should not pay for (or depend on) loading the platform.
    const { startPlatform } = await import('../../platform/frontend/index.js');
    const platform = await startPlatform(user);
    outJson({ url: platform.url, token: platform.token });
    say(`MicroFunctions platform listening on ${platform.url}`);
    say(`  console: open ${platform.url}/console/ in a browser and sign in with the token (docs/console.md)`);
    say(`  data dir ${platform.dataDir}; backend ${config.backend}; pool ${config.poolSize}; workers start on ${config.workerStart}; invocation auth ${config.invocationAuth ? 'on' : 'off'}`);
    const { apps, finished, resumed } = platform.recovered;
    if (apps + finished + resumed > 0) say(`  recovered from the data dir: ${apps} apps, ${finished} finished executions, ${resumed} resumed`);
    say(`  use it: export MFBENCH_URL=${platform.url} MFBENCH_TOKEN=<token from the first stdout line>`);
    say('  stop with Ctrl-C (SIGINT) or SIGTERM');
    // A remote frontend counted gone on the broker has had its executions taken over: it stops rather than run them too.
    let lost: string | null = null;
    void platform.lost.then((why) => {
      lost = why;
      wake?.();
    });

    if (signalled === null && lost === null) await new Promise<void>((resolve) => (wake = resolve));
    say(lost !== null ? `its registration on the broker was lost (${lost}): stopping the frontend` : `${signalled}: stopping the platform`);
    try {
      await platform.close();
    } catch (err) {
      process.exit(reportError(err));
    }
    say('platform stopped');
    // Exit now: nothing is left to do, and a stray handle (a child's pipe, a keep-alive socket) must not keep us up.
    process.exit(lost !== null ? EXIT.failed : EXIT.ok);
  },
});

export const platformCommand = {
  command: 'platform <action>',
  describe: 'run the MicroFunctions platform (platform start)',
  builder: (y: Argv<GlobalOptions>) => y.command(start).demandCommand(1, 'name an action: start'),
  handler: () => undefined,
};
