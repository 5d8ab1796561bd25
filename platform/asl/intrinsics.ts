/**
 * Intrinsic functions (`States.Format(...)` and friends): a tokenizer and parser that turn the call text into a tree
 * once, at load time, and an evaluator. Arguments may be string literals in single quotes (escapes `\'`, `\{`, `\}`,
 * `\\`), numbers, `true`/`false`/`null`, `$`/`$$` paths, and nested calls.
 *
 * Failures of the function itself (wrong argument types or counts, unparsable JSON...) raise
 * States.IntrinsicFailure; a path argument that does not exist raises States.Runtime, like any path.
 */
import { createHash, randomUUID } from 'node:crypto';
import { AslSyntaxError, INTRINSIC_FAILURE, StatesError, runtimeError } from './errors.js';
import { PathNotFound, deepEqual, evaluate, parsePath, type ParsedPath } from './jsonpath.js';

export type IntrinsicNode =
  | { k: 'call'; name: string; args: IntrinsicNode[] }
  | { k: 'lit'; v: unknown; raw?: string }
  | { k: 'path'; p: ParsedPath };

/** Every intrinsic function with its accepted argument count [min, max]. */
export const INTRINSICS: Readonly<Record<string, readonly [number, number]>> = {
  'States.Format': [1, Infinity],
  'States.StringToJson': [1, 1],
  'States.JsonToString': [1, 1],
  'States.Array': [0, Infinity],
  'States.ArrayPartition': [2, 2],
  'States.ArrayContains': [2, 2],
  'States.ArrayRange': [3, 3],
  'States.ArrayGetItem': [2, 2],
  'States.ArrayLength': [1, 1],
  'States.ArrayUnique': [1, 1],
  'States.Base64Encode': [1, 1],
  'States.Base64Decode': [1, 1],
  'States.Hash': [2, 2],
  'States.JsonMerge': [3, 3],
  'States.MathRandom': [2, 3],
  'States.MathAdd': [2, 2],
  'States.StringSplit': [2, 2],
  'States.UUID': [0, 0],
};

/** True when the text looks like an intrinsic call (as opposed to a path). */
export function isIntrinsicCall(text: string): boolean {
  return /^\s*States\.[A-Za-z0-9]+\s*\(/.test(text);
}

class IParser {
  pos = 0;
  constructor(readonly src: string) {}
  fail(msg: string): never {
    throw new AslSyntaxError(`invalid intrinsic function '${this.src}': ${msg} at position ${this.pos}`);
  }
  ws(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }
  expr(): IntrinsicNode {
    this.ws();
    const rest = this.src.slice(this.pos);
    const c = rest[0];
    if (c === undefined) this.fail('unexpected end');
    if (c === "'") return this.string();
    if (c === '$') return this.path();
    const call = /^States\.[A-Za-z0-9]+/.exec(rest);
    if (call) {
      const name = call[0];
      this.pos += name.length;
      this.ws();
      if (this.src[this.pos] !== '(') this.fail(`expected '(' after ${name}`);
      this.pos++;
      const args: IntrinsicNode[] = [];
      this.ws();
      if (this.src[this.pos] === ')') this.pos++;
      else
        for (;;) {
          args.push(this.expr());
          this.ws();
          const d = this.src[this.pos];
          if (d === ',') {
            this.pos++;
            continue;
          }
          if (d === ')') {
            this.pos++;
            break;
          }
          this.fail("expected ',' or ')'");
        }
      const arity = INTRINSICS[name];
      if (!arity) this.fail(`unknown intrinsic function ${name}`);
      if (args.length < arity[0] || args.length > arity[1])
        this.fail(`${name} takes ${arity[0] === arity[1] ? arity[0] : `${arity[0]} to ${arity[1]}`} argument(s), got ${args.length}`);
      return { k: 'call', name, args };
    }
    const lit = /^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null)(?=\s*[,)]|\s*$)/.exec(rest);
    if (lit) {
      this.pos += lit[0].length;
      return { k: 'lit', v: JSON.parse(lit[0]) as unknown };
    }
    this.fail('expected a string, number, boolean, null, path or function call');
  }
  string(): IntrinsicNode {
    this.pos++; // opening quote
    let raw = '';
    let value = '';
    for (;;) {
      const c = this.src[this.pos];
      if (c === undefined) this.fail('unterminated string literal');
      this.pos++;
      if (c === "'") break;
      if (c === '\\') {
        const n = this.src[this.pos];
        if (n === undefined) this.fail('unterminated string literal');
        this.pos++;
        raw += c + n;
        value += n;
      } else {
        raw += c;
        value += c;
      }
    }
    return { k: 'lit', v: value, raw };
  }
  path(): IntrinsicNode {
    // A path runs to the next ',' or ')' outside brackets and quotes.
    const start = this.pos;
    let depth = 0;
    let quote: string | null = null;
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (quote) {
        if (c === '\\') this.pos++;
        else if (c === quote) quote = null;
      } else if (c === "'" || c === '"') quote = c;
      else if (c === '[' || c === '(') depth++;
      else if (c === ']' || c === ')') {
        if (depth === 0) break;
        depth--;
      } else if (c === ',' && depth === 0) break;
      this.pos++;
    }
    const text = this.src.slice(start, this.pos).trim();
    return { k: 'path', p: parsePath(text) };
  }
}

/** Parses an intrinsic call; throws AslSyntaxError on bad syntax, unknown functions or wrong argument counts. */
export function parseIntrinsic(text: string): IntrinsicNode {
  const p = new IParser(text);
  const node = p.expr();
  p.ws();
  if (p.pos !== text.length) p.fail('unexpected trailing text');
  if (node.k !== 'call') p.fail('not a function call');
  return node;
}

function fail(msg: string): never {
  throw new StatesError(INTRINSIC_FAILURE, msg);
}

/** Evaluates a parsed intrinsic against `$` (input) and `$$` (context thunk). */
export function evalIntrinsic(node: IntrinsicNode, input: unknown, context: () => unknown): unknown {
  if (node.k === 'lit') return node.v;
  if (node.k === 'path') {
    try {
      return evaluate(node.p, input, context);
    } catch (e) {
      if (e instanceof PathNotFound) throw runtimeError(`The JsonPath argument for the field '${node.p.text}' could not be found in the input`);
      throw e;
    }
  }
  const args = node.args.map((a) => evalIntrinsic(a, input, context));
  return callIntrinsic(node.name, args, node.args);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(name: string, v: unknown, what = 'argument'): string {
  if (typeof v !== 'string') fail(`The ${what} of ${name} must be a string, got ${JSON.stringify(v)}`);
  return v;
}
function arr(name: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) fail(`The first argument of ${name} must be an array, got ${JSON.stringify(v)}`);
  return v;
}
function int(name: string, v: unknown, what: string): number {
  if (!isInt(v)) fail(`The ${what} argument of ${name} must be an integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Java's Math.round: half up, towards positive infinity (the kit's case 33: MathAdd(2.5, 0) = 3). */
function javaRound(x: number): number {
  return Math.floor(x + 0.5);
}

/** Renders a value the way AWS's Java implementation stringifies it inside States.Format. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return '[' + v.map(formatValue).join(', ') + ']';
  if (typeof v === 'object') return '{' + Object.entries(v).map(([k, x]) => `${k}=${formatValue(x)}`).join(', ') + '}';
  return String(v);
}

const MAX_STRING = 10_000;
const HASHES: Record<string, string> = { MD5: 'md5', 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

function callIntrinsic(name: string, a: unknown[], nodes: IntrinsicNode[]): unknown {
  switch (name) {
    case 'States.Format': {
      const first = nodes[0]!;
      // A literal template keeps its escapes so that \{ \} are literal braces; a template from a path is taken as is.
      const template = first.k === 'lit' && first.raw !== undefined ? first.raw : str(name, a[0], 'template');
      if (first.k === 'lit' && typeof first.v !== 'string') fail('The template of States.Format must be a string');
      let out = '';
      let next = 1;
      for (let i = 0; i < template.length; i++) {
        const c = template[i]!;
        if (c === '\\' && first.k === 'lit' && i + 1 < template.length) {
          out += template[++i];
        } else if (c === '{' && template[i + 1] === '}') {
          if (next >= a.length) fail(`States.Format: the template has more placeholders than the ${a.length - 1} argument(s)`);
          out += formatValue(a[next++]);
          i++;
        } else out += c;
      }
      if (next !== a.length) fail(`States.Format: ${a.length - 1} argument(s) for ${next - 1} placeholder(s)`);
      return out;
    }
    case 'States.StringToJson': {
      const s = str(name, a[0]);
      // AWS (recorded): an empty or whitespace-only string parses to null rather than failing.
      if (s.trim() === '') return null;
      try {
        return JSON.parse(s) as unknown;
      } catch {
        fail(`States.StringToJson: the argument is not valid JSON: ${s.slice(0, 200)}`);
      }
    }
    case 'States.JsonToString':
      return JSON.stringify(a[0] === undefined ? null : a[0]);
    case 'States.Array':
      return a;
    case 'States.ArrayPartition': {
      const list = arr(name, a[0]);
      const size = int(name, a[1], 'second');
      if (size <= 0) fail('The chunk size of States.ArrayPartition must be positive');
      const out: unknown[][] = [];
      for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
      return out;
    }
    case 'States.ArrayContains':
      return arr(name, a[0]).some((x) => deepEqual(x, a[1]));
    case 'States.ArrayRange': {
      const start = int(name, a[0], 'first');
      const end = int(name, a[1], 'second');
      const step = int(name, a[2], 'third');
      if (step === 0) fail('The step of States.ArrayRange must not be 0');
      const out: number[] = [];
      for (let v = start; step > 0 ? v <= end : v >= end; v += step) {
        out.push(v);
        if (out.length > 1000) fail('States.ArrayRange may produce at most 1000 elements');
      }
      return out;
    }
    case 'States.ArrayGetItem': {
      const list = arr(name, a[0]);
      const i = int(name, a[1], 'second');
      if (i < 0 || i >= list.length) fail(`States.ArrayGetItem: index ${i} is out of bounds for an array of ${list.length}`);
      return list[i];
    }
    case 'States.ArrayLength':
      return arr(name, a[0]).length;
    case 'States.ArrayUnique': {
      const out: unknown[] = [];
      for (const x of arr(name, a[0])) if (!out.some((y) => deepEqual(x, y))) out.push(x);
      return out;
    }
    case 'States.Base64Encode': {
      const s = str(name, a[0]);
      if (s.length > MAX_STRING) fail(`States.Base64Encode: the input is longer than ${MAX_STRING} characters`);
      return Buffer.from(s, 'utf8').toString('base64');
    }
    case 'States.Base64Decode': {
      const s = str(name, a[0]);
      if (s.length > MAX_STRING) fail(`States.Base64Decode: the input is longer than ${MAX_STRING} characters`);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 === 1) fail('States.Base64Decode: the input is not valid base64');
      return Buffer.from(s, 'base64').toString('utf8');
    }
    case 'States.Hash': {
      const data = typeof a[0] === 'string' ? a[0] : a[0] === null || a[0] === undefined ? fail('States.Hash: the data must not be null') : JSON.stringify(a[0]);
      if (data.length > MAX_STRING) fail(`States.Hash: the input is longer than ${MAX_STRING} characters`);
      const alg = HASHES[str(name, a[1], 'second argument')];
      if (!alg) fail(`States.Hash: unsupported algorithm ${JSON.stringify(a[1])} (MD5, SHA-1, SHA-256, SHA-384, SHA-512)`);
      return createHash(alg).update(data, 'utf8').digest('hex');
    }
    case 'States.JsonMerge': {
      if (!isObj(a[0]) || !isObj(a[1])) fail('The first two arguments of States.JsonMerge must be JSON objects');
      if (typeof a[2] !== 'boolean') fail('The third argument of States.JsonMerge must be a boolean');
      // AWS: "Step Functions only supports the shallow merging mode; you must specify the boolean value as false".
      if (a[2]) fail('States.JsonMerge: deep merging is not supported; the third argument must be false');
      return { ...a[0], ...a[1] };
    }
    case 'States.MathRandom': {
      const start = int(name, a[0], 'first');
      const end = int(name, a[1], 'second');
      if (end <= start) fail('States.MathRandom: the end must be greater than the start');
      const r = a.length > 2 ? seeded(int(name, a[2], 'third')) : Math.random();
      return start + Math.floor(r * (end - start));
    }
    case 'States.MathAdd': {
      if (typeof a[0] !== 'number' || typeof a[1] !== 'number') fail('The arguments of States.MathAdd must be numbers');
      const x = javaRound(a[0]);
      const y = javaRound(a[1]);
      const lim = 2 ** 31;
      if (x < -lim || x >= lim || y < -lim || y >= lim) fail('The arguments of States.MathAdd must be 32-bit integers');
      return x + y;
    }
    case 'States.StringSplit': {
      const s = str(name, a[0], 'first argument');
      const delims = str(name, a[1], 'second argument');
      if (delims === '') return s === '' ? [] : [s];
      const set = new Set(delims);
      const out: string[] = [];
      let cur = '';
      for (const ch of s) {
        if (set.has(ch)) {
          if (cur !== '') out.push(cur);
          cur = '';
        } else cur += ch;
      }
      if (cur !== '') out.push(cur);
      return out;
    }
    case 'States.UUID':
      return randomUUID();
  }
  return fail(`unknown intrinsic function ${name}`);
}

/** A small deterministic PRNG (mulberry32) for States.MathRandom with a seed; returns [0, 1). */
function seeded(seed: number): number {
  let t = (seed + 0x6d2b79f5) | 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
