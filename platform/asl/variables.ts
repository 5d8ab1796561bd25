/**
 * Workflow variables (`Assign`, `$name`), for both query languages. A machine's top-level states share one scope;
 * each Parallel branch and Map iteration gets a child scope that reads the outer ones, and whose assignments stay
 * in it (AWS: inner scopes see outer variables, outer scopes never see inner ones).
 *
 * A scope's values object has the outer scope's values as its prototype, so a read is one property lookup; JSONata
 * (which takes own properties only) gets a flat copy, made once per change of the scope.
 */
import { StatesError } from './errors.js';
import type { VariableReader } from './jsonpath.js';

/** AWS's documented quotas: one variable, one state's Assign, and all variables visible in a scope. */
export const MAX_VARIABLE_BYTES = 256 * 1024;
export const MAX_ASSIGN_BYTES = 256 * 1024;
export const MAX_SCOPE_BYTES = 10 * 1024 * 1024;

/** `$states` belongs to Step Functions (the JSONata states' input, result, error output and context). */
export const RESERVED_VARIABLES: ReadonlySet<string> = new Set(['states']);
export const MAX_VARIABLE_NAME = 80;

export class Variables implements VariableReader {
  private readonly values: Record<string, unknown>;
  private readonly sizes = new Map<string, number>();
  private ownBytes = 0;
  private flat: Record<string, unknown> | null = null;

  private constructor(private readonly parent: Variables | null) {
    this.values = Object.create(parent ? parent.values : null) as Record<string, unknown>;
  }

  static root(): Variables {
    return new Variables(null);
  }

  /** The scope of a Parallel branch or a Map iteration. */
  child(): Variables {
    return new Variables(this);
  }

  read(name: string): unknown {
    return this.values[name];
  }

  /**
   * Every visible variable as own properties, for JSONata's bindings. An outer scope never changes while an inner
   * one lives (its state is still running), so only this scope's own assignments invalidate the copy.
   */
  bindings(): Readonly<Record<string, unknown>> {
    if (this.flat === null) {
      const flat: Record<string, unknown> = {};
      for (const k in this.values) flat[k] = this.values[k];
      this.flat = flat;
    }
    return this.flat;
  }

  /** Stores one state's assignments, all at once (they were all evaluated against the values before them). */
  assign(assigned: Readonly<Record<string, unknown>>, state: string): void {
    let total = 0;
    const sizes: Array<[string, number]> = [];
    for (const [name, value] of Object.entries(assigned)) {
      const size = jsonBytes(value, MAX_VARIABLE_BYTES);
      if (size > MAX_VARIABLE_BYTES) throw limitError(state, `the value assigned to the variable '${name}' is larger than ${MAX_VARIABLE_BYTES} bytes`);
      total += size;
      sizes.push([name, size]);
    }
    if (total > MAX_ASSIGN_BYTES) throw limitError(state, `the values assigned by the state are larger than ${MAX_ASSIGN_BYTES} bytes together`);
    let own = this.ownBytes;
    for (const [name, size] of sizes) own += size - (this.sizes.get(name) ?? 0);
    if (own + this.outerBytes() > MAX_SCOPE_BYTES) throw limitError(state, `the variables would take more than ${MAX_SCOPE_BYTES} bytes`);
    for (const [name, size] of sizes) this.sizes.set(name, size);
    this.ownBytes = own;
    this.flat = null;
    Object.assign(this.values, assigned);
  }

  private outerBytes(): number {
    let n = 0;
    for (let p = this.parent; p; p = p.parent) n += p.ownBytes;
    return n;
  }
}

function limitError(state: string, what: string): StatesError {
  return new StatesError('States.DataLimitExceeded', `An error occurred while executing the state '${state}'. The variable size limit was exceeded: ${what}.`);
}

/** The size of a value as JSON (UTF-8), counted without serialising it; stops counting once past `limit`. */
export function jsonBytes(v: unknown, limit: number): number {
  let n = 0;
  const walk = (x: unknown): void => {
    if (n > limit) return;
    if (typeof x === 'string') n += Buffer.byteLength(x) + 2;
    else if (typeof x === 'number' || typeof x === 'boolean') n += String(x).length;
    else if (x === null || x === undefined) n += 4;
    else if (Array.isArray(x)) {
      n += 1 + x.length;
      for (const y of x) walk(y);
    } else if (typeof x === 'object') {
      const entries = Object.entries(x);
      n += 1 + entries.length;
      for (const [k, y] of entries) {
        n += Buffer.byteLength(k) + 3;
        walk(y);
      }
    }
  };
  walk(v);
  return n;
}
