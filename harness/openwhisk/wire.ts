/**
 * The envelope our generated actions use inside OpenWhisk payloads. OpenWhisk passes dictionaries between actions
 * (a sequence feeds each result to the next action as its parameters) and requires a dictionary as a result, while a
 * Lambda-style handler takes and returns any JSON value. So the event travels under one key, and the wrapper adds
 * what it measured about itself under another:
 *
 *   parameters: { __mf_event: <event>, __mf_exec?: { executionId, state } }   (anything else: the event is the dict)
 *   result:     { __mf_event: <output>, __mf_meta: { container, pid, importMs, handlerMs, ... } }
 *   failure:    { error: { errorType, errorMessage, trace } }                  (OpenWhisk: "application error")
 *
 * A payload too large for OpenWhisk's activation limit (whisk.activation.payload.max, 1 MB by default, for an
 * invocation's parameters and for a result alike) travels through the app's storage instead: the sender puts it
 * under a key and sends `{ __mf_ref: <key> }` in place of `__mf_event`; the receiver gets it back. The adapter, the
 * function wrapper and the conductor all do this, so every activation's payload stays small whatever the data.
 *
 * This module is shared by the adapter (Node, this process) and the conductor action (inside OpenWhisk), so it
 * imports nothing.
 */

export const EVENT_KEY = '__mf_event';
export const META_KEY = '__mf_meta';
export const EXEC_KEY = '__mf_exec';
/** Where the conductor keeps its journal between its activations (conductor `state`). */
export const STATE_KEY = '__mf_conductor';
/** In place of EVENT_KEY: the storage key the payload was put under. */
export const REF_KEY = '__mf_ref';
/**
 * A payload whose JSON is longer than this goes through storage: a quarter of OpenWhisk's default 1 MB activation
 * limit, which leaves room for the envelope and the conductor's state.
 */
export const INLINE_MAX_BYTES = 256 * 1024;
/**
 * `Symbol.for` of this names a result's own JSON text, set by the function wrapper when it has serialised the output
 * anyway (its size check) and sent as is by our action proxy (action-proxy.ts spells the same name: it imports
 * nothing). Invisible to JSON.stringify, so any other proxy serialises the result as before.
 */
export const SERIALISED_KEY = 'mfbench.openwhisk.serialised';
/** Storage keys of spilled payloads (in the deployment's key space, deleted with it). */
export const SPILL_PREFIX = '__mf/payload/';

/** The storage key a payload was sent by, or null when it travels inline. */
export function refOf(v: unknown): string | null {
  return isDict(v) && typeof v[REF_KEY] === 'string' ? v[REF_KEY] : null;
}

/** What the wrapper reports about the invocation it ran (timings are differences within the container's process). */
export interface WrapperMeta {
  /** Random id made when the action's module was loaded: one per container (OpenWhisk runs one process per container). */
  container: string;
  /** The process id inside the container (only comparable within one container). */
  pid: number;
  /** Epoch ms when the wrapper module was loaded (the container's /init). */
  loadedAt: number;
  /** Time to import the handler module on this invocation (> 0 only on the container's first invocation). */
  importMs: number;
  /** Time inside the handler. */
  handlerMs: number;
  /** Invocations this container had run before this one. */
  previous: number;
}

type Dict = Record<string, unknown>;

function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The Lambda event carried by an action's parameters: the envelope's value, or else the dictionary itself. */
export function eventOf(params: unknown): unknown {
  if (!isDict(params)) return params;
  if (Object.hasOwn(params, EVENT_KEY)) return params[EVENT_KEY];
  const out: Dict = {};
  for (const [k, v] of Object.entries(params)) if (!k.startsWith('__ow_') && !k.startsWith('__mf_')) out[k] = v;
  return out;
}

/** The handler output carried by an action's result (the envelope's value, or the whole dictionary). */
export function outputOf(result: unknown): unknown {
  if (isDict(result) && Object.hasOwn(result, EVENT_KEY)) return result[EVENT_KEY];
  return result;
}

/** The wrapper's self-report in a result, when it is there and well formed. */
export function metaOf(result: unknown): WrapperMeta | null {
  if (!isDict(result)) return null;
  const m = result[META_KEY];
  if (!isDict(m) || typeof m.container !== 'string' || typeof m.handlerMs !== 'number') return null;
  return {
    container: m.container,
    pid: typeof m.pid === 'number' ? m.pid : 0,
    loadedAt: typeof m.loadedAt === 'number' ? m.loadedAt : 0,
    importMs: typeof m.importMs === 'number' ? m.importMs : 0,
    handlerMs: m.handlerMs,
    previous: typeof m.previous === 'number' ? m.previous : 0,
  };
}

/**
 * The ASL Error and Cause of a failed activation's result: a wrapped Lambda error keeps its errorType and the Lambda
 * cause text; the conductor's own failure carries them as is; OpenWhisk's own messages (time limit, container
 * errors) become `States.Timeout` or `OpenWhisk.<status>`.
 */
export function failureOf(result: unknown, status = 'application error'): { error: string; cause: string } {
  const e = isDict(result) ? result.error : result;
  if (isDict(e)) {
    if (typeof e.aslError === 'string' || e.aslError === null) return { error: (e.aslError as string | null) ?? 'States.Runtime', cause: typeof e.aslCause === 'string' ? e.aslCause : '' };
    if (typeof e.errorType === 'string') {
      return { error: e.errorType, cause: JSON.stringify({ errorType: e.errorType, errorMessage: e.errorMessage ?? '', trace: Array.isArray(e.trace) ? e.trace : [] }) };
    }
    return { error: `OpenWhisk.${pascal(status)}`, cause: JSON.stringify(e) };
  }
  const text = typeof e === 'string' ? e : JSON.stringify(e ?? null);
  if (/exceeded its time limits?/i.test(text)) return { error: 'States.Timeout', cause: text };
  return { error: `OpenWhisk.${pascal(status)}`, cause: text };
}

function pascal(s: string): string {
  return s.replace(/(^|\s+)(\w)/g, (_m, _sp, c: string) => c.toUpperCase());
}
