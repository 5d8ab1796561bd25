/**
 * `context.storage` for a function running on another platform (OpenWhisk, OpenFaaS): the same hierarchical API as
 * on MicroFunctions (docs/storage.md). The local tier is this container's memory, as a MicroFunctions sandbox's is
 * the agent's; on those platforms a container runs one function, so, as in the per-function preset, the local tier
 * is not shared with the app's other functions. The global tier is the storage service of the adapter that
 * deployed the app (service.ts), reached over HTTP with the app's token.
 *
 * This module is carried inside the function packages the adapters build, so it imports only storage modules.
 */
import { MfError } from '../errors.js';
import { storageClient, type FunctionStorage } from './client.js';
import { SandboxStorage, type GlobalTier } from './local-tier.js';
import type { StorageReply } from './types.js';
import { STORAGE_PATH, type StorageGrant } from './service-protocol.js';

/** The global tier over HTTP. A transport failure is an MF_STORAGE_FAILED reply that says where it tried. */
export function remoteGlobalTier(grant: StorageGrant): GlobalTier {
  const endpoint = `${grant.url.replace(/\/+$/, '')}${STORAGE_PATH}`;
  return async (op) => {
    let res: Response;
    try {
      res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${grant.token}` },
        body: JSON.stringify(op),
      });
    } catch (err) {
      const cause = err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` : String(err);
      return unreachable(`cannot reach the storage service at ${grant.url} (${cause}); the functions must be able to reach it: see MFBENCH_STORAGE_URL in docs/platforms.md`);
    }
    const text = await res.text();
    try {
      return JSON.parse(text) as StorageReply;
    } catch {
      return unreachable(`the storage service at ${grant.url} answered HTTP ${res.status} with something other than a storage reply: ${text.slice(0, 200)}`);
    }
  };
}

function unreachable(message: string): StorageReply {
  return { ok: false, error: new MfError('MF_STORAGE_FAILED', message).toJSON() };
}

/** A function's `context.storage` on another platform: a container-local tier over the remote global tier. */
export function remoteStorage(grant: StorageGrant): FunctionStorage {
  const sandbox = new SandboxStorage(remoteGlobalTier(grant));
  return storageClient((op) => sandbox.handle(op));
}
