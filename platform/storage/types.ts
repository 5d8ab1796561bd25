/**
 * Hierarchical storage, shared definitions: the operations a function can ask for, how values travel (JSON text
 * cannot carry bytes, so binary values are base64-tagged), and the checks on keys and values. docs/storage.md is
 * the user-facing contract.
 */
import { MfError, type ErrorBody } from '../errors.js';

export const MAX_KEY_LENGTH = 1024;
export const MAX_VALUE_BYTES = 64 * 1024 * 1024;

export type GetTier = 'auto' | 'local' | 'global';
export type PutMode = 'global' | 'local' | 'local-then-global';
export type DeleteTier = 'all' | 'local' | 'global';
export type ListTier = 'global' | 'local';

/** A value as stored and transported: JSON as is, bytes as base64. */
export type StoredValue = { json: unknown } | { bytes: string };

export type StorageOp =
  | { op: 'get'; key: string; tier: GetTier }
  | { op: 'put'; key: string; value: StoredValue; mode: PutMode }
  | { op: 'delete'; key: string; tier: DeleteTier }
  | { op: 'list'; prefix: string; tier: ListTier }
  | { op: 'increment'; key: string; by: number };

/** What a storage operation yields: the value (get), a flag (delete), keys (list), a number (increment). */
export type StorageResult = StoredValue | null | boolean | string[] | number | undefined;

/**
 * The global tier of every app on a platform: the embedded journals (GlobalStorage) or JetStream KV and Object
 * Store (JetStreamStorage), chosen by the config's `broker`.
 */
export interface GlobalTier {
  apply(app: string, op: StorageOp): Promise<StorageResult>;
  /** Deletes one app's data. */
  drop(app: string): Promise<void>;
  close(): Promise<void>;
}

/** A storage operation's answer as it crosses a process boundary. */
export type StorageReply = { ok: true; value: StorageResult } | { ok: false; error: ErrorBody };

export function encodeValue(value: unknown): StoredValue {
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (value === undefined) throw new MfError('MF_BAD_REQUEST', 'storage values must be JSON values or bytes; got undefined');
  return { json: value };
}

export function decodeValue(stored: StoredValue): unknown {
  return 'bytes' in stored ? Buffer.from(stored.bytes, 'base64') : stored.json;
}

/** Approximate size of a stored value in bytes (base64 decoded for bytes, JSON text for the rest). */
export function storedSize(stored: StoredValue): number {
  if ('bytes' in stored) return Math.floor((stored.bytes.length * 3) / 4);
  return Buffer.byteLength(JSON.stringify(stored.json) ?? '');
}

export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new MfError('MF_BAD_REQUEST', `a storage key must be a non-empty string of at most ${MAX_KEY_LENGTH} characters`, { key: String(key).slice(0, 80) });
  }
}

export function checkValue(stored: StoredValue, key: string): void {
  const size = storedSize(stored);
  if (size > MAX_VALUE_BYTES) {
    throw new MfError('MF_BAD_REQUEST', `the value for "${key}" is ${size} bytes; the limit is ${MAX_VALUE_BYTES}`, { key, size });
  }
}

/** Validates an operation that crossed a process boundary. */
export function checkOp(op: StorageOp): void {
  switch (op.op) {
    case 'get':
    case 'delete':
      checkKey(op.key);
      return;
    case 'put':
      checkKey(op.key);
      checkValue(op.value, op.key);
      return;
    case 'list':
      if (typeof op.prefix !== 'string') throw new MfError('MF_BAD_REQUEST', 'a storage list prefix must be a string');
      return;
    case 'increment':
      checkKey(op.key);
      if (!Number.isFinite(op.by)) throw new MfError('MF_BAD_REQUEST', 'increment needs a finite number', { key: op.key });
      return;
  }
}

const GET_TIERS: readonly GetTier[] = ['auto', 'local', 'global'];
const PUT_MODES: readonly PutMode[] = ['global', 'local', 'local-then-global'];
const DELETE_TIERS: readonly DeleteTier[] = ['all', 'local', 'global'];
const LIST_TIERS: readonly ListTier[] = ['global', 'local'];

/**
 * An operation received from the network (the storage service): checks its shape as well as its key and value,
 * since nothing typed it on the way. Throws MF_BAD_REQUEST naming what is wrong.
 */
export function parseStorageOp(body: unknown): StorageOp {
  const bad = (why: string): never => {
    throw new MfError('MF_BAD_REQUEST', `not a storage operation: ${why}`);
  };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) bad('expected a JSON object');
  const o = body as Record<string, unknown>;
  const oneOf = <T extends string>(field: string, allowed: readonly T[]): T => {
    const v = o[field];
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) bad(`"${field}" must be one of ${allowed.join(', ')}`);
    return v as T;
  };
  let op: StorageOp;
  switch (o.op) {
    case 'get':
      op = { op: 'get', key: o.key as string, tier: oneOf('tier', GET_TIERS) };
      break;
    case 'put': {
      const v = o.value as Record<string, unknown> | null;
      const value = typeof v === 'object' && v !== null && ('json' in v || typeof v.bytes === 'string') ? (v as StoredValue) : bad('"value" must be {json} or {bytes: base64}');
      op = { op: 'put', key: o.key as string, value, mode: oneOf('mode', PUT_MODES) };
      break;
    }
    case 'delete':
      op = { op: 'delete', key: o.key as string, tier: oneOf('tier', DELETE_TIERS) };
      break;
    case 'list':
      op = { op: 'list', prefix: o.prefix as string, tier: oneOf('tier', LIST_TIERS) };
      break;
    case 'increment':
      op = { op: 'increment', key: o.key as string, by: o.by as number };
      break;
    default:
      return bad(`"op" must be get, put, delete, list or increment`);
  }
  checkOp(op);
  return op;
}
