/**
 * The storage service: the global storage tier over HTTP, for functions that run on another platform (OpenWhisk,
 * OpenFaaS) and so have no MicroFunctions sandbox agent to serve `context.storage`. The adapter that deployed them
 * runs this service and hands each app a URL and a token of its own; the function wrapper on the platform keeps
 * the local tier in its container's memory and sends global operations here (platform/storage/remote.ts).
 *
 * Wire protocol (docs/storage.md, "On other platforms"): `POST /v1/storage` with `Authorization: Bearer <token>`
 * and one StorageOp as the JSON body; the answer is always a StorageReply (`{ok: true, value}` or
 * `{ok: false, error}`) with the error's HTTP status. The token names the app, so apps stay apart as they do on
 * MicroFunctions: a function can reach only its own app's keys.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MfError, toMfError } from '../errors.js';
import { bearerToken, readJsonBody } from '../http-body.js';
import { GlobalStorage } from './global-store.js';
import { STORAGE_PATH, type StorageGrant } from './service-protocol.js';
import { MAX_VALUE_BYTES, parseStorageOp, type StorageReply } from './types.js';

/** The largest value (64 MiB) as base64 inside a JSON operation, with room for the key and the envelope. */
export const MAX_OPERATION_BYTES = Math.ceil((MAX_VALUE_BYTES * 4) / 3) + 64 * 1024;
/** An operation is a small envelope around a base64 value: shallow, and sent at once by a wrapper. */
const OPERATION_LIMITS = { maxBytes: MAX_OPERATION_BYTES, maxDepth: 64, timeoutMs: 30_000 };

export interface StorageServiceOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: any free port). */
  port?: number;
  /** The URL functions use to reach the service (default: http://<host>:<port> as bound). */
  advertisedUrl?: string;
  /** Where the stores live (default: a new temporary folder, deleted by close()). */
  dir?: string;
}

export class StorageService {
  readonly #server = createServer((req, res) => void this.#handle(req, res));
  readonly #storage: GlobalStorage;
  readonly #tokens = new Map<string, string>(); // token -> app
  #url = '';

  private constructor(
    /** Where the stores live. */
    readonly dir: string,
    private readonly ownDir: boolean,
  ) {
    this.#storage = new GlobalStorage(dir);
    this.#server.keepAliveTimeout = 65_000;
  }

  /** Starts the service; MF_CONFIG_INVALID when the address cannot be bound (in use, not an interface here). */
  static async start(options: StorageServiceOptions = {}): Promise<StorageService> {
    const service = new StorageService(options.dir ?? (await mkdtemp(join(tmpdir(), 'mfbench-storage-'))), options.dir === undefined);
    const host = options.host ?? '127.0.0.1';
    try {
      await new Promise<void>((resolve, reject) => {
        service.#server.once('error', reject);
        service.#server.listen(options.port ?? 0, host, () => {
          service.#server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await service.close();
      throw new MfError('MF_CONFIG_INVALID', `the storage service cannot listen on ${host}:${options.port ?? 0}: ${(err as Error).message}. Check MFBENCH_STORAGE_LISTEN`, {
        option: 'storageListen',
      });
    }
    const addr = service.#server.address() as AddressInfo;
    service.#url = (options.advertisedUrl ?? `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`).replace(/\/+$/, '');
    return service;
  }

  /** The URL functions are given. */
  get url(): string {
    return this.#url;
  }

  /** A token for `app` (a new one each call; earlier ones stay valid until revoke). */
  grant(app: string): StorageGrant {
    const token = randomBytes(24).toString('base64url');
    this.#tokens.set(token, app);
    return { url: this.#url, token };
  }

  /** Invalidates every token of `app` and deletes its data: what remove() of a deployment does. */
  async revoke(app: string): Promise<void> {
    for (const [token, a] of this.#tokens) if (a === app) this.#tokens.delete(token);
    await this.#storage.drop(app);
  }

  /** Stops serving, closes the stores, and deletes them when the service made their folder. */
  async close(): Promise<void> {
    this.#tokens.clear();
    if (this.#server.listening) {
      await new Promise<void>((resolve) => {
        this.#server.close(() => resolve());
        this.#server.closeAllConnections();
      });
    }
    await this.#storage.close();
    if (this.ownDir) await rm(this.dir, { recursive: true, force: true });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== STORAGE_PATH) {
      req.resume();
      return fail(res, new MfError('MF_NOT_FOUND', `the storage service serves POST ${STORAGE_PATH} only`));
    }
    const token = bearerToken(req);
    const app = token === null ? undefined : this.#tokens.get(token);
    if (app === undefined) {
      req.resume();
      return fail(res, new MfError('MF_UNAUTHORIZED', 'the storage token is missing, wrong or revoked (the app was removed)'));
    }
    try {
      const op = parseStorageOp(await readJsonBody(req, OPERATION_LIMITS));
      send(res, 200, { ok: true, value: await this.#storage.apply(app, op) });
    } catch (err) {
      fail(res, toMfError(err, 'MF_STORAGE_FAILED'));
    }
  }
}

function fail(res: ServerResponse, err: MfError): void {
  send(res, err.status, { ok: false, error: err.toJSON() });
}

function send(res: ServerResponse, status: number, body: StorageReply): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
