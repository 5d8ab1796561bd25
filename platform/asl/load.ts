/**
 * Turns a definition into the compiled model (model.ts): paths parsed, templates and Choice rules compiled, Next
 * names checked. While walking it also makes the semantic checks that need no schema (Next pointing nowhere,
 * unreachable states, no terminal state, Retry/Catch where a state cannot fail, States.ALL not last, unsupported
 * constructs...), reporting each with the state's name and the JSON path of the field. This module is light: the
 * sandbox agent loads definitions through it (validate.ts adds asl-validator on top, at deploy time only).
 */
import { MfError } from '../errors.js';
import { compileCondition, parseTimestamp } from './choice.js';
import { AslSyntaxError } from './errors.js';
import { compileJsonata, isJsonataExpression } from './jsonata.js';
import { VARIABLE_NAME, parsePath, type ParsedPath } from './jsonpath.js';
import type { Catcher, ChoiceRule, JsonataField, JsonataFields, MapState, Retrier, ResultPathSpec, Selector, State, StateMachine, SubMachine, TaskState } from './model.js';
import { compileExpr, compileTemplate, type Expr, type Template } from './payload.js';
import { functionNameFromRef, parseResource } from './resource.js';
import { MAX_VARIABLE_NAME, RESERVED_VARIABLES } from './variables.js';

/** One problem found in a definition: the state it is in (null = top level) and the JSON path of the field. */
export interface Problem {
  state: string | null;
  path: string;
  message: string;
}

export interface LoadReport {
  invalid: Problem[];
  unsupported: Problem[];
}

const PREDEFINED_ERRORS = new Set([
  'States.ALL',
  'States.DataLimitExceeded',
  'States.ExceedToleratedFailureThreshold',
  'States.HeartbeatTimeout',
  'States.IntrinsicFailure',
  'States.ItemReaderFailed',
  'States.NoChoiceMatched',
  'States.ParameterPathFailure',
  'States.Permissions',
  'States.ResultPathMatchFailure',
  'States.ResultWriterFailed',
  'States.Runtime',
  'States.TaskFailed',
  'States.Timeout',
  'States.BranchFailed',
  'States.QueryEvaluationError',
]);

const TYPES = new Set(['Pass', 'Task', 'Choice', 'Wait', 'Succeed', 'Fail', 'Parallel', 'Map']);
const CAN_FAIL = new Set(['Task', 'Parallel', 'Map']);

type QueryLanguage = 'JSONPath' | 'JSONata';

/** Fields only a JSONPath state may have (a JSONata state uses Arguments, Output and Assign instead). */
const JSONPATH_ONLY = [
  'InputPath',
  'OutputPath',
  'Parameters',
  'ResultSelector',
  'ResultPath',
  'Result',
  'ItemsPath',
  'SecondsPath',
  'TimestampPath',
  'TimeoutSecondsPath',
  'HeartbeatSecondsPath',
  'MaxConcurrencyPath',
  'ToleratedFailureCountPath',
  'ToleratedFailurePercentagePath',
  'ErrorPath',
  'CausePath',
];
/** Fields only a JSONata state may have. */
const JSONATA_ONLY = ['Arguments', 'Output', 'Items'];

/** Which fields of each state type may hold JSONata values (besides Choice rules and catchers). */
const JSONATA_FIELDS: Record<string, readonly JsonataField[]> = {
  Pass: ['Output', 'Assign'],
  Task: ['Arguments', 'Output', 'Assign', 'TimeoutSeconds', 'HeartbeatSeconds'],
  Choice: ['Output', 'Assign'],
  Wait: ['Seconds', 'Timestamp', 'Output', 'Assign'],
  Succeed: ['Output'],
  Fail: ['Error', 'Cause'],
  Parallel: ['Arguments', 'Output', 'Assign'],
  Map: ['Items', 'ItemSelector', 'MaxConcurrency', 'ToleratedFailureCount', 'ToleratedFailurePercentage', 'Output', 'Assign'],
};
/** Numeric fields that a JSONata state may also give as an expression. */
const NUMERIC_OR_EXPRESSION = new Set(['TimeoutSeconds', 'HeartbeatSeconds', 'Seconds', 'Timestamp', 'MaxConcurrency', 'ToleratedFailureCount', 'ToleratedFailurePercentage', 'Error', 'Cause']);
/** Assign is allowed on these types only (AWS: not on Succeed and Fail). */
const CAN_ASSIGN = new Set(['Pass', 'Task', 'Choice', 'Wait', 'Parallel', 'Map']);

/** A variable scope while loading: the top-level machine, or a Parallel branch / Map processor inside it. */
interface Scope {
  readonly parent: Scope | null;
  readonly assigned: Set<string>;
  readonly refs: Array<{ name: string; state: string; path: string }>;
}

/** `$name` references in a JSONPath field value (a path, or an intrinsic call with path arguments). */
function jsonPathVariables(text: string): string[] {
  const unquoted = text.replace(/'(?:\\.|[^'\\])*'/g, "''");
  return [...unquoted.matchAll(/(?<![$\p{ID_Continue}])\$(\p{ID_Start}\p{ID_Continue}*)/gu)].map((m) => m[1]!);
}

/** Distributed-only fields, with why they are rejected. */
const UNSUPPORTED_FIELDS: Record<string, string> = {
  Credentials: 'cross-account Task Credentials are not supported',
  ItemReader: 'Map ItemReader (Distributed Map) is not supported',
  ResultWriter: 'Map ResultWriter (Distributed Map) is not supported',
  ItemBatcher: 'Map ItemBatcher (Distributed Map) is not supported',
};

export function fmtKey(base: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${base}.${key}` : `${base}['${key.replace(/'/g, "\\'")}']`;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** AWS's ceiling for its whole-second fields (Wait Seconds, TimeoutSeconds, IntervalSeconds, MaxAttempts...). */
const MAX_SECONDS = 99_999_999;
/** AWS: MaxDelaySeconds must be less than 31622401 (a year and a day). */
const MAX_DELAY_SECONDS = 31_622_400;
const isNonNegInt = (v: unknown, max = MAX_SECONDS): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
const isPosInt = (v: unknown, max = MAX_SECONDS): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= max;

class Loader {
  readonly report: LoadReport = { invalid: [], unsupported: [] };
  readonly functionNames = new Set<string>();
  /** The machine's QueryLanguage: the default of every state. */
  topLanguage: QueryLanguage = 'JSONPath';
  scope: Scope | null = null;
  readonly scopes: Scope[] = [];
  /** Set when loading for the agent: stop at the first problem. */
  constructor(
    readonly failFast: boolean,
    readonly knownFunctions: ReadonlySet<string> | undefined,
  ) {}

  invalid(state: string | null, path: string, message: string): void {
    this.report.invalid.push({ state, path, message });
    if (this.failFast) throw new StopLoading();
  }
  unsupported(state: string | null, path: string, message: string): void {
    this.report.unsupported.push({ state, path, message });
    if (this.failFast) throw new StopLoading();
  }

  // -------------------------------------------------------------- helpers that report and return a fallback
  path(state: string, at: string, v: unknown, opts: { definite?: boolean; noContext?: boolean } = {}): ParsedPath | undefined {
    if (typeof v !== 'string') {
      this.invalid(state, at, 'must be a JSONPath string');
      return undefined;
    }
    let p: ParsedPath;
    try {
      p = parsePath(v);
    } catch (e) {
      this.invalid(state, at, (e as Error).message);
      return undefined;
    }
    if (opts.definite && !p.definite) this.invalid(state, at, `'${v}' must be a reference path (names and indexes only, no wildcards or filters)`);
    if (opts.noContext && p.root !== '$') this.invalid(state, at, `'${v}' must start with '$' (the context object cannot be written)`);
    return p;
  }
  selector(state: string, at: string, obj: Record<string, unknown>, key: string): Selector {
    if (!(key in obj)) return undefined;
    const v = obj[key];
    if (v === null) return null;
    const p = this.path(state, fmtKey(at, key), v);
    return p && p.segments.length === 0 && p.root === '$' ? undefined : p;
  }
  resultPath(state: string, at: string, obj: Record<string, unknown>): ResultPathSpec {
    if (!('ResultPath' in obj)) return undefined;
    const v = obj.ResultPath;
    if (v === null) return null;
    const p = this.path(state, `${at}.ResultPath`, v, { definite: true, noContext: true });
    return p && p.segments.length === 0 ? undefined : p;
  }
  template(state: string, at: string, obj: Record<string, unknown>, key: string): Template | null {
    if (!(key in obj)) return null;
    try {
      return compileTemplate(obj[key]);
    } catch (e) {
      this.invalid(state, fmtKey(at, key), (e as Error).message);
      return null;
    }
  }
  expr(state: string, at: string, v: unknown, field: string): Expr | null {
    if (typeof v !== 'string') {
      this.invalid(state, at, 'must be a path or an intrinsic function string');
      return null;
    }
    try {
      return compileExpr(v, field);
    } catch (e) {
      this.invalid(state, at, (e as Error).message);
      return null;
    }
  }

  /** A state's query language: its own QueryLanguage or the machine's (a JSONata machine cannot have JSONPath states). */
  language(state: string, at: string, s: Record<string, unknown>): QueryLanguage {
    if (!('QueryLanguage' in s)) return this.topLanguage;
    const q = s.QueryLanguage;
    if (q !== 'JSONPath' && q !== 'JSONata') {
      this.invalid(state, `${at}.QueryLanguage`, `QueryLanguage must be 'JSONPath' or 'JSONata', got ${JSON.stringify(q)}`);
      return this.topLanguage;
    }
    if (q === 'JSONPath' && this.topLanguage === 'JSONata')
      this.invalid(state, `${at}.QueryLanguage`, "a state cannot use JSONPath when the state machine's QueryLanguage is JSONata");
    return q;
  }

  /** Compiles the JSONata values among `fields` of `obj` (numeric fields only when they are expressions). */
  jsonata(state: string, at: string, obj: Record<string, unknown>, fields: readonly JsonataField[]): JsonataFields {
    const out: Partial<Record<JsonataField, ReturnType<typeof compileJsonata>>> = {};
    for (const f of fields) {
      if (!(f in obj) || (NUMERIC_OR_EXPRESSION.has(f) && !isJsonataExpression(obj[f]))) continue;
      if (f === 'Assign' && !this.assignNames(state, `${at}.Assign`, obj.Assign, false)) continue;
      try {
        const v = compileJsonata(obj[f], f);
        for (const name of v.variables) this.reference(name, state, `${at}.${f}`);
        out[f] = v;
      } catch (e) {
        if (e instanceof AslSyntaxError) this.invalid(state, `${at}.${f}`, e.message);
        else throw e;
      }
    }
    return out;
  }

  /** A JSONPath Assign: checks the names and compiles it as a payload template. */
  assignTemplate(state: string, at: string, obj: Record<string, unknown>): Template | null {
    if (!('Assign' in obj) || !this.assignNames(state, `${at}.Assign`, obj.Assign, true)) return null;
    return this.template(state, at, obj, 'Assign');
  }

  /** Checks Assign's variable names (AWS: Unicode identifiers of at most 80 characters, not `states`) and records them. */
  assignNames(state: string, at: string, v: unknown, jsonPath: boolean): boolean {
    if (!isObj(v)) {
      this.invalid(state, at, 'Assign must be an object of variable names and values');
      return false;
    }
    let ok = true;
    for (const key of Object.keys(v)) {
      const name = jsonPath && key.endsWith('.$') ? key.slice(0, -2) : key;
      const problem = !VARIABLE_NAME.test(name)
        ? 'is not a valid variable name (a letter, then letters, digits or underscores)'
        : name.length > MAX_VARIABLE_NAME
          ? `is longer than ${MAX_VARIABLE_NAME} characters`
          : RESERVED_VARIABLES.has(name)
            ? 'is reserved by Step Functions'
            : null;
      if (problem) {
        this.invalid(state, fmtKey(at, key), `'${name}' ${problem}`);
        ok = false;
      } else this.scope?.assigned.add(name);
    }
    return ok;
  }

  reference(name: string, state: string, path: string): void {
    this.scope?.refs.push({ name, state, path });
  }

  /** Records the `$name` references of a JSONPath state's paths, templates and intrinsic calls (not nested machines). */
  jsonPathReferences(state: string, at: string, value: unknown, key: string): void {
    if (typeof value === 'string') {
      if (key.endsWith('.$') || key.endsWith('Path') || key === 'Variable') for (const name of jsonPathVariables(value)) this.reference(name, state, at);
    } else if (Array.isArray(value)) value.forEach((v, i) => this.jsonPathReferences(state, `${at}[${i}]`, v, key));
    else if (isObj(value))
      for (const [k, v] of Object.entries(value)) {
        if (k === 'Result' || k === 'Branches' || k === 'ItemProcessor' || k === 'Iterator') continue;
        this.jsonPathReferences(state, fmtKey(at, k), v, k);
      }
  }

  /** After loading: every `$name` read must be assigned in its scope or an enclosing one (AWS checks this at create time). */
  checkReferences(): void {
    for (const scope of this.scopes)
      for (const ref of scope.refs) {
        let s: Scope | null = scope;
        while (s && !s.assigned.has(ref.name)) s = s.parent;
        if (!s) this.invalid(ref.state, ref.path, `the variable '$${ref.name}' is never assigned (by an Assign in this workflow or an enclosing one)`);
      }
  }

  errorEquals(state: string, at: string, v: unknown): string[] {
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string')) {
      this.invalid(state, at, 'ErrorEquals must be a non-empty array of error names');
      return [];
    }
    for (const [i, name] of v.entries()) {
      if (name.startsWith('States.') && !PREDEFINED_ERRORS.has(name) && !name.startsWith('States.Http.'))
        this.invalid(state, `${at}[${i}]`, `'${name}' is not a predefined error name (names starting with 'States.' are reserved)`);
    }
    if (v.includes('States.ALL') && v.length > 1) this.invalid(state, at, "'States.ALL' must appear alone in ErrorEquals");
    return v as string[];
  }

  retriers(state: string, at: string, v: unknown): Retrier[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.invalid(state, at, 'Retry must be an array of retriers');
      return [];
    }
    return v.map((r, i) => {
      const rat = `${at}[${i}]`;
      if (!isObj(r)) {
        this.invalid(state, rat, 'a retrier must be an object');
        return { errorEquals: [], intervalSeconds: 1, maxAttempts: 0, backoffRate: 2, maxDelaySeconds: undefined, jitter: 'NONE' as const };
      }
      const errorEquals = this.errorEquals(state, `${rat}.ErrorEquals`, r.ErrorEquals);
      if (errorEquals.includes('States.ALL') && i !== v.length - 1) this.invalid(state, `${rat}.ErrorEquals`, "a retrier with 'States.ALL' must be the last one");
      if (r.IntervalSeconds !== undefined && !isPosInt(r.IntervalSeconds)) this.invalid(state, `${rat}.IntervalSeconds`, `must be a positive integer up to ${MAX_SECONDS}`);
      if (r.MaxAttempts !== undefined && !isNonNegInt(r.MaxAttempts)) this.invalid(state, `${rat}.MaxAttempts`, `must be a non-negative integer up to ${MAX_SECONDS}`);
      if (r.BackoffRate !== undefined && !(typeof r.BackoffRate === 'number' && r.BackoffRate >= 1)) this.invalid(state, `${rat}.BackoffRate`, 'must be a number >= 1.0');
      if (r.MaxDelaySeconds !== undefined && !isPosInt(r.MaxDelaySeconds, MAX_DELAY_SECONDS)) this.invalid(state, `${rat}.MaxDelaySeconds`, `must be a positive integer up to ${MAX_DELAY_SECONDS}`);
      if (r.JitterStrategy !== undefined && r.JitterStrategy !== 'FULL' && r.JitterStrategy !== 'NONE') this.invalid(state, `${rat}.JitterStrategy`, "must be 'FULL' or 'NONE'");
      return {
        errorEquals,
        intervalSeconds: typeof r.IntervalSeconds === 'number' ? r.IntervalSeconds : 1,
        maxAttempts: typeof r.MaxAttempts === 'number' ? r.MaxAttempts : 3,
        backoffRate: typeof r.BackoffRate === 'number' ? r.BackoffRate : 2,
        maxDelaySeconds: typeof r.MaxDelaySeconds === 'number' ? r.MaxDelaySeconds : undefined,
        jitter: r.JitterStrategy === 'FULL' ? 'FULL' : 'NONE',
      };
    });
  }

  catchers(state: string, at: string, v: unknown, targets: string[], lang: QueryLanguage): Catcher[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.invalid(state, at, 'Catch must be an array of catchers');
      return [];
    }
    return v.map((c, i) => {
      const cat = `${at}[${i}]`;
      if (!isObj(c)) {
        this.invalid(state, cat, 'a catcher must be an object');
        return { errorEquals: [], next: '', resultPath: undefined, assign: null, jsonata: null };
      }
      const foreign = lang === 'JSONata' ? 'ResultPath' : 'Output';
      if (foreign in c) this.invalid(state, `${cat}.${foreign}`, `a catcher of a ${lang} state cannot have ${foreign}`);
      const errorEquals = this.errorEquals(state, `${cat}.ErrorEquals`, c.ErrorEquals);
      if (errorEquals.includes('States.ALL') && i !== v.length - 1) this.invalid(state, `${cat}.ErrorEquals`, "a catcher with 'States.ALL' must be the last one");
      if (typeof c.Next !== 'string') this.invalid(state, `${cat}.Next`, 'a catcher needs a Next state name');
      else targets.push(c.Next, `${cat}.Next`);
      return {
        errorEquals,
        next: typeof c.Next === 'string' ? c.Next : '',
        resultPath: lang === 'JSONPath' ? this.resultPath(state, cat, c) : undefined,
        assign: lang === 'JSONPath' ? this.assignTemplate(state, cat, c) : null,
        jsonata: lang === 'JSONata' ? this.jsonata(state, cat, c, ['Output', 'Assign']) : null,
      };
    });
  }

  // -------------------------------------------------------------- machines and states
  /** A machine (top level, Parallel branch or Map processor) in a variable scope of its own. */
  machine(def: Record<string, unknown>, at: string, owner: string | null): SubMachine {
    const outer = this.scope;
    this.scope = { parent: outer, assigned: new Set(), refs: [] };
    this.scopes.push(this.scope);
    try {
      return this.machineStates(def, at, owner);
    } finally {
      this.scope = outer;
    }
  }

  machineStates(def: Record<string, unknown>, at: string, owner: string | null): SubMachine {
    const states = new Map<string, State>();
    if (owner === null && 'QueryLanguage' in def) {
      if (def.QueryLanguage === 'JSONPath' || def.QueryLanguage === 'JSONata') this.topLanguage = def.QueryLanguage;
      else this.invalid(null, `${at}.QueryLanguage`, `QueryLanguage must be 'JSONPath' or 'JSONata', got ${JSON.stringify(def.QueryLanguage)}`);
    }
    if (typeof def.StartAt !== 'string') this.invalid(owner, `${at}.StartAt`, 'StartAt must be the name of a state');
    if (!isObj(def.States) || Object.keys(def.States).length === 0) {
      this.invalid(owner, `${at}.States`, 'States must be a non-empty object');
      return { startAt: String(def.StartAt), states };
    }
    const edges = new Map<string, string[]>(); // state -> [target, path, target, path...]
    for (const [name, raw] of Object.entries(def.States)) {
      const sat = fmtKey(`${at}.States`, name);
      const targets: string[] = [];
      edges.set(name, targets);
      if (name.length === 0 || name.length > 80) this.invalid(name, sat, 'a state name must have 1 to 80 characters');
      if (!isObj(raw)) {
        this.invalid(name, sat, 'a state must be an object');
        continue;
      }
      const s = this.state(name, raw, sat, targets);
      if (s) states.set(name, s);
    }
    // Transitions, reachability, terminal states.
    const names = Object.keys(def.States);
    const startAt = typeof def.StartAt === 'string' ? def.StartAt : '';
    if (typeof def.StartAt === 'string' && !names.includes(startAt)) this.invalid(owner, `${at}.StartAt`, `StartAt '${startAt}' is not a state of this machine`);
    for (const [name, targets] of edges) {
      for (let i = 0; i < targets.length; i += 2) {
        const t = targets[i]!;
        if (!names.includes(t)) this.invalid(name, targets[i + 1]!, `'${t}' is not a state of this machine${owner ? ` (a branch or item processor can only move between its own states)` : ''}`);
      }
    }
    const seen = new Set<string>();
    const queue = names.includes(startAt) ? [startAt] : [];
    while (queue.length) {
      const n = queue.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      const t = edges.get(n) ?? [];
      for (let i = 0; i < t.length; i += 2) if (names.includes(t[i]!) && !seen.has(t[i]!)) queue.push(t[i]!);
    }
    if (queue.length === 0 && names.includes(startAt))
      for (const n of names) if (!seen.has(n)) this.invalid(n, fmtKey(`${at}.States`, n), `state '${n}' is not reachable from StartAt '${startAt}'`);
    const terminal = names.some((n) => {
      const s = (def.States as Record<string, unknown>)[n];
      return isObj(s) && (s.End === true || s.Type === 'Succeed' || s.Type === 'Fail');
    });
    if (!terminal) this.invalid(owner, `${at}.States`, 'the machine has no terminal state (End: true, Succeed or Fail)');
    return { startAt, states };
  }

  state(name: string, s: Record<string, unknown>, at: string, targets: string[]): State | null {
    const type = s.Type;
    if (typeof type !== 'string' || !TYPES.has(type)) {
      this.invalid(name, `${at}.Type`, `Type must be one of ${[...TYPES].join(', ')}`);
      return null;
    }
    const lang = this.language(name, at, s);
    for (const [field, why] of Object.entries(UNSUPPORTED_FIELDS)) if (field in s) this.unsupported(name, fmtKey(at, field), why);
    for (const field of lang === 'JSONata' ? JSONPATH_ONLY : JSONATA_ONLY)
      if (field in s)
        this.invalid(
          name,
          fmtKey(at, field),
          lang === 'JSONata' ? `the field '${field}' is not supported in a JSONata state (use Arguments, Output and Assign)` : `the field '${field}' is only supported in JSONata states (QueryLanguage: JSONata)`,
        );
    if ('Assign' in s && !CAN_ASSIGN.has(type)) this.invalid(name, `${at}.Assign`, `a ${type} state cannot have Assign`);
    if (lang === 'JSONata')
      for (const field of JSONATA_ONLY) if (field in s && !JSONATA_FIELDS[type]!.includes(field as JsonataField)) this.invalid(name, `${at}.${field}`, `a ${type} state cannot have ${field}`);
    if (lang === 'JSONPath') this.jsonPathReferences(name, at, s, '');
    if (!CAN_FAIL.has(type)) {
      for (const f of ['Retry', 'Catch'])
        if (f in s) this.invalid(name, `${at}.${f}`, `a ${type} state cannot have ${f} (only Task, Parallel and Map states can fail with errors that can be retried or caught)`);
    }
    // Next / End
    let next: string | null = null;
    if (type === 'Choice' || type === 'Succeed' || type === 'Fail') {
      if ('Next' in s || 'End' in s) this.invalid(name, `${at}.${'Next' in s ? 'Next' : 'End'}`, `a ${type} state cannot have Next or End`);
    } else {
      const hasNext = typeof s.Next === 'string';
      const isEnd = s.End === true;
      if (hasNext === isEnd) this.invalid(name, at, `a ${type} state needs exactly one of Next (a state name) or End: true`);
      if ('End' in s && typeof s.End !== 'boolean') this.invalid(name, `${at}.End`, 'End must be a boolean');
      if (hasNext) {
        next = s.Next as string;
        targets.push(next, `${at}.Next`);
      }
    }
    const common = {
      name,
      next,
      inputPath: this.selector(name, at, s, 'InputPath'),
      outputPath: this.selector(name, at, s, 'OutputPath'),
      enteredEvent: `${type}StateEntered`,
      exitedEvent: `${type}StateExited`,
      assign: lang === 'JSONPath' && CAN_ASSIGN.has(type) ? this.assignTemplate(name, at, s) : null,
      jsonata: lang === 'JSONata' ? this.jsonata(name, at, s, JSONATA_FIELDS[type]!) : null,
    };
    switch (type) {
      case 'Pass':
        return {
          ...common,
          type,
          parameters: this.template(name, at, s, 'Parameters'),
          hasResult: 'Result' in s,
          result: s.Result,
          resultPath: this.resultPath(name, at, s),
        };
      case 'Succeed':
        return { ...common, type };
      case 'Fail': {
        for (const [a, b] of [['Error', 'ErrorPath'], ['Cause', 'CausePath']] as const) {
          if (a in s && b in s) this.invalid(name, `${at}.${b}`, `a Fail state cannot have both ${a} and ${b}`);
          if (a in s && typeof s[a] !== 'string') this.invalid(name, `${at}.${a}`, 'must be a string');
        }
        return {
          ...common,
          type,
          error: typeof s.Error === 'string' ? s.Error : null,
          cause: typeof s.Cause === 'string' ? s.Cause : null,
          errorPath: 'ErrorPath' in s ? this.expr(name, `${at}.ErrorPath`, s.ErrorPath, 'ErrorPath') : null,
          causePath: 'CausePath' in s ? this.expr(name, `${at}.CausePath`, s.CausePath, 'CausePath') : null,
          errorPathText: typeof s.ErrorPath === 'string' ? s.ErrorPath : null,
          causePathText: typeof s.CausePath === 'string' ? s.CausePath : null,
        };
      }
      case 'Wait': {
        const present = ['Seconds', 'SecondsPath', 'Timestamp', 'TimestampPath'].filter((k) => k in s);
        if (present.length !== 1) this.invalid(name, at, `a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath (found ${present.length ? present.join(', ') : 'none'})`);
        if ('Seconds' in s && !isNonNegInt(s.Seconds) && !common.jsonata?.Seconds) this.invalid(name, `${at}.Seconds`, `must be a non-negative integer up to ${MAX_SECONDS}`);
        const ts = 'Timestamp' in s && !common.jsonata?.Timestamp ? parseTimestamp(s.Timestamp) : undefined;
        if (ts === null) this.invalid(name, `${at}.Timestamp`, 'must be an RFC 3339 timestamp such as 2016-03-14T01:59:00Z');
        return {
          ...common,
          type,
          seconds: typeof s.Seconds === 'number' ? s.Seconds : undefined,
          secondsPath: 'SecondsPath' in s ? this.path(name, `${at}.SecondsPath`, s.SecondsPath, { definite: true }) : undefined,
          timestamp: ts ?? undefined,
          timestampPath: 'TimestampPath' in s ? this.path(name, `${at}.TimestampPath`, s.TimestampPath, { definite: true }) : undefined,
        };
      }
      case 'Choice': {
        const choices: ChoiceRule[] = [];
        if (!Array.isArray(s.Choices) || s.Choices.length === 0) this.invalid(name, `${at}.Choices`, 'Choices must be a non-empty array of rules');
        else s.Choices.forEach((rule, i) => this.choiceRule(name, `${at}.Choices[${i}]`, rule, targets, choices, common));
        if ('Default' in s) {
          if (typeof s.Default !== 'string') this.invalid(name, `${at}.Default`, 'Default must be a state name');
          else targets.push(s.Default, `${at}.Default`);
        }
        return { ...common, type, choices, default: typeof s.Default === 'string' ? s.Default : null };
      }
      case 'Task':
        return this.task(name, s, at, common, targets);
      case 'Parallel': {
        const branches: SubMachine[] = [];
        if (!Array.isArray(s.Branches) || s.Branches.length === 0) this.invalid(name, `${at}.Branches`, 'Branches must be a non-empty array of state machines');
        else
          s.Branches.forEach((b, i) => {
            if (!isObj(b)) this.invalid(name, `${at}.Branches[${i}]`, 'a branch must be an object with StartAt and States');
            else branches.push(this.machine(b, `${at}.Branches[${i}]`, name));
          });
        return {
          ...common,
          type,
          branches,
          parameters: this.template(name, at, s, 'Parameters'),
          resultSelector: this.template(name, at, s, 'ResultSelector'),
          resultPath: this.resultPath(name, at, s),
          retry: this.retriers(name, `${at}.Retry`, s.Retry),
          catch: this.catchers(name, `${at}.Catch`, s.Catch, targets, common.jsonata ? 'JSONata' : 'JSONPath'),
        };
      }
      case 'Map':
        return this.map(name, s, at, common, targets);
    }
    return null;
  }

  /**
   * A top-level Choice rule: JSONPath operators, or (JSONata) a Condition; either may have Assign (and Output). A
   * rule without its own Assign or Output uses the state's, which are also what the Default transition applies.
   */
  choiceRule(name: string, rat: string, rule: unknown, targets: string[], choices: ChoiceRule[], state: CommonFields): void {
    const jsonata = state.jsonata !== null;
    if (!isObj(rule) || typeof rule.Next !== 'string') {
      this.invalid(name, `${rat}.Next`, 'a top-level choice rule needs a Next state name');
      return;
    }
    targets.push(rule.Next, `${rat}.Next`);
    if (jsonata) {
      for (const k of Object.keys(rule))
        if (!['Condition', 'Next', 'Assign', 'Output', 'Comment'].includes(k)) this.invalid(name, fmtKey(rat, k), `a JSONata choice rule has Condition, Next, Assign and Output only, not '${k}'`);
      if (!('Condition' in rule)) this.invalid(name, `${rat}.Condition`, 'a JSONata choice rule needs a Condition');
      else if (typeof rule.Condition !== 'boolean' && !isJsonataExpression(rule.Condition)) this.invalid(name, `${rat}.Condition`, "must be a JSONata expression '{% ... %}' or a boolean");
      const own = this.jsonata(name, rat, rule, ['Condition', 'Assign', 'Output']);
      const constant = rule.Condition === true;
      const fields = { ...own, Output: own.Output ?? state.jsonata!.Output, Assign: own.Assign ?? state.jsonata!.Assign };
      choices.push({ cond: () => constant, next: rule.Next, assign: null, jsonata: fields });
      return;
    }
    if ('Condition' in rule || 'Output' in rule) this.invalid(name, `${rat}.${'Condition' in rule ? 'Condition' : 'Output'}`, 'only JSONata choice rules have Condition and Output');
    try {
      const { Next: _next, Comment: _c, Assign: _a, ...cond } = rule;
      choices.push({ cond: compileCondition(cond, rat), next: rule.Next, assign: this.assignTemplate(name, rat, rule) ?? state.assign, jsonata: null });
    } catch (e) {
      if (e instanceof AslSyntaxError) this.invalid(name, rat, e.message.startsWith(rat) ? e.message.slice(rat.length + 2) : e.message);
      else throw e;
    }
  }

  task(name: string, s: Record<string, unknown>, at: string, common: CommonFields, targets: string[]): State | null {
    const spec = parseResource(s.Resource);
    let resource: TaskState['resource'] | null = null;
    if (spec.kind === 'invalid') this.invalid(name, `${at}.Resource`, spec.reason);
    else if (spec.kind === 'unsupported') this.unsupported(name, `${at}.Resource`, spec.reason);
    else resource = spec;
    if (spec.kind === 'lambda') this.useFunction(name, `${at}.Resource`, spec.functionName);
    if (spec.kind === 'lambda-invoke') {
      const field = common.jsonata ? 'Arguments' : 'Parameters';
      const p = s[field];
      if (!isObj(p) || !('FunctionName' in p || 'FunctionName.$' in p)) this.invalid(name, `${at}.${field}.FunctionName`, `arn:aws:states:::lambda:invoke needs ${field}.FunctionName`);
      else if (typeof p.FunctionName === 'string' && !isJsonataExpression(p.FunctionName)) {
        const fn = functionNameFromRef(p.FunctionName);
        if (fn === null) this.invalid(name, `${at}.${field}.FunctionName`, `'${p.FunctionName}' is not a function name or Lambda function ARN`);
        else this.useFunction(name, `${at}.${field}.FunctionName`, fn);
      } else if ('FunctionName' in p && typeof p.FunctionName !== 'string') this.invalid(name, `${at}.${field}.FunctionName`, 'must be a string');
      if (isObj(p) && 'InvocationType' in p && p.InvocationType !== 'RequestResponse')
        this.unsupported(name, `${at}.${field}.InvocationType`, 'only the RequestResponse invocation type is supported');
    }
    if (spec.kind === 'integration') {
      // A session's functions named literally are checked at deploy, as a Task's function is.
      const field = common.jsonata ? 'Arguments' : 'Parameters';
      const p = s[field];
      const functions = isObj(p) ? p.functions : undefined;
      if (Array.isArray(functions))
        functions.forEach((f, i) => {
          if (isObj(f) && typeof f.function === 'string' && !isJsonataExpression(f.function)) this.useFunction(name, `${at}.${field}.functions[${i}].function`, f.function);
        });
    }
    const num = (k: string, pred: (v: unknown) => boolean, msg: string): number | undefined => {
      if (!(k in s) || common.jsonata?.[k as JsonataField]) return undefined;
      if (!pred(s[k])) this.invalid(name, `${at}.${k}`, msg);
      return typeof s[k] === 'number' ? (s[k] as number) : undefined;
    };
    const timeoutSeconds = num('TimeoutSeconds', isPosInt, `must be a positive integer up to ${MAX_SECONDS}`);
    const heartbeatSeconds = num('HeartbeatSeconds', isPosInt, `must be a positive integer up to ${MAX_SECONDS}`);
    for (const [a, b] of [['TimeoutSeconds', 'TimeoutSecondsPath'], ['HeartbeatSeconds', 'HeartbeatSecondsPath']] as const)
      if (a in s && b in s) this.invalid(name, `${at}.${b}`, `a Task cannot have both ${a} and ${b}`);
    if (timeoutSeconds !== undefined && heartbeatSeconds !== undefined && heartbeatSeconds >= timeoutSeconds)
      this.invalid(name, `${at}.HeartbeatSeconds`, 'HeartbeatSeconds must be smaller than TimeoutSeconds');
    if (!resource) return null;
    return {
      ...common,
      type: 'Task',
      resource,
      resourceText: String(s.Resource),
      parameters: this.template(name, at, s, 'Parameters'),
      resultSelector: this.template(name, at, s, 'ResultSelector'),
      resultPath: this.resultPath(name, at, s),
      retry: this.retriers(name, `${at}.Retry`, s.Retry),
      catch: this.catchers(name, `${at}.Catch`, s.Catch, targets, common.jsonata ? 'JSONata' : 'JSONPath'),
      timeoutSeconds,
      timeoutSecondsPath: 'TimeoutSecondsPath' in s ? this.path(name, `${at}.TimeoutSecondsPath`, s.TimeoutSecondsPath, { definite: true }) : undefined,
      heartbeatSeconds,
      heartbeatSecondsPath: 'HeartbeatSecondsPath' in s ? this.path(name, `${at}.HeartbeatSecondsPath`, s.HeartbeatSecondsPath, { definite: true }) : undefined,
    };
  }

  useFunction(state: string, at: string, fn: string): void {
    this.functionNames.add(fn);
    if (this.knownFunctions && !this.knownFunctions.has(fn))
      this.invalid(state, at, `function '${fn}' is not a function of this app (known: ${[...this.knownFunctions].sort().join(', ') || 'none'})`);
  }

  map(name: string, s: Record<string, unknown>, at: string, common: CommonFields, targets: string[]): MapState {
    const hasProc = 'ItemProcessor' in s;
    const hasIter = 'Iterator' in s;
    if (hasProc === hasIter) this.invalid(name, at, 'a Map state needs exactly one of ItemProcessor or Iterator');
    const procKey = hasProc ? 'ItemProcessor' : 'Iterator';
    const proc = s[procKey];
    let processor: SubMachine = { startAt: '', states: new Map() };
    if (!isObj(proc)) {
      if (hasProc || hasIter) this.invalid(name, `${at}.${procKey}`, 'must be an object with StartAt and States');
    } else {
      const cfg = proc.ProcessorConfig;
      if (cfg !== undefined) {
        if (!isObj(cfg)) this.invalid(name, `${at}.${procKey}.ProcessorConfig`, 'must be an object');
        else if (cfg.Mode !== undefined && cfg.Mode !== 'INLINE') this.unsupported(name, `${at}.${procKey}.ProcessorConfig.Mode`, `Map mode '${String(cfg.Mode)}' is not supported (only INLINE)`);
      }
      processor = this.machine(proc, `${at}.${procKey}`, name);
    }
    if ('ItemSelector' in s && 'Parameters' in s) this.invalid(name, `${at}.Parameters`, 'a Map state cannot have both ItemSelector and Parameters');
    const intField = (k: string, max?: number): number | undefined => {
      if (!(k in s) || common.jsonata?.[k as JsonataField]) return undefined;
      const v = s[k];
      const ok = typeof v === 'number' && v >= 0 && (max === undefined ? Number.isInteger(v) : v <= max);
      if (!ok) this.invalid(name, `${at}.${k}`, max === undefined ? 'must be a non-negative integer' : `must be a number from 0 to ${max}`);
      return ok ? (v as number) : undefined;
    };
    const pathField = (k: string): ParsedPath | undefined => (k in s ? this.path(name, `${at}.${k}`, s[k], { definite: true }) : undefined);
    for (const [a, b] of [['MaxConcurrency', 'MaxConcurrencyPath'], ['ToleratedFailureCount', 'ToleratedFailureCountPath'], ['ToleratedFailurePercentage', 'ToleratedFailurePercentagePath']])
      if (a! in s && b! in s) this.invalid(name, `${at}.${b}`, `a Map state cannot have both ${a} and ${b}`);
    return {
      ...common,
      type: 'Map',
      processor,
      itemsPath: 'ItemsPath' in s ? this.path(name, `${at}.ItemsPath`, s.ItemsPath) : undefined,
      itemSelector: common.jsonata ? null : this.template(name, at, s, 'ItemSelector' in s ? 'ItemSelector' : 'Parameters'),
      maxConcurrency: intField('MaxConcurrency') ?? 0,
      maxConcurrencyPath: pathField('MaxConcurrencyPath'),
      toleratedFailureCount: intField('ToleratedFailureCount'),
      toleratedFailureCountPath: pathField('ToleratedFailureCountPath'),
      toleratedFailurePercentage: intField('ToleratedFailurePercentage', 100),
      toleratedFailurePercentagePath: pathField('ToleratedFailurePercentagePath'),
      resultSelector: this.template(name, at, s, 'ResultSelector'),
      resultPath: this.resultPath(name, at, s),
      retry: this.retriers(name, `${at}.Retry`, s.Retry),
      catch: this.catchers(name, `${at}.Catch`, s.Catch, targets, common.jsonata ? 'JSONata' : 'JSONPath'),
    };
  }
}

type CommonFields = Pick<State, 'name' | 'next' | 'inputPath' | 'outputPath' | 'enteredEvent' | 'exitedEvent' | 'assign' | 'jsonata'>;

class StopLoading extends Error {}

/**
 * Loads a definition, collecting every problem. Used by compileStateMachine (which adds asl-validator's schema
 * check) and by loadStateMachine (which stops at the first problem).
 */
export function loadWithReport(
  definition: unknown,
  name: string,
  opts: { failFast: boolean; functionNames?: ReadonlySet<string> },
): { machine: StateMachine | null; report: LoadReport } {
  const loader = new Loader(opts.failFast, opts.functionNames);
  let root: SubMachine | null = null;
  let timeoutSeconds: number | undefined;
  try {
    if (!isObj(definition)) loader.invalid(null, '$', 'a state machine definition must be a JSON object');
    else {
      if ('TimeoutSeconds' in definition) {
        if (!isPosInt(definition.TimeoutSeconds)) loader.invalid(null, '$.TimeoutSeconds', `must be a positive integer up to ${MAX_SECONDS}`);
        else timeoutSeconds = definition.TimeoutSeconds;
      }
      if ('Version' in definition && typeof definition.Version !== 'string') loader.invalid(null, '$.Version', 'must be a string');
      root = loader.machine(definition, '$', null);
      loader.checkReferences();
    }
  } catch (e) {
    if (!(e instanceof StopLoading)) throw e;
  }
  const ok = loader.report.invalid.length === 0 && loader.report.unsupported.length === 0 && root !== null;
  return {
    machine: ok ? { name, root: root!, timeoutSeconds, functionNames: [...loader.functionNames].sort() } : null,
    report: loader.report,
  };
}

export function problemMessage(machineName: string, problems: readonly Problem[], unsupported: boolean): string {
  const p = problems[0]!;
  const where = p.state !== null ? `state '${p.state}' at ${p.path}` : p.path;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  return `${unsupported ? 'Unsupported construct in' : 'Invalid'} workflow '${machineName}': ${where}: ${p.message}${more}`;
}

/**
 * Loads an already validated definition for execution (no schema validation; the frontend validated it at
 * deploy). Throws MfError MF_ASL_INVALID / MF_ASL_UNSUPPORTED if it still cannot be compiled.
 */
export function loadStateMachine(definition: unknown, name: string): StateMachine {
  const { machine, report } = loadWithReport(definition, name, { failFast: true });
  if (machine) return machine;
  if (report.unsupported.length) throw new MfError('MF_ASL_UNSUPPORTED', problemMessage(name, report.unsupported, true), { problems: report.unsupported });
  throw new MfError('MF_ASL_INVALID', problemMessage(name, report.invalid, false), { problems: report.invalid });
}
