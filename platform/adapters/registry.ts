/**
 * The platform adapters by name. The CLI's `--platform` choices come from this registry's keys
 * (`AdapterName = keyof typeof ADAPTERS`), so a new platform is one folder under platform/adapters/ and one entry
 * here (docs/adapters.md).
 */
import { MfError } from '../errors.js';
import { BACKENDS } from '../config.js';
import { MicroFunctionsAdapter, microfunctionsPresets, type MicroFunctionsOptions } from './microfunctions/index.js';
import type { PlatformAdapter } from './types.js';

/** What the harness knows about a platform: how to create its adapter and which backends and presets it offers. */
export interface AdapterEntry<Options> {
  describe: string;
  /** Sandbox backends (`--backend` choices); `[]` when the platform has no such notion. */
  backends(): readonly string[];
  /** Policy presets (`--preset` choices); `[]` when the platform has none. */
  presets(): readonly string[];
  create(options: Options): Promise<PlatformAdapter>;
}

export const ADAPTERS = {
  microfunctions: {
    describe: 'MicroFunctions, embedded in this process on port 0 (default) or at --url',
    backends: () => BACKENDS,
    presets: microfunctionsPresets,
    create: (options: MicroFunctionsOptions) => MicroFunctionsAdapter.create(options),
  } satisfies AdapterEntry<MicroFunctionsOptions>,
} as const;

export type AdapterName = keyof typeof ADAPTERS;
export type AdapterOptions<N extends AdapterName> = Parameters<(typeof ADAPTERS)[N]['create']>[0];

export const ADAPTER_NAMES = Object.keys(ADAPTERS) as AdapterName[];

export function isAdapterName(name: string): name is AdapterName {
  return Object.hasOwn(ADAPTERS, name);
}

/**
 * The options every adapter understands in the harness, so that an experiment can ask for a variant without
 * knowing the platform: which backend and preset, and where the platform is.
 */
export interface CommonAdapterOptions {
  backend?: string;
  preset?: string;
  url?: string;
  token?: string;
  poolSize?: number;
  workerStart?: 'first-use' | 'deploy';
}

/** Creates the adapter for a registered platform name. */
export async function createAdapter(name: string, options: CommonAdapterOptions): Promise<PlatformAdapter> {
  if (!isAdapterName(name)) {
    throw new MfError('MF_CONFIG_INVALID', `no platform adapter named "${name}" (known: ${ADAPTER_NAMES.join(', ')})`, { option: 'platform', platform: name });
  }
  const entry = ADAPTERS[name];
  return entry.create(options as AdapterOptions<typeof name>);
}
