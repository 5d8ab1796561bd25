/**
 * `context.storage` for the apps an adapter deploys to another platform: the adapter runs a storage service
 * (platform/storage/service.ts) on the harness's host, started at the first deploy, and gives each app a URL and a
 * token, which the function wrapper on the platform uses (platform/storage/remote.ts). docs/platforms.md, "Storage".
 *
 * Where it listens and the URL functions use are settings, because only the researcher knows how the platform's
 * containers reach this host: `storageListen` (MFBENCH_STORAGE_LISTEN, `host:port`, default 127.0.0.1:0) and
 * `storageUrl` (MFBENCH_STORAGE_URL, default the address bound).
 */
import { MfError } from '../platform/errors.js';
import { StorageService } from '../platform/storage/service.js';
import type { StorageGrant } from '../platform/storage/service-protocol.js';

export interface StorageHostOptions {
  /** Where the storage service listens: `host:port`, `host` or `:port` (default 127.0.0.1:0, any free port). */
  storageListen?: string;
  /** The storage service's URL as the platform's functions reach it (default: http://<listen address>). */
  storageUrl?: string;
}

export interface ResolvedStorageHost {
  host: string;
  port: number;
  url: string | null;
}

export const STORAGE_OPTION_KEYS = ['storageListen', 'storageUrl'] as const;

/** Options first, then MFBENCH_STORAGE_LISTEN / MFBENCH_STORAGE_URL; MF_CONFIG_INVALID naming the bad one. */
export function resolveStorageHost(o: StorageHostOptions, env: Record<string, string | undefined> = process.env): ResolvedStorageHost {
  const fail = (option: string, problem: string): never => {
    throw new MfError('MF_CONFIG_INVALID', `storage service: ${problem}`, { option });
  };
  const listen = (o.storageListen ?? env.MFBENCH_STORAGE_LISTEN ?? '').trim();
  let host = '127.0.0.1';
  let port = 0;
  if (listen !== '') {
    const m = /^(?:\[([^\]]+)\]|([^:[\]]*))(?::(\d+))?$/.exec(listen);
    if (m === null) fail('storageListen', `MFBENCH_STORAGE_LISTEN / storageListen must be host:port, host or :port; got "${listen}"`);
    const [, v6, name, p] = m as RegExpExecArray;
    host = v6 ?? (name !== undefined && name !== '' ? name : host);
    port = p === undefined ? 0 : Number(p);
    if (!Number.isInteger(port) || port > 65535) fail('storageListen', `the port of "${listen}" must be 0-65535`);
  }
  const rawUrl = (o.storageUrl ?? env.MFBENCH_STORAGE_URL ?? '').trim();
  let url: string | null = null;
  if (rawUrl !== '') {
    try {
      const u = new URL(rawUrl);
      // https: the service itself speaks HTTP, but a researcher may put a TLS proxy in front of it.
      if (u.protocol !== 'http:' && u.protocol !== 'https:') fail('storageUrl', `MFBENCH_STORAGE_URL / storageUrl must be an http:// URL; got "${rawUrl}"`);
    } catch (err) {
      if (err instanceof MfError) throw err;
      fail('storageUrl', `MFBENCH_STORAGE_URL / storageUrl is not a URL: "${rawUrl}"`);
    }
    url = rawUrl.replace(/\/+$/, '');
  }
  // Bound to every interface, the service has no one address to give the functions: the researcher must name it.
  if (url === null && (host === '0.0.0.0' || host === '::')) {
    fail('storageUrl', `MFBENCH_STORAGE_LISTEN is ${listen}, which functions cannot connect to: set MFBENCH_STORAGE_URL to this host's address as they see it`);
  }
  return { host, port, url };
}

/** Describes the settings for a run's manifest (never a token). */
export function describeStorageHost(r: ResolvedStorageHost): string {
  return `storage service on ${r.host}:${r.port === 0 ? 'any port' : r.port}, functions reach it at ${r.url ?? 'the address bound'}`;
}

/** The storage key space of one deployment: its own even when an app of the same name is deployed twice. */
export function storageKey(deployment: { id: number; app: string }): string {
  return `${deployment.app}.${deployment.id}`;
}

/** The adapter's storage service: started on first use, one token per deployed app, deleted data on revoke. */
export class StorageHost {
  #service: Promise<StorageService> | null = null;

  constructor(private readonly settings: ResolvedStorageHost) {}

  async grant(app: string): Promise<StorageGrant> {
    this.#service ??= StorageService.start({ host: this.settings.host, port: this.settings.port, ...(this.settings.url !== null ? { advertisedUrl: this.settings.url } : {}) });
    let service: StorageService;
    try {
      service = await this.#service;
    } catch (err) {
      this.#service = null; // a bind failure is reported, and the next deploy tries again
      throw err;
    }
    return service.grant(app);
  }

  /** Removes an app's tokens and data; nothing to do when the service never started. */
  async revoke(app: string): Promise<void> {
    if (this.#service === null) return;
    await (await this.#service).revoke(app);
  }

  async close(): Promise<void> {
    const s = this.#service;
    this.#service = null;
    if (s !== null) await (await s.catch(() => null))?.close();
  }
}
