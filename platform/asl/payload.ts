/**
 * Payload templates (Parameters, ItemSelector, ResultSelector): JSON whose `"key.$"` fields take their value from a
 * path (`$...`, `$$...`) or an intrinsic function call. Compiled once into a closure; a template without any
 * dynamic field compiles to its constant (shared, never mutated).
 */
import { AslSyntaxError, runtimeError } from './errors.js';
import { evalIntrinsic, isIntrinsicCall, parseIntrinsic } from './intrinsics.js';
import { PathNotFound, evaluate, parsePath, type VariableReader } from './jsonpath.js';

/** Builds `$$` on first use; carries the state's workflow variables for `$name` paths. */
export type ContextThunk = (() => unknown) & { readonly vars?: VariableReader };
export type Template = (input: unknown, context: ContextThunk) => unknown;

/** A path-or-intrinsic expression, as in `"key.$"` values and Fail's ErrorPath/CausePath. */
export type Expr = (input: unknown, context: ContextThunk) => unknown;

function preview(v: unknown): string {
  const s = JSON.stringify(v) ?? 'null';
  return s.length > 256 ? s.slice(0, 253) + '...' : s;
}

/** Compiles a path or an intrinsic call; `field` names the field in run-time error messages. */
export function compileExpr(text: string, field: string): Expr {
  if (isIntrinsicCall(text)) {
    const node = parseIntrinsic(text);
    return (input, context) => evalIntrinsic(node, input, context);
  }
  const p = parsePath(text);
  return (input, context) => {
    try {
      return evaluate(p, input, context);
    } catch (e) {
      if (e instanceof PathNotFound)
        throw runtimeError(`The JSONPath '${text}' specified for the field '${field}' could not be found in the input '${preview(p.root === '$$' ? context() : input)}'`);
      throw e;
    }
  };
}

interface Entry {
  key: string;
  value: Template | null; // null = constant
  constant: unknown;
}

/** Compiles a payload template. Throws AslSyntaxError (with the offending key) for bad paths or intrinsics. */
export function compileTemplate(template: unknown, where = ''): Template {
  const t = build(template, where);
  if (t === null) return () => template;
  return t;
}

function build(value: unknown, where: string): Template | null {
  if (Array.isArray(value)) {
    const items = value.map((v, i) => build(v, `${where}[${i}]`));
    if (items.every((x) => x === null)) return null;
    return (input, ctx) => value.map((v, i) => (items[i] ? items[i]!(input, ctx) : v));
  }
  if (typeof value !== 'object' || value === null) return null;
  const entries: Entry[] = [];
  let dynamic = false;
  for (const [k, v] of Object.entries(value)) {
    if (k.endsWith('.$') && k.length > 2) {
      if (typeof v !== 'string') throw new AslSyntaxError(`the value of '${where}${k}' must be a path or an intrinsic function string`);
      let expr: Expr;
      try {
        expr = compileExpr(v, k);
      } catch (e) {
        throw new AslSyntaxError(`field '${where}${k}': ${(e as Error).message}`);
      }
      entries.push({ key: k.slice(0, -2), value: expr, constant: undefined });
      dynamic = true;
    } else {
      const sub = build(v, `${where}${k}.`);
      if (sub) dynamic = true;
      entries.push({ key: k, value: sub, constant: v });
    }
  }
  if (!dynamic) return null;
  return (input, ctx) => {
    const out: Record<string, unknown> = {};
    for (const e of entries) out[e.key] = e.value ? e.value(input, ctx) : e.constant;
    return out;
  };
}
