/**
 * The platform adapters by name. The CLI's `--platform` choices come from this registry's keys
 * (`AdapterName = keyof typeof ADAPTERS`), so a new platform is one folder under harness/ and one entry
 * here (docs/adapters.md). An entry loads its adapter's module only when an adapter is created: listing the
 * platforms (every CLI start does, for its help) must not load every platform's code.
 */
import { BACKENDS, PRESET_NAMES } from '../platform/config.js';
import { MfError } from '../platform/errors.js';
import type { PlatformAdapter } from './types.js';

/**
 * The options every adapter understands in the harness, so that an experiment can ask for a variant without
 * knowing the platform: which backend and preset (only for platforms that offer them), and where the platform is.
 */
export interface CommonAdapterOptions {
  backend?: string;
  preset?: string;
  url?: string;
  token?: string;
  poolSize?: number;
  workerStart?: 'first-use' | 'deploy';
  /** Config of a platform the adapter starts itself (policy switches, keep-alive); refused by the others. */
  platformConfig?: Record<string, unknown>;
  /** CPUs of a platform the adapter starts itself and of the load generator (harness/cpu-placement.ts). */
  cpus?: 'auto' | 'split' | 'shared';
}

/** What the harness knows about a platform: which backends and presets it offers, and how to make its adapter. */
export interface AdapterEntry {
  describe: string;
  /** Sandbox backends (`--backend` choices); empty when the platform has no such notion. */
  backends: readonly string[];
  /** Policy presets (`--preset` choices); empty when the platform has none. */
  presets: readonly string[];
  /** The adapter can start the platform itself, so `platformConfig` overrides mean something. */
  embedded: boolean;
  /** Loads the adapter's module and creates an adapter; each adapter checks its own options. */
  create(options: CommonAdapterOptions): Promise<PlatformAdapter>;
}

export const ADAPTERS = {
  microfunctions: {
    describe: 'MicroFunctions, embedded (a process of its own, on port 0; the default) or at --url',
    backends: BACKENDS,
    presets: PRESET_NAMES,
    embedded: true,
    create: async (options) => (await import('./microfunctions/index.js')).MicroFunctionsAdapter.create(options as never),
  },
  openwhisk: {
    describe: 'Apache OpenWhisk at --url (or __OW_API_HOST) with --token uuid:key (or __OW_API_KEY); docs/platforms.md',
    backends: [],
    presets: [],
    embedded: false,
    create: async (options) => (await import('./openwhisk/index.js')).OpenWhiskAdapter.create(options as never),
  },
  openfaas: {
    describe: 'OpenFaaS gateway at --url (or OPENFAAS_URL) with --token user:password (or OPENFAAS_USER/OPENFAAS_PASSWORD); docs/platforms.md',
    backends: [],
    presets: [],
    embedded: false,
    create: async (options) => (await import('./openfaas/index.js')).OpenFaasAdapter.create(options as never),
  },
} as const satisfies Record<string, AdapterEntry>;

export type AdapterName = keyof typeof ADAPTERS;

export const ADAPTER_NAMES = Object.keys(ADAPTERS) as AdapterName[];

/** The label of a variant dimension a platform does not have (OpenWhisk has no presets). */
export const NOT_APPLICABLE = '-';

export function isAdapterName(name: string): name is AdapterName {
  return Object.hasOwn(ADAPTERS, name);
}

/** Creates the adapter for a registered platform name, passing backend and preset only where the platform has them. */
export async function createAdapter(name: string, options: CommonAdapterOptions): Promise<PlatformAdapter> {
  if (!isAdapterName(name)) {
    throw new MfError('MF_CONFIG_INVALID', `no platform adapter named "${name}" (known: ${ADAPTER_NAMES.join(', ')})`, { option: 'platform', platform: name });
  }
  const entry: AdapterEntry = ADAPTERS[name];
  const { backend, preset, platformConfig, ...rest } = options;
  if (platformConfig !== undefined && Object.keys(platformConfig).length > 0 && !entry.embedded) {
    throw new MfError('MF_CONFIG_INVALID', `platform "${name}" runs elsewhere: its config cannot be set from here (${Object.keys(platformConfig).join(', ')})`, { option: 'platformConfig', platform: name });
  }
  return entry.create({
    ...rest,
    ...(entry.backends.length > 0 && backend !== undefined ? { backend } : {}),
    ...(entry.presets.length > 0 && preset !== undefined ? { preset } : {}),
    ...(platformConfig !== undefined && entry.embedded ? { platformConfig } : {}),
  });
}
