/**
 * JSONata in ASL: field values in which every string of the form `{% expression %}` is a JSONata expression
 * (Arguments, Output, Assign, Items, ItemSelector, Condition, Fail Error/Cause, Wait Seconds/Timestamp,
 * Timeout/HeartbeatSeconds). The language is the `jsonata` package's; this module compiles each expression once,
 * when the definition is loaded, and adds what Step Functions adds: the `$states` variable, workflow variables as
 * bindings, AWS's functions ($partition, $range, $hash, $random, $uuid, $parse), and States.QueryEvaluationError.
 *
 * The package is required on first use, so an engine that never meets a JSONata state never loads it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Expression, JsonataOptions } from 'jsonata';
import { AslSyntaxError, StatesError, statePrefix } from './errors.js';
import type { ContextThunk } from './payload.js';

export const QUERY_EVALUATION_ERROR = 'States.QueryEvaluationError';

/** What `$states` holds besides `context`: the state's input, and its result or error output where there is one. */
export interface StatesValues {
  readonly input: unknown;
  readonly result?: unknown;
  readonly errorOutput?: unknown;
}

/** A compiled field value; evaluation rejects with a StatesError (States.QueryEvaluationError). */
export interface JsonataValue {
  (values: StatesValues, context: ContextThunk, state: string): Promise<unknown>;
  /** The workflow variables the expressions read (for the deploy-time check of unassigned variables). */
  readonly variables: ReadonlySet<string>;
}

type Jsonata = (text: string, options?: JsonataOptions) => Expression;
let lib: Jsonata | undefined;
function jsonata(): Jsonata {
  lib ??= createRequire(import.meta.url)('jsonata') as Jsonata;
  return lib;
}

/**
 * Guardrails for hostile expressions: JSONata's own recursion-depth and run-time limits. Evaluation runs on the
 * event loop (its awaits are microtasks), so the run-time limit also bounds how long one expression can hold it.
 */
export const JSONATA_LIMITS = { stack: 1000, timeoutMs: 2000 } as const;
const GUARDRAILS: JsonataOptions = { stack: JSONATA_LIMITS.stack, timeout: JSONATA_LIMITS.timeoutMs };

const EXPRESSION = /^\{%([\s\S]*)%\}$/;

export function isJsonataExpression(v: unknown): v is string {
  return typeof v === 'string' && EXPRESSION.test(v);
}

interface Compiled {
  readonly text: string;
  readonly field: string;
  readonly expr: Expression;
}

type Node = (env: Env) => Promise<unknown>;
interface Env {
  readonly bindings: Record<string, unknown>;
  readonly input: unknown;
  readonly state: string;
}

/**
 * Compiles a field's value. Throws AslSyntaxError naming the field when an expression does not parse. `field` is
 * the field's name as causes show it (`Output`, `Arguments.Payload`...).
 */
export function compileJsonata(value: unknown, field: string): JsonataValue {
  const variables = new Set<string>();
  const node = build(value, field, variables, true);
  const fn = async (values: StatesValues, context: ContextThunk, state: string): Promise<unknown> => {
    if (!node) return value;
    return node({ bindings: bindingsFor(values, context), input: values.input, state });
  };
  return Object.assign(fn, { variables });
}

function bindingsFor(values: StatesValues, context: ContextThunk): Record<string, unknown> {
  const b: Record<string, unknown> = { ...context.vars?.bindings() };
  const states: Record<string, unknown> = { input: values.input };
  if ('result' in values) states.result = values.result;
  if ('errorOutput' in values) states.errorOutput = values.errorOutput;
  Object.defineProperty(states, 'context', { get: context, enumerable: true });
  b.states = states;
  return b;
}

/** A node per dynamic part; null for a constant part (returned as is, shared, never mutated). */
function build(value: unknown, field: string, variables: Set<string>, top: boolean): Node | null {
  if (typeof value === 'string') {
    const m = EXPRESSION.exec(value);
    if (!m) return null;
    const c = parse(m[1]!, field);
    for (const v of freeVariables(c.expr.ast())) variables.add(v);
    return async (env) => {
      const v = await evaluate(c, env);
      if (v === undefined && top) throw queryError(env.state, `The JSONata expression '${c.text}' specified for the field '${c.field}' returned nothing (undefined).`);
      return v;
    };
  }
  if (Array.isArray(value)) {
    const items = value.map((v, i) => build(v, `${field}[${i}]`, variables, false));
    if (items.every((x) => x === null)) return null;
    return async (env) => {
      const out: unknown[] = [];
      for (let i = 0; i < value.length; i++) {
        const v = items[i] ? await items[i]!(env) : value[i];
        if (v !== undefined) out.push(v);
      }
      return out;
    };
  }
  if (typeof value !== 'object' || value === null) return null;
  const entries = Object.entries(value).map(([k, v]) => [k, build(v, `${field}.${k}`, variables, false), v] as const);
  if (entries.every(([, n]) => n === null)) return null;
  return async (env) => {
    const out: Record<string, unknown> = {};
    // A field whose expression returns nothing is left out, as JSONata leaves out undefined object values.
    for (const [k, n, constant] of entries) {
      const v = n ? await n(env) : constant;
      if (v !== undefined) out[k] = v;
    }
    return out;
  };
}

function parse(source: string, field: string): Compiled {
  const text = source.trim();
  if (text === '') throw new AslSyntaxError(`field '${field}': the JSONata expression is empty`);
  let expr: Expression;
  try {
    expr = jsonata()(text, GUARDRAILS);
  } catch (e) {
    const err = e as { code?: string; message?: string; position?: number };
    const code = err.code ? `${err.code}: ` : '';
    const at = err.position !== undefined ? ` (at position ${err.position})` : '';
    throw new AslSyntaxError(`field '${field}': the JSONata expression '${text}' does not parse: ${code}${err.message ?? String(e)}${at}`);
  }
  registerAwsFunctions(expr);
  return { text, field, expr };
}

async function evaluate(c: Compiled, env: Env): Promise<unknown> {
  let v: unknown;
  try {
    v = await c.expr.evaluate(env.input, env.bindings);
  } catch (e) {
    if (e instanceof StatesError) throw e;
    const err = e as { code?: string; message?: string };
    throw queryError(env.state, `The JSONata expression '${c.text}' specified for the field '${c.field}' threw an error during evaluation: ${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}`);
  }
  return toJson(v, c, env.state);
}

/** JSONata can return what JSON cannot hold (functions, infinities); those fail the state as on AWS. */
function toJson(v: unknown, c: Compiled, state: string): unknown {
  if (typeof v === 'function' || (typeof v === 'number' && !Number.isFinite(v)))
    throw queryError(state, `The JSONata expression '${c.text}' specified for the field '${c.field}' returned a value that is not JSON: ${String(v)}`);
  return plain(v);
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * JSONata's result arrays are "sequences" that carry flags as extra properties; copies them into plain arrays.
 * Copy-on-write: parts without sequences (e.g. taken from the input) are returned as they are.
 */
function plain(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    let copy: unknown[] | null = hasOwn.call(v, 'sequence') ? [] : null;
    for (let i = 0; i < v.length; i++) {
      const p = plain(v[i]);
      if (copy === null && p !== v[i]) copy = v.slice(0, i);
      if (copy !== null) copy.push(p);
    }
    return copy ?? v;
  }
  let copy: Record<string, unknown> | null = null;
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    const p = plain(x);
    if (p !== x) copy ??= { ...(v as Record<string, unknown>) };
    if (copy !== null) copy[k] = p;
  }
  return copy ?? v;
}

export function queryError(state: string, msg: string): StatesError {
  return new StatesError(QUERY_EVALUATION_ERROR, statePrefix(state) + msg);
}

// ------------------------------------------------------------------------------------------------ AWS's functions

function fail(message: string): never {
  throw { code: 'States.QueryEvaluationError', message };
}

const HASHES: Record<string, string> = { MD5: 'md5', 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
const MAX_RANGE = 1000;

function registerAwsFunctions(expr: Expression): void {
  expr.registerFunction(
    'partition',
    (array: unknown[], size: number) => {
      if (!Number.isInteger(size) || size <= 0) fail(`$partition: the chunk size must be a positive integer, got ${size}`);
      const out: unknown[][] = [];
      for (let i = 0; i < array.length; i += size) out.push(array.slice(i, i + size));
      return out;
    },
    '<an:a>',
  );
  expr.registerFunction(
    'range',
    (start: number, end: number, step: number) => {
      if (![start, end, step].every(Number.isInteger)) fail('$range: start, end and step must be integers');
      if (step === 0) fail('$range: step must not be 0');
      const out: number[] = [];
      for (let v = start; step > 0 ? v <= end : v >= end; v += step) {
        if (out.length === MAX_RANGE) fail(`$range: the range has more than ${MAX_RANGE} items`);
        out.push(v);
      }
      return out;
    },
    '<nnn:a>',
  );
  expr.registerFunction(
    'hash',
    (data: string, algorithm: string) => {
      const alg = HASHES[algorithm];
      if (alg === undefined) fail(`$hash: the algorithm must be one of ${Object.keys(HASHES).join(', ')}, got '${algorithm}'`);
      return createHash(alg).update(data).digest('hex');
    },
    '<ss:s>',
  );
  expr.registerFunction('random', (seed?: number) => (seed === undefined ? Math.random() : seededRandom(seed)), '<n?:n>');
  expr.registerFunction('uuid', () => randomUUID(), '<:s>');
  expr.registerFunction(
    'parse',
    (text: string) => {
      try {
        return JSON.parse(text) as unknown;
      } catch (e) {
        return fail(`$parse: the argument is not JSON: ${(e as Error).message}`);
      }
    },
    '<s:x>',
  );
}

/** A deterministic [0, 1) value for a seed (mulberry32; AWS's generator is a different one). */
function seededRandom(seed: number): number {
  let t = (Math.trunc(seed) + 0x6d2b79f5) | 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

// ------------------------------------------------------------------------------------------------ static analysis

/** JSONata's built-in functions and AWS's, which an expression may name without calling them (`$map(a, $string)`). */
const FUNCTIONS = new Set(
  (
    'sum count max min average string substring substringBefore substringAfter lowercase uppercase length trim pad match contains ' +
    'replace split join formatNumber formatBase formatInteger parseInteger number floor ceil round abs sqrt power random boolean not ' +
    'map zip filter single reduce sift keys lookup append exists spread merge reverse each error assert type sort shuffle distinct ' +
    'encodeUrlComponent encodeUrl decodeUrlComponent decodeUrl eval toMillis fromMillis clone now millis base64encode base64decode ' +
    'partition range hash uuid parse'
  ).split(' '),
);

/**
 * The variables an expression reads from outside: `$name` references minus names it binds itself (`:=`, lambda
 * parameters), function names in call position, `$states` and `$` / `$$`.
 */
function freeVariables(ast: unknown): Set<string> {
  const used = new Set<string>();
  const bound = new Set<string>();
  const walk = (n: unknown, callee: boolean): void => {
    if (Array.isArray(n)) {
      for (const x of n) walk(x, false);
      return;
    }
    if (typeof n !== 'object' || n === null) return;
    const node = n as Record<string, unknown>;
    if (node.type === 'variable' && typeof node.value === 'string' && !callee) used.add(node.value);
    if (node.type === 'bind') {
      const lhs = node.lhs as { value?: unknown } | undefined;
      if (typeof lhs?.value === 'string') bound.add(lhs.value);
    }
    if (node.type === 'lambda' && Array.isArray(node.arguments)) for (const a of node.arguments as Array<{ value?: unknown }>) if (typeof a.value === 'string') bound.add(a.value);
    for (const [k, v] of Object.entries(node)) {
      if (k === 'position' || k === 'value') continue;
      walk(v, k === 'procedure' && node.type === 'function');
    }
  };
  walk(ast, false);
  for (const b of bound) used.delete(b);
  for (const n of ['', '$', 'states']) used.delete(n);
  for (const f of FUNCTIONS) used.delete(f);
  return used;
}
