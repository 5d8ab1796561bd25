/**
 * `context.storage` as a function sees it (docs/storage.md). Each call becomes one StorageOp sent to the sandbox
 * agent through `request`; a failure rejects with an Error whose name is the error code.
 */
import { PendingReplies } from '../bus/pending-replies.js';
import { toMfError } from '../errors.js';
import { checkKey, decodeValue, encodeValue, type DeleteTier, type GetTier, type ListTier, type PutMode, type StorageOp, type StorageReply, type StoredValue } from './types.js';

export interface FunctionStorage {
  get(key: string, options?: { tier?: GetTier }): Promise<unknown>;
  put(key: string, value: unknown, options?: { mode?: PutMode }): Promise<void>;
  delete(key: string, options?: { tier?: DeleteTier }): Promise<boolean>;
  list(prefix?: string, options?: { tier?: ListTier }): Promise<string[]>;
  increment(key: string, by?: number): Promise<number>;
}

export type StorageRequest = (op: StorageOp) => Promise<StorageReply>;

/** An Error as a function's code expects it: `name` is the stable error code. */
function functionError(err: unknown): Error {
  const e = toMfError(err);
  return Object.assign(new Error(e.message), { name: e.code });
}

export function storageClient(request: StorageRequest): FunctionStorage {
  const call = async (op: StorageOp): Promise<StorageReply & { ok: true }> => {
    try {
      if ('key' in op) checkKey(op.key);
    } catch (err) {
      throw functionError(err);
    }
    const reply = await request(op);
    if (!reply.ok) throw Object.assign(new Error(reply.error.message), { name: reply.error.code });
    return reply;
  };
  const encode = (value: unknown): StoredValue => {
    try {
      return encodeValue(value);
    } catch (err) {
      throw functionError(err);
    }
  };
  return {
    async get(key, options = {}) {
      const { value } = await call({ op: 'get', key, tier: options.tier ?? 'auto' });
      return value === null || value === undefined ? null : decodeValue(value as StoredValue);
    },
    async put(key, value, options = {}) {
      await call({ op: 'put', key, value: encode(value), mode: options.mode ?? 'global' });
    },
    async delete(key, options = {}) {
      return (await call({ op: 'delete', key, tier: options.tier ?? 'all' })).value === true;
    },
    async list(prefix = '', options = {}) {
      return (await call({ op: 'list', prefix, tier: options.tier ?? 'global' })).value as string[];
    },
    async increment(key, by = 1) {
      return (await call({ op: 'increment', key, by })).value as number;
    },
  };
}

/**
 * `context.storage` in a process that reaches storage through numbered messages to the sandbox agent (a worker,
 * a session worker): `send` posts the request; the caller hands each 'storage-result' to `answer`.
 */
export function storageOverMessages(send: (id: number, op: StorageOp) => void): {
  storage: FunctionStorage;
  answer(id: number, reply: StorageReply): void;
} {
  const replies = new PendingReplies<StorageReply>();
  return {
    storage: storageClient((op) => replies.request((id) => send(id, op))),
    answer: (id, reply) => replies.answer(id, reply),
  };
}
