/**
 * Choice rules compiled to closures. A comparison of mismatched types is simply false (the kit's case 16:
 * NumericEquals on a string); a Variable (or a `...Path` operand) that does not exist raises States.Runtime, except
 * for IsPresent, which exists to test exactly that.
 */
import { AslSyntaxError, runtimeError } from './errors.js';
import { PathNotFound, evaluate, parsePath } from './jsonpath.js';
import type { ContextThunk } from './payload.js';

export type Condition = (input: unknown, context: ContextThunk) => boolean;

const KINDS = ['String', 'Numeric', 'Boolean', 'Timestamp'] as const;
const RELATIONS = ['Equals', 'LessThan', 'GreaterThan', 'LessThanEquals', 'GreaterThanEquals'] as const;

/** Every comparison operator name of the spec. */
export const COMPARISON_OPERATORS: ReadonlySet<string> = new Set([
  ...KINDS.flatMap((k) => (k === 'Boolean' ? ['Equals'] : RELATIONS).flatMap((r) => [`${k}${r}`, `${k}${r}Path`])),
  'StringMatches',
  'IsNull',
  'IsPresent',
  'IsNumeric',
  'IsString',
  'IsBoolean',
  'IsTimestamp',
]);

// ------------------------------------------------------------------------------------------------ timestamps

const TS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/** An instant with nanosecond precision: [epoch seconds, nanoseconds]. */
export type Instant = readonly [number, number];

/** Parses an RFC 3339 timestamp as ASL requires it (upper-case T and Z); null when it is not one. */
export function parseTimestamp(s: unknown): Instant | null {
  if (typeof s !== 'string') return null;
  const m = TS.exec(s);
  if (!m) return null;
  const [y, mo, d, h, mi, se] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 60) return null;
  const dim = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d > dim) return null;
  let offset = 0;
  const z = m[8]!;
  if (z !== 'Z') {
    const oh = Number(z.slice(1, 3));
    const om = Number(z.slice(4, 6));
    if (oh > 23 || om > 59) return null;
    offset = (z[0] === '+' ? 1 : -1) * (oh * 3600 + om * 60);
  }
  const secs = Date.UTC(y, mo - 1, d, h, mi, se) / 1000 - offset;
  const nanos = m[7] ? Number((m[7] + '00000000').slice(0, 9)) : 0;
  return [secs, nanos];
}

export function compareInstants(a: Instant, b: Instant): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}

/** `*` matches any run of characters; `\*` is a literal star and `\\` a literal backslash. */
export function compileStringMatches(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) {
      const n = pattern[++i]!;
      re += n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else if (c === '*') re += '[\\s\\S]*';
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

// ------------------------------------------------------------------------------------------------ compiling

type Getter = (input: unknown, context: ContextThunk) => unknown;
const ABSENT = Symbol('absent');

function getter(text: string, strict: boolean): Getter {
  const p = parsePath(text);
  return (input, context) => {
    try {
      return evaluate(p, input, context);
    } catch (e) {
      if (!(e instanceof PathNotFound)) throw e;
      if (!strict) return ABSENT;
      throw runtimeError(`Invalid path '${text}' : The choice state's condition path references an invalid value.`);
    }
  };
}

function compareValues(kind: string, rel: string, a: unknown, b: unknown): boolean {
  let c: number;
  switch (kind) {
    case 'String':
      if (typeof a !== 'string' || typeof b !== 'string') return false;
      c = a < b ? -1 : a > b ? 1 : 0;
      break;
    case 'Numeric':
      if (typeof a !== 'number' || typeof b !== 'number') return false;
      c = a - b;
      break;
    case 'Boolean':
      return typeof a === 'boolean' && typeof b === 'boolean' && a === b;
    case 'Timestamp': {
      const ta = parseTimestamp(a);
      const tb = parseTimestamp(b);
      if (!ta || !tb) return false;
      c = compareInstants(ta, tb);
      break;
    }
    default:
      return false;
  }
  switch (rel) {
    case 'Equals':
      return c === 0;
    case 'LessThan':
      return c < 0;
    case 'GreaterThan':
      return c > 0;
    case 'LessThanEquals':
      return c <= 0;
    default:
      return c >= 0;
  }
}

/** Compiles one Choice rule (top-level or nested); the rule's Next is not looked at here. */
export function compileCondition(rule: unknown, where: string): Condition {
  if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) throw new AslSyntaxError(`${where}: a choice rule must be an object`);
  const r = rule as Record<string, unknown>;
  if ('And' in r || 'Or' in r) {
    const op = 'And' in r ? 'And' : 'Or';
    const list = r[op];
    if (!Array.isArray(list) || list.length === 0) throw new AslSyntaxError(`${where}.${op}: must be a non-empty array of rules`);
    const subs = list.map((x, i) => compileCondition(x, `${where}.${op}[${i}]`));
    return op === 'And'
      ? (input, ctx) => {
          for (const s of subs) if (!s(input, ctx)) return false;
          return true;
        }
      : (input, ctx) => {
          for (const s of subs) if (s(input, ctx)) return true;
          return false;
        };
  }
  if ('Not' in r) {
    const sub = compileCondition(r.Not, `${where}.Not`);
    return (input, ctx) => !sub(input, ctx);
  }
  const ops = Object.keys(r).filter((k) => COMPARISON_OPERATORS.has(k));
  if (ops.length !== 1) throw new AslSyntaxError(`${where}: a choice rule needs exactly one comparison operator (And, Or, Not, or one of StringEquals, NumericEquals, IsPresent, ...), found ${ops.length ? ops.join(', ') : 'none'}`);
  const op = ops[0]!;
  const operand = r[op];
  if (typeof r.Variable !== 'string') throw new AslSyntaxError(`${where}.Variable: a comparison needs a Variable path`);
  let variable: Getter;
  try {
    variable = getter(r.Variable, op !== 'IsPresent');
  } catch (e) {
    throw new AslSyntaxError(`${where}.Variable: ${(e as Error).message}`);
  }
  if (op.startsWith('Is')) {
    if (typeof operand !== 'boolean') throw new AslSyntaxError(`${where}.${op}: must be true or false`);
    const test: (v: unknown) => boolean =
      op === 'IsPresent'
        ? (v) => v !== ABSENT
        : op === 'IsNull'
          ? (v) => v === null
          : op === 'IsNumeric'
            ? (v) => typeof v === 'number'
            : op === 'IsString'
              ? (v) => typeof v === 'string'
              : op === 'IsBoolean'
                ? (v) => typeof v === 'boolean'
                : (v) => parseTimestamp(v) !== null;
    return (input, ctx) => test(variable(input, ctx)) === operand;
  }
  if (op === 'StringMatches') {
    if (typeof operand !== 'string') throw new AslSyntaxError(`${where}.StringMatches: must be a string pattern`);
    const re = compileStringMatches(operand);
    return (input, ctx) => {
      const v = variable(input, ctx);
      return typeof v === 'string' && re.test(v);
    };
  }
  const isPath = op.endsWith('Path');
  const base = isPath ? op.slice(0, -4) : op;
  const kind = KINDS.find((k) => base.startsWith(k))!;
  const rel = base.slice(kind.length);
  if (isPath) {
    if (typeof operand !== 'string') throw new AslSyntaxError(`${where}.${op}: must be a path`);
    let other: Getter;
    try {
      other = getter(operand, true);
    } catch (e) {
      throw new AslSyntaxError(`${where}.${op}: ${(e as Error).message}`);
    }
    return (input, ctx) => compareValues(kind, rel, variable(input, ctx), other(input, ctx));
  }
  const ok =
    kind === 'String' ? typeof operand === 'string' : kind === 'Numeric' ? typeof operand === 'number' : kind === 'Boolean' ? typeof operand === 'boolean' : parseTimestamp(operand) !== null;
  if (!ok)
    throw new AslSyntaxError(
      `${where}.${op}: must be ${kind === 'String' ? 'a string' : kind === 'Numeric' ? 'a number' : kind === 'Boolean' ? 'a boolean' : 'an RFC 3339 timestamp (e.g. 2016-03-14T01:59:00Z)'}`,
    );
  return (input, ctx) => compareValues(kind, rel, variable(input, ctx), operand);
}
