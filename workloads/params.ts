/** Helpers shared by workload modules: parameter parsing and structural comparison. */
import { MfError } from '../platform/errors.js';
import type { Validation, WorkloadParams } from './types.js';

/** Rejects parameters the workload does not know, naming them. */
export function checkKnownParams(workload: string, params: WorkloadParams, known: readonly string[]): void {
  const unknown = Object.keys(params).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new MfError('MF_BAD_REQUEST', `workload "${workload}" has no parameter ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${known.join(', ') || 'none'})`, {
      workload,
      unknown,
    });
  }
}

/** An integer parameter within [min, max]; strings are parsed, the default is used when absent. */
export function intParam(workload: string, params: WorkloadParams, key: string, def: number, min: number, max: number): number {
  const raw = params[key];
  if (raw === undefined) return def;
  const value = typeof raw === 'number' ? raw : raw.trim() === '' ? Number.NaN : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new MfError('MF_BAD_REQUEST', `workload "${workload}": parameter "${key}" must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`, {
      workload,
      param: key,
      value: raw,
    });
  }
  return value;
}

/** Looks up a named size, or throws naming the known ones. */
export function sizeOf<T>(workload: string, sizes: Record<string, T>, size: string): T {
  const s = Object.hasOwn(sizes, size) ? sizes[size] : undefined;
  if (s === undefined) {
    throw new MfError('MF_BAD_REQUEST', `workload "${workload}" has no size "${size}" (known: ${Object.keys(sizes).join(', ')})`, { workload, size });
  }
  return s;
}

/** Deep equality of JSON values; returns the first path where they differ. */
export function jsonDiff(expected: unknown, actual: unknown, path = '$'): Validation {
  if (expected === actual) return { ok: true };
  if (typeof expected !== typeof actual || expected === null || actual === null || typeof expected !== 'object') {
    return { ok: false, reason: `${path}: expected ${short(expected)}, got ${short(actual)}` };
  }
  if (Array.isArray(expected) !== Array.isArray(actual)) return { ok: false, reason: `${path}: expected ${short(expected)}, got ${short(actual)}` };
  const e = expected as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  const keys = new Set([...Object.keys(e), ...Object.keys(a)]);
  for (const k of keys) {
    if (!Object.hasOwn(a, k)) return { ok: false, reason: `${path}.${k}: missing` };
    if (!Object.hasOwn(e, k)) return { ok: false, reason: `${path}.${k}: unexpected` };
    const r = jsonDiff(e[k], a[k], `${path}.${k}`);
    if (!r.ok) return r;
  }
  return { ok: true };
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
