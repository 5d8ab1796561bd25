/**
 * JSONPath as AWS Step Functions evaluates it (the Jayway Java implementation): `$.a.b`, `$['a']`, `[0]`, `[-1]`,
 * `[*]`, `.*`, `..name`, `[1:3]`, unions `[0,2]` / `['a','b']`, and filters `[?(@.x == 0)]`. Paths are parsed once,
 * when a definition is loaded; evaluation walks the parsed segments.
 *
 * A *definite* path (only names and single indexes) yields one value and fails when a step is missing. An indefinite
 * path (wildcard, deep scan, slice, union, filter) yields an array of all matches, `[]` when nothing matches (the
 * kit's case 05: `$.items[*]` on `{}` is `[]`).
 */
import { AslSyntaxError } from './errors.js';

export type Segment =
  | { t: 'prop'; name: string }
  | { t: 'index'; i: number }
  | { t: 'wild' }
  | { t: 'props'; names: string[] }
  | { t: 'indexes'; list: number[] }
  | { t: 'slice'; start: number | null; end: number | null; step: number }
  | { t: 'filter'; expr: FilterExpr }
  | { t: 'desc'; sel: Segment };

export interface ParsedPath {
  /** The source text, for messages. */
  readonly text: string;
  /** `$` = the state's data, `$$` = the context object, `@` = the current node inside a filter, `var` = a workflow variable. */
  readonly root: '$' | '$$' | '@' | 'var';
  /** The variable's name when root is `var` (`$order.id` reads variable `order`). */
  readonly variable?: string;
  readonly segments: readonly Segment[];
  /** True when the path names at most one node (a "Reference Path" in the spec's words). */
  readonly definite: boolean;
}

/** Thrown by evaluation when a definite path does not exist in the data. */
export class PathNotFound extends Error {
  override readonly name = 'PathNotFound';
  constructor(
    readonly path: string,
    /** Where the walk stopped, Jayway-style: `$['no']`. */
    readonly at: string,
    /** Jayway's two wordings: a missing last step has "No results", a missing step before it "Missing property". */
    leaf = true,
  ) {
    super(`Invalid path '${path}' : ${leaf ? 'No results for path: ' : 'Missing property in path '}${at}`);
  }
}

/** Thrown by evaluation when a `$name` path reads a variable that has not been assigned (yet). */
export class VariableNotAssigned extends PathNotFound {
  constructor(path: string, readonly variable: string) {
    super(path, `$${variable}`);
    this.message = `Invalid path '${path}' : The variable '$${variable}' has not been assigned`;
  }
}

/** Where `$name` paths read workflow variables from; carried by the context thunk (payload.ts). */
export interface VariableReader {
  /** The value, or undefined when the variable is not assigned. */
  read(name: string): unknown;
  /** Every visible variable by name (what JSONata expressions get as bindings). */
  bindings(): Readonly<Record<string, unknown>>;
}

/** A variable name as `$name` paths and Assign keys spell it (AWS: Unicode ID_Start then ID_Continue). */
export const VARIABLE_NAME = /^\p{ID_Start}\p{ID_Continue}*$/u;
const VARIABLE_HEAD = /^\$(\p{ID_Start}\p{ID_Continue}*)/u;

// ------------------------------------------------------------------------------------------------ parsing

/** The character a backslash escape inside a quoted name stands for (Jayway unescapes Java-style: \\n, \\uXXXX...). */
const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', f: '\f', b: '\b' };
function unescape(c: string, p: Parser): string {
  if (c !== 'u') return ESCAPES[c] ?? c; // \' \" \\ \/ and any other character stand for themselves
  const hex = p.src.slice(p.pos, p.pos + 4);
  if (!/^[0-9a-fA-F]{4}$/.test(hex)) p.fail('invalid \\u escape');
  p.pos += 4;
  return String.fromCharCode(parseInt(hex, 16));
}

const FILTER_STOP = new Set([' ', '\t', '\n', '\r', ')', '(', '=', '!', '<', '>', '&', '|', ',', ']', '~']);

class Parser {
  pos = 0;
  constructor(readonly src: string) {}

  fail(msg: string): never {
    throw new AslSyntaxError(`invalid JSONPath '${this.src}': ${msg} at position ${this.pos}`);
  }
  peek(off = 0): string | undefined {
    return this.src[this.pos + off];
  }
  skipWs(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }

  /** Parses a path starting at pos; in filter mode, names stop at whitespace and operators. */
  path(filterMode: boolean): ParsedPath {
    const start = this.pos;
    let root: '$' | '$$' | '@' | 'var';
    let variable: string | undefined;
    const head = this.peek() === '$' && !filterMode ? VARIABLE_HEAD.exec(this.src.slice(this.pos)) : null;
    if (head) {
      root = 'var';
      variable = head[1]!;
      this.pos += head[0].length;
    } else if (this.src.startsWith('$$', this.pos)) {
      root = '$$';
      this.pos += 2;
    } else if (this.peek() === '$') {
      root = '$';
      this.pos += 1;
    } else if (this.peek() === '@') {
      root = '@';
      this.pos += 1;
    } else this.fail("a path must start with '$'");
    const segments: Segment[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined) break;
      if (c === '.') {
        if (this.peek(1) === '.') {
          this.pos += 2;
          let sel: Segment;
          if (this.peek() === '[') sel = this.bracket();
          else if (this.peek() === '*') {
            this.pos++;
            sel = { t: 'wild' };
          } else sel = { t: 'prop', name: this.name(filterMode) };
          segments.push({ t: 'desc', sel });
          continue;
        }
        this.pos++;
        if (this.peek() === '*') {
          this.pos++;
          segments.push({ t: 'wild' });
        } else if (this.peek() === '[') {
          segments.push(this.bracket()); // tolerate "$.['a']"
        } else segments.push({ t: 'prop', name: this.name(filterMode) });
        continue;
      }
      if (c === '[') {
        segments.push(this.bracket());
        continue;
      }
      if (filterMode) break;
      this.fail(`unexpected '${c}'`);
    }
    const definite = segments.every((s) => s.t === 'prop' || s.t === 'index');
    const text = this.src.slice(start, this.pos);
    return variable === undefined ? { text, root, segments, definite } : { text, root, variable, segments, definite };
  }

  name(filterMode: boolean): string {
    const start = this.pos;
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (c === '.' || c === '[' || c === ']') break;
      if (filterMode && FILTER_STOP.has(c)) break;
      this.pos++;
    }
    if (this.pos === start) this.fail('empty property name');
    return this.src.slice(start, this.pos);
  }

  quoted(): string {
    const q = this.peek();
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail('unterminated string');
      this.pos++;
      if (c === q) return out;
      if (c === '\\') {
        const n = this.peek();
        if (n === undefined) this.fail('unterminated string');
        this.pos++;
        out += unescape(n, this);
      } else out += c;
    }
  }

  int(): number {
    const m = /^-?\d+/.exec(this.src.slice(this.pos));
    if (!m) this.fail('expected an integer');
    this.pos += m[0].length;
    return Number(m[0]);
  }

  bracket(): Segment {
    this.pos++; // [
    this.skipWs();
    const c = this.peek();
    let seg: Segment;
    if (c === '*') {
      this.pos++;
      seg = { t: 'wild' };
    } else if (c === '?') {
      this.pos++;
      this.skipWs();
      if (this.peek() !== '(') this.fail("expected '(' after '?'");
      this.pos++;
      const expr = this.filterOr();
      this.skipWs();
      if (this.peek() !== ')') this.fail("expected ')' closing the filter");
      this.pos++;
      seg = { t: 'filter', expr };
    } else if (c === "'" || c === '"') {
      const names = [this.quoted()];
      this.skipWs();
      while (this.peek() === ',') {
        this.pos++;
        this.skipWs();
        if (this.peek() !== "'" && this.peek() !== '"') this.fail('expected a quoted name');
        names.push(this.quoted());
        this.skipWs();
      }
      seg = names.length === 1 ? { t: 'prop', name: names[0]! } : { t: 'props', names };
    } else {
      // index, union of indexes, or slice
      let first: number | null = null;
      if (this.peek() !== ':') first = this.int();
      this.skipWs();
      if (this.peek() === ':') {
        this.pos++;
        this.skipWs();
        let end: number | null = null;
        let step = 1;
        if (this.peek() !== ']' && this.peek() !== ':') end = this.int();
        this.skipWs();
        if (this.peek() === ':') {
          this.pos++;
          this.skipWs();
          if (this.peek() !== ']') step = this.int();
          if (step === 0) this.fail('slice step must not be 0');
        }
        seg = { t: 'slice', start: first, end, step };
      } else {
        const list = [first!];
        while (this.peek() === ',') {
          this.pos++;
          this.skipWs();
          list.push(this.int());
          this.skipWs();
        }
        seg = list.length === 1 ? { t: 'index', i: list[0]! } : { t: 'indexes', list };
      }
    }
    this.skipWs();
    if (this.peek() !== ']') this.fail("expected ']'");
    this.pos++;
    return seg;
  }

  // ---- filter expressions
  filterOr(): FilterExpr {
    let left = this.filterAnd();
    for (;;) {
      this.skipWs();
      if (this.src.startsWith('||', this.pos)) {
        this.pos += 2;
        left = { k: 'or', a: left, b: this.filterAnd() };
      } else return left;
    }
  }
  filterAnd(): FilterExpr {
    let left = this.filterUnary();
    for (;;) {
      this.skipWs();
      if (this.src.startsWith('&&', this.pos)) {
        this.pos += 2;
        left = { k: 'and', a: left, b: this.filterUnary() };
      } else return left;
    }
  }
  filterUnary(): FilterExpr {
    this.skipWs();
    if (this.peek() === '!' && this.peek(1) !== '=') {
      this.pos++;
      return { k: 'not', a: this.filterUnary() };
    }
    if (this.peek() === '(') {
      this.pos++;
      const e = this.filterOr();
      this.skipWs();
      if (this.peek() !== ')') this.fail("expected ')'");
      this.pos++;
      return e;
    }
    const left = this.operand();
    this.skipWs();
    const m = /^(==|!=|<=|>=|<|>|=~|nin\b|in\b|subsetof\b|anyof\b|noneof\b|size\b|empty\b|contains\b)/.exec(
      this.src.slice(this.pos),
    );
    if (!m) {
      if (left.k !== 'path') this.fail('a filter term must be a path or a comparison');
      return { k: 'exists', p: left.p };
    }
    this.pos += m[0].length;
    const right = this.operand();
    return { k: 'cmp', op: m[0] as CmpOp, a: left, b: right };
  }
  operand(): Operand {
    this.skipWs();
    const c = this.peek();
    if (c === '@' || c === '$') return { k: 'path', p: this.path(true) };
    if (c === "'" || c === '"') return { k: 'lit', v: this.quoted() };
    if (c === '/') {
      const end = this.src.indexOf('/', this.pos + 1);
      if (end < 0) this.fail('unterminated regex');
      const body = this.src.slice(this.pos + 1, end);
      this.pos = end + 1;
      const fm = /^[a-z]*/.exec(this.src.slice(this.pos))![0];
      this.pos += fm.length;
      try {
        return { k: 'regex', re: new RegExp(body, fm.replace(/[^gimsuy]/g, '')) };
      } catch {
        this.fail(`invalid regex /${body}/`);
      }
    }
    if (c === '[' || c === '{') {
      // a JSON literal: find the matching bracket
      let depth = 0;
      let i = this.pos;
      let inStr: string | null = null;
      for (; i < this.src.length; i++) {
        const ch = this.src[i]!;
        if (inStr) {
          if (ch === '\\') i++;
          else if (ch === inStr) inStr = null;
        } else if (ch === '"' || ch === "'") inStr = ch;
        else if (ch === '[' || ch === '{') depth++;
        else if (ch === ']' || ch === '}') {
          depth--;
          if (depth === 0) break;
        }
      }
      const text = this.src.slice(this.pos, i + 1).replace(/'/g, '"');
      this.pos = i + 1;
      try {
        return { k: 'lit', v: JSON.parse(text) as unknown };
      } catch {
        this.fail(`invalid literal ${text}`);
      }
    }
    const m = /^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true\b|false\b|null\b)/.exec(this.src.slice(this.pos));
    if (!m) this.fail('expected an operand');
    this.pos += m[0].length;
    return { k: 'lit', v: JSON.parse(m[0]) as unknown };
  }
}

type CmpOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | '=~' | 'in' | 'nin' | 'subsetof' | 'anyof' | 'noneof' | 'size' | 'empty' | 'contains';
type Operand = { k: 'path'; p: ParsedPath } | { k: 'lit'; v: unknown } | { k: 'regex'; re: RegExp };
export type FilterExpr =
  | { k: 'or' | 'and'; a: FilterExpr; b: FilterExpr }
  | { k: 'not'; a: FilterExpr }
  | { k: 'exists'; p: ParsedPath }
  | { k: 'cmp'; op: CmpOp; a: Operand; b: Operand };

const cache = new Map<string, ParsedPath>();

/** Parses a JSONPath (`$...` or `$$...`); throws AslSyntaxError when it is malformed. Results are cached. */
export function parsePath(text: string): ParsedPath {
  const hit = cache.get(text);
  if (hit) return hit;
  const p = new Parser(text);
  const parsed = p.path(false);
  if (parsed.root === '@') p.fail("'@' is only allowed inside a filter");
  if (p.pos !== text.length) p.fail('unexpected trailing text');
  if (cache.size < 10_000) cache.set(text, parsed);
  return parsed;
}

/** True when text is a syntactically valid path. */
export function isPath(text: string): boolean {
  try {
    parsePath(text);
    return true;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------------------------------------ evaluation

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
const hasOwn = Object.prototype.hasOwnProperty;

function fmtAt(parts: readonly (string | number)[]): string {
  return '$' + parts.map((p) => (typeof p === 'number' ? `[${p}]` : `['${p}']`)).join('');
}

/**
 * Evaluates a parsed path. `root` is `$`'s value; `context` is a thunk for `$$` (built only when used).
 * A definite path returns the value or throws PathNotFound; an indefinite one returns the array of matches.
 */
export function evaluate(path: ParsedPath, root: unknown, context?: (() => unknown) & { vars?: VariableReader }, current?: unknown): unknown {
  const base = path.root === '$' ? root : path.root === '$$' ? (context ? context() : undefined) : path.root === 'var' ? readVariable(path, context?.vars) : current;
  if (path.definite) {
    let v = base;
    const walked: (string | number)[] = [];
    const last = path.segments.length - 1;
    for (let n = 0; n <= last; n++) {
      const seg = path.segments[n]!;
      if (seg.t === 'prop') {
        walked.push(seg.name);
        if (!isObject(v) || !hasOwn.call(v, seg.name)) throw new PathNotFound(path.text, fmtAt(walked), n === last);
        v = v[seg.name];
      } else if (seg.t === 'index') {
        walked.push(seg.i);
        const i = Array.isArray(v) && seg.i < 0 ? v.length + seg.i : seg.i;
        if (!Array.isArray(v) || i < 0 || i >= v.length) throw new PathNotFound(path.text, fmtAt(walked));
        v = v[i];
      }
    }
    return v;
  }
  // Jayway: a multi-name bracket as the last step of an otherwise definite path yields an object of those names.
  const last = path.segments[path.segments.length - 1];
  if (last?.t === 'props' && path.segments.slice(0, -1).every((s) => s.t === 'prop' || s.t === 'index')) {
    const parent = evaluate({ ...path, segments: path.segments.slice(0, -1), definite: true }, root, context, current);
    const out: Record<string, unknown> = {};
    if (isObject(parent)) for (const n of last.names) if (hasOwn.call(parent, n)) out[n] = parent[n];
    return out;
  }
  let nodes: unknown[] = [base];
  for (const seg of path.segments) {
    const next: unknown[] = [];
    for (const n of nodes) applySegment(seg, n, next, root, context);
    nodes = next;
  }
  return nodes;
}

function readVariable(path: ParsedPath, vars: VariableReader | undefined): unknown {
  const v = vars?.read(path.variable!);
  if (v === undefined) throw new VariableNotAssigned(path.text, path.variable!);
  return v;
}

function applySegment(seg: Segment, v: unknown, out: unknown[], root: unknown, context?: () => unknown): void {
  switch (seg.t) {
    case 'prop':
      if (isObject(v) && hasOwn.call(v, seg.name)) out.push(v[seg.name]);
      return;
    case 'props':
      if (isObject(v)) for (const n of seg.names) if (hasOwn.call(v, n)) out.push(v[n]);
      return;
    case 'index':
      if (Array.isArray(v)) {
        const i = seg.i < 0 ? v.length + seg.i : seg.i;
        if (i >= 0 && i < v.length) out.push(v[i]);
      }
      return;
    case 'indexes':
      if (Array.isArray(v))
        for (const j of seg.list) {
          const i = j < 0 ? v.length + j : j;
          if (i >= 0 && i < v.length) out.push(v[i]);
        }
      return;
    case 'wild':
      if (Array.isArray(v)) for (const item of v) out.push(item); // a spread of a huge array overflows the stack
      else if (isObject(v)) for (const k of Object.keys(v)) out.push(v[k]);
      return;
    case 'slice': {
      if (!Array.isArray(v)) return;
      const len = v.length;
      const norm = (x: number) => (x < 0 ? Math.max(0, len + x) : Math.min(x, len));
      if (seg.step > 0) {
        const s = seg.start === null ? 0 : norm(seg.start);
        const e = seg.end === null ? len : norm(seg.end);
        for (let i = s; i < e; i += seg.step) out.push(v[i]);
      } else {
        const s = seg.start === null ? len - 1 : Math.min(norm(seg.start), len - 1);
        const e = seg.end === null ? -1 : norm(seg.end);
        for (let i = s; i > e; i += seg.step) out.push(v[i]);
      }
      return;
    }
    case 'filter':
      if (Array.isArray(v)) {
        for (const item of v) if (testFilter(seg.expr, item, root, context)) out.push(item);
      } else if (isObject(v)) {
        if (testFilter(seg.expr, v, root, context)) out.push(v);
      }
      return;
    case 'desc': {
      // Pre-order: the node's own match first, then its children's (Jayway's deep scan order).
      const walk = (node: unknown): void => {
        applySegment(seg.sel, node, out, root, context);
        if (Array.isArray(node)) for (const c of node) walk(c);
        else if (isObject(node)) for (const k of Object.keys(node)) walk(node[k]);
      };
      walk(v);
      return;
    }
  }
}

const MISSING = Symbol('missing');

function operandValue(o: Operand, item: unknown, root: unknown, context?: () => unknown): unknown {
  if (o.k === 'lit') return o.v;
  if (o.k === 'regex') return o.re;
  try {
    return evaluate(o.p, root, context, item);
  } catch (e) {
    if (e instanceof PathNotFound) return MISSING;
    throw e;
  }
}

function testFilter(e: FilterExpr, item: unknown, root: unknown, context?: () => unknown): boolean {
  switch (e.k) {
    case 'or':
      return testFilter(e.a, item, root, context) || testFilter(e.b, item, root, context);
    case 'and':
      return testFilter(e.a, item, root, context) && testFilter(e.b, item, root, context);
    case 'not':
      return !testFilter(e.a, item, root, context);
    case 'exists': {
      const v = operandValue({ k: 'path', p: e.p }, item, root, context);
      return v !== MISSING && !(Array.isArray(v) && !e.p.definite && v.length === 0);
    }
    case 'cmp': {
      const a = operandValue(e.a, item, root, context);
      const b = operandValue(e.b, item, root, context);
      if (a === MISSING || b === MISSING) return e.op === '!=' && !(a === MISSING && b === MISSING);
      return compareOp(e.op, a, b);
    }
  }
}

function compareOp(op: CmpOp, a: unknown, b: unknown): boolean {
  switch (op) {
    case '==':
      return deepEqual(a, b);
    case '!=':
      return !deepEqual(a, b);
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (!((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string'))) return false;
      return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
    }
    case '=~':
      return typeof a === 'string' && b instanceof RegExp && b.test(a);
    case 'in':
      return Array.isArray(b) && b.some((x) => deepEqual(x, a));
    case 'nin':
      return Array.isArray(b) && !b.some((x) => deepEqual(x, a));
    case 'subsetof':
      return Array.isArray(a) && Array.isArray(b) && a.every((x) => b.some((y) => deepEqual(x, y)));
    case 'anyof':
      return Array.isArray(a) && Array.isArray(b) && a.some((x) => b.some((y) => deepEqual(x, y)));
    case 'noneof':
      return Array.isArray(a) && Array.isArray(b) && !a.some((x) => b.some((y) => deepEqual(x, y)));
    case 'contains':
      return (Array.isArray(a) && a.some((x) => deepEqual(x, b))) || (typeof a === 'string' && typeof b === 'string' && a.includes(b));
    case 'size':
      return typeof b === 'number' && ((Array.isArray(a) && a.length === b) || (typeof a === 'string' && a.length === b));
    case 'empty': {
      const empty = (Array.isArray(a) && a.length === 0) || a === '';
      return typeof b === 'boolean' && (Array.isArray(a) || typeof a === 'string') && empty === b;
    }
  }
}

/** JSON value equality (object key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!hasOwn.call(b, k)) return false;
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

// ------------------------------------------------------------------------------------------------ ResultPath

/** Why a ResultPath could not be applied. */
export class PathSetError extends Error {
  override readonly name = 'PathSetError';
}

/**
 * Returns a copy of `root` with `value` placed at a definite `$` path, creating missing objects on the way.
 * Copy-on-write: only the objects along the path are copied; the caller's data is never mutated.
 */
export function setPath(path: ParsedPath, root: unknown, value: unknown): unknown {
  return setAt(path, path.segments, 0, root, value);
}

function setAt(path: ParsedPath, segs: readonly Segment[], i: number, node: unknown, value: unknown): unknown {
  if (i === segs.length) return value;
  const seg = segs[i]!;
  if (seg.t === 'prop') {
    if (node === undefined) node = {};
    if (!isObject(node))
      throw new PathSetError(`Unable to apply ResultPath '${path.text}': the value at '${seg.name}' is not an object`);
    const copy: Record<string, unknown> = { ...node };
    copy[seg.name] = setAt(path, segs, i + 1, node[seg.name], value);
    return copy;
  }
  if (seg.t === 'index') {
    if (!Array.isArray(node)) throw new PathSetError(`Unable to apply ResultPath '${path.text}': not an array at [${seg.i}]`);
    const idx = seg.i < 0 ? node.length + seg.i : seg.i;
    if (idx < 0 || idx >= node.length) throw new PathSetError(`Unable to apply ResultPath '${path.text}': index ${seg.i} out of bounds`);
    const copy = node.slice();
    copy[idx] = setAt(path, segs, i + 1, node[idx], value);
    return copy;
  }
  throw new PathSetError(`ResultPath '${path.text}' must be a reference path`);
}
