/**
 * Checks what callers send about sessions (a start request, a message's target) once, at the edge, and fills in
 * the policy's defaults: everything below trusts a SessionSpec.
 */
import { MfError } from '../errors.js';
import { NAME_PATTERN } from '../manifest.js';
import type { SessionPolicy, SessionSpec, SessionTarget } from './types.js';

/** The defaults of a session's policy (docs/sessions.md#limits). */
export const DEFAULT_SESSION_POLICY: SessionPolicy = {
  onFailure: 'fail',
  maxRestarts: 3,
  heartbeatSeconds: null,
  maxLifetimeSeconds: 3600,
  idleTimeoutSeconds: 600,
  maxMessageBytes: 256 * 1024,
  maxBacklog: 10_000,
};

/** Upper bounds a caller cannot raise. */
const MAX_INSTANCES = 64;
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const MAX_LIFETIME_SECONDS = 7 * 24 * 3600;
const MAX_BACKLOG = 100_000;

function bad(message: string, details: Record<string, unknown> = {}): MfError {
  return new MfError('MF_BAD_REQUEST', message, details);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks a start request against the app's function names; the answer has every default filled in. */
export function checkSessionStart(body: unknown, functions: readonly string[]): SessionSpec {
  if (!isObject(body)) throw bad('a session start takes a JSON object {"functions": [...], "policy": {...}}');
  const list = body.functions;
  if (!Array.isArray(list) || list.length === 0) throw bad('"functions" must be a non-empty array of {"function", "alias"?, "input"?, "count"?}');
  const out: SessionSpec['functions'] = [];
  const aliases = new Set<string>();
  for (const [i, item] of list.entries()) {
    if (!isObject(item) || typeof item.function !== 'string') throw bad(`functions[${i}] must be an object with a "function" name`, { index: i });
    if (!functions.includes(item.function)) {
      throw new MfError('MF_FUNCTION_NOT_FOUND', `the app has no function "${item.function}"`, { function: item.function, functions: [...functions] });
    }
    const count = item.count ?? 1;
    if (!Number.isInteger(count) || (count as number) < 1) throw bad(`functions[${i}].count must be a positive integer`, { index: i });
    let alias: string | null = null;
    if (item.alias !== undefined) {
      if (typeof item.alias !== 'string' || !NAME_PATTERN.test(item.alias)) throw bad(`functions[${i}].alias must be letters, digits, "-" or "_" (at most 64)`, { index: i });
      if (count !== 1) throw bad(`functions[${i}] has an alias, so its count must be 1`, { index: i });
      if (aliases.has(item.alias)) throw bad(`the alias "${item.alias}" is used twice`, { alias: item.alias });
      aliases.add(item.alias);
      alias = item.alias;
    }
    for (let n = 0; n < (count as number); n++) out.push({ function: item.function, alias, input: item.input ?? {} });
  }
  if (out.length > MAX_INSTANCES) throw bad(`a session runs at most ${MAX_INSTANCES} instances, not ${out.length}`);
  return { functions: out, policy: checkPolicy(body.policy) };
}

function checkPolicy(given: unknown): SessionPolicy {
  if (given === undefined) return { ...DEFAULT_SESSION_POLICY };
  if (!isObject(given)) throw bad('"policy" must be an object');
  const known = Object.keys(DEFAULT_SESSION_POLICY);
  for (const key of Object.keys(given)) if (!known.includes(key)) throw bad(`unknown policy field "${key}"`, { field: key, known });
  const policy = { ...DEFAULT_SESSION_POLICY, ...given } as SessionPolicy;
  if (policy.onFailure !== 'restart' && policy.onFailure !== 'fail') throw bad('policy.onFailure must be "restart" or "fail"');
  const positive = (name: keyof SessionPolicy, max: number, integer = false) => {
    const v = policy[name];
    if (typeof v !== 'number' || !(v > 0) || v > max || (integer && !Number.isInteger(v))) throw bad(`policy.${name} must be a number above 0 and at most ${max}`, { field: name });
  };
  if (!Number.isInteger(policy.maxRestarts) || policy.maxRestarts < 0 || policy.maxRestarts > 100) throw bad('policy.maxRestarts must be an integer from 0 to 100');
  if (policy.heartbeatSeconds !== null) positive('heartbeatSeconds', MAX_LIFETIME_SECONDS);
  positive('maxLifetimeSeconds', MAX_LIFETIME_SECONDS);
  positive('idleTimeoutSeconds', MAX_LIFETIME_SECONDS);
  positive('maxMessageBytes', MAX_MESSAGE_BYTES, true);
  positive('maxBacklog', MAX_BACKLOG, true);
  return policy;
}

/** A message's target as an HTTP body or a function names it; absent means the whole session. */
export function checkTarget(target: unknown): SessionTarget {
  if (target === undefined || target === null) return { all: true };
  if (typeof target === 'string' && target.length > 0 && target.length <= 80) return target;
  if (isObject(target)) {
    if (target.all === true) return { all: true };
    if (typeof target.instance === 'string') return { instance: target.instance };
    if (typeof target.function === 'string') return { function: target.function };
  }
  throw bad('a message target is an instance id or alias (a string), {"function": name}, {"instance": id} or {"all": true}');
}
