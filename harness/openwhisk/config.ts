/** The OpenWhisk adapter's options: defaults, the `__OW_*` environment variables, and the checks, in one pure function. */
import type { BackendName, WorkerStart } from '../../platform/config.js';
import { MfError } from '../../platform/errors.js';
import { resolveStorageHost, STORAGE_OPTION_KEYS, type ResolvedStorageHost, type StorageHostOptions } from '../storage-host.js';

export interface OpenWhiskOptions extends StorageHostOptions {
  /** The controller's API host, e.g. `https://openwhisk.example.org` or `172.17.0.1:3233` (https assumed without a scheme). */
  apihost?: string;
  /** The namespace's key, `uuid:key` (wsk's AUTH). */
  auth?: string;
  /** Namespace (default `_`: the key's default namespace). */
  namespace?: string;
  /** Accept a self-signed certificate (a local deployment). */
  ignoreCerts?: boolean;
  /** Runtime kind of every function action (default `nodejs:20`). Must be a Node.js kind: the wrapper is JavaScript. */
  kind?: string;
  /** Polling of an activation after a blocking call turned into 202: first interval and give-up time. */
  pollIntervalMs?: number;
  pollTimeoutMs?: number;
  /** How long OpenWhisk keeps an idle container (its `containerProxy.timeouts.idleContainer`; default 10 min): collectMetrics counts containers seen within it. */
  keepAliveMs?: number;
  /**
   * Where blackbox action images (actions too large for a zip: blackbox.ts) are pushed, `host[:port][/path]`, for
   * invokers that pull from it (OPENWHISK_REGISTRY). Unset: the image stays in this host's Docker engine, which only an
   * OpenWhisk running its invokers on that engine can use.
   */
  registry?: string;
  /** Registry login (OPENWHISK_REGISTRY_USER / OPENWHISK_REGISTRY_PASSWORD); unset: a registry that needs none. */
  registryUser?: string;
  registryPassword?: string;
  /**
   * The harness's common options (typed as the harness types them): `url` is the API host, `token` the key; backend,
   * preset, poolSize and workerStart have no meaning on OpenWhisk and are refused unless they are the harness defaults.
   */
  url?: string;
  token?: string;
  backend?: BackendName;
  preset?: string;
  poolSize?: number;
  workerStart?: WorkerStart;
}

export interface ResolvedOpenWhiskOptions {
  /** With a scheme, without a trailing slash. */
  apihost: string;
  auth: string;
  namespace: string;
  ignoreCerts: boolean;
  kind: string;
  pollIntervalMs: number;
  pollTimeoutMs: number;
  keepAliveMs: number;
  registry: string | null;
  registryAuth: { username: string; password: string; serveraddress: string } | null;
  /** The storage service functions use for context.storage (../storage-host.ts). */
  storage: ResolvedStorageHost;
}

export const OPENWHISK_DEFAULTS = {
  namespace: '_',
  kind: 'nodejs:20',
  pollIntervalMs: 100,
  pollTimeoutMs: 10 * 60_000,
  keepAliveMs: 10 * 60_000,
} as const;

const KNOWN = ['apihost', 'auth', 'namespace', 'ignoreCerts', 'kind', 'pollIntervalMs', 'pollTimeoutMs', 'keepAliveMs', 'registry', 'registryUser', 'registryPassword', 'url', 'token', 'backend', 'preset', 'poolSize', 'workerStart', ...STORAGE_OPTION_KEYS];

/**
 * Options, then `__OW_API_HOST` / `__OW_API_KEY` / `__OW_NAMESPACE` / `__OW_IGNORE_CERTS` (and MFBENCH_STORAGE_*) from
 * `env`, then defaults.
 * Throws MF_CONFIG_INVALID naming the option and what to do.
 */
export function resolveOpenWhiskOptions(o: OpenWhiskOptions, env: Record<string, string | undefined> = process.env): ResolvedOpenWhiskOptions {
  const fail = (option: string, problem: string): never => {
    throw new MfError('MF_CONFIG_INVALID', `openwhisk adapter: ${problem}`, { option, platform: 'openwhisk' });
  };
  for (const key of Object.keys(o)) if (!KNOWN.includes(key)) fail(key, `option "${key}" is unknown (known: ${KNOWN.join(', ')})`);
  // The harness passes its default variant (backend "process", preset "grouped"); OpenWhisk has neither notion.
  if (o.backend !== undefined && o.backend !== 'process') fail('backend', `OpenWhisk has no sandbox backends to choose (got --backend ${o.backend}); its invoker decides`);
  if (o.preset !== undefined && o.preset !== 'grouped') fail('preset', `OpenWhisk has no policy presets (got --preset ${o.preset})`);
  if (o.poolSize !== undefined) fail('poolSize', 'pool size is an embedded-MicroFunctions option; OpenWhisk prewarms containers by its own runtimes manifest');
  if (o.workerStart !== undefined) fail('workerStart', 'workerStart is an embedded-MicroFunctions option');
  if (o.apihost !== undefined && o.url !== undefined && o.apihost !== o.url) fail('url', `both apihost (${o.apihost}) and url (${o.url}) are set and differ; give one`);
  if (o.auth !== undefined && o.token !== undefined && o.auth !== o.token) fail('token', 'both auth and token are set and differ; give one');

  const host = o.apihost ?? o.url ?? env.__OW_API_HOST;
  if (host === undefined || host.trim() === '') fail('apihost', 'no API host: pass --url <apihost> (or the apihost option), or set __OW_API_HOST');
  let apihost = (host as string).trim().replace(/\/+$/, '');
  if (!/^https?:\/\//i.test(apihost)) apihost = `https://${apihost}`;
  try {
    const u = new URL(apihost);
    if (u.pathname !== '/' && u.pathname !== '') fail('apihost', `the API host must be a host (and port), without a path: got ${host} (the adapter adds /api/v1)`);
  } catch (err) {
    if (err instanceof MfError) throw err;
    fail('apihost', `"${host}" is not a host or URL`);
  }

  const auth = o.auth ?? o.token ?? env.__OW_API_KEY;
  if (auth === undefined || auth === '') fail('auth', 'no credentials: pass --token <uuid:key> (or the auth option), or set __OW_API_KEY (wsk property get --auth)');
  if (!/^[^:\s]+:\S+$/.test(auth as string)) fail('auth', 'the key must be "uuid:key" (the AUTH value of ~/.wskprops), with a colon between the two parts');

  const namespace = o.namespace ?? (env.__OW_NAMESPACE !== undefined && env.__OW_NAMESPACE !== '' ? env.__OW_NAMESPACE : OPENWHISK_DEFAULTS.namespace);
  if (!/^(_|[\w][\w@ .-]*)$/.test(namespace)) fail('namespace', `"${namespace}" is not an OpenWhisk namespace name`);
  const ignoreCerts = o.ignoreCerts ?? (env.__OW_IGNORE_CERTS ?? '').toLowerCase() === 'true';

  const kind = o.kind ?? OPENWHISK_DEFAULTS.kind;
  if (!/^nodejs:(\d+|default)$/.test(kind)) {
    fail('kind', `runtime kind "${kind}" is not supported by this adapter: its action wrapper is JavaScript, so the kind must be a Node.js one such as nodejs:20`);
  }
  const registry = (o.registry ?? env.OPENWHISK_REGISTRY ?? '').trim().replace(/\/+$/, '') || null;
  if (registry !== null && !/^[A-Za-z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?$/.test(registry)) fail('registry', `the registry must be host[:port][/path], got "${registry}"`);
  const registryUser = o.registryUser ?? env.OPENWHISK_REGISTRY_USER;
  const registryAuth = registry !== null && registryUser !== undefined ? { username: registryUser, password: o.registryPassword ?? env.OPENWHISK_REGISTRY_PASSWORD ?? '', serveraddress: registry.split('/')[0] ?? registry } : null;
  const positive = (key: 'pollIntervalMs' | 'pollTimeoutMs' | 'keepAliveMs'): number => {
    const v = o[key] ?? OPENWHISK_DEFAULTS[key];
    if (!Number.isFinite(v) || v <= 0) fail(key, `${key} must be a positive number of milliseconds`);
    return v;
  };
  return {
    apihost,
    auth: auth as string,
    namespace,
    ignoreCerts,
    kind,
    pollIntervalMs: positive('pollIntervalMs'),
    pollTimeoutMs: positive('pollTimeoutMs'),
    keepAliveMs: positive('keepAliveMs'),
    registry,
    registryAuth,
    storage: resolveStorageHost(o, env),
  };
}
