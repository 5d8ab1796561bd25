/** The loaded (compiled) form of a state machine that the interpreter walks. Built by load.ts. */
import type { Condition, Instant } from './choice.js';
import type { JsonataValue } from './jsonata.js';
import type { ParsedPath } from './jsonpath.js';
import type { Expr, Template } from './payload.js';
import type { ResourceSpec } from './resource.js';

/** InputPath/OutputPath: undefined = `$` (identity), null = `{}`, else a path. */
export type Selector = ParsedPath | null | undefined;
/** ResultPath: undefined = `$` (the result replaces the input), null = the result is discarded, else a path. */
export type ResultPathSpec = ParsedPath | null | undefined;

export interface Retrier {
  errorEquals: readonly string[];
  intervalSeconds: number;
  maxAttempts: number;
  backoffRate: number;
  maxDelaySeconds: number | undefined;
  jitter: 'FULL' | 'NONE';
}

export interface Catcher {
  errorEquals: readonly string[];
  next: string;
  resultPath: ResultPathSpec;
  /** A JSONPath catcher's Assign, evaluated against the error output. */
  assign: Template | null;
  /** A JSONata catcher's Output and Assign. */
  jsonata: JsonataFields | null;
}

/** The fields of a JSONata state (or catcher, or Choice rule) that hold JSONata values, compiled. */
export type JsonataField =
  | 'Arguments'
  | 'Output'
  | 'Assign'
  | 'Items'
  | 'ItemSelector'
  | 'MaxConcurrency'
  | 'ToleratedFailureCount'
  | 'ToleratedFailurePercentage'
  | 'Seconds'
  | 'Timestamp'
  | 'TimeoutSeconds'
  | 'HeartbeatSeconds'
  | 'Error'
  | 'Cause'
  | 'Condition';
export type JsonataFields = Readonly<Partial<Record<JsonataField, JsonataValue>>>;

interface Common {
  readonly name: string;
  readonly next: string | null;
  readonly inputPath: Selector;
  readonly outputPath: Selector;
  /** A JSONPath state's Assign: a payload template whose result holds the new variable values. */
  readonly assign: Template | null;
  /** Set for a JSONata state (QueryLanguage JSONata): its JSONata fields. The JSONPath fields are then unset. */
  readonly jsonata: JsonataFields | null;
  /** `<Type>StateEntered`, precomputed for history. */
  readonly enteredEvent: string;
  readonly exitedEvent: string;
}

export interface PassState extends Common {
  readonly type: 'Pass';
  readonly parameters: Template | null;
  readonly hasResult: boolean;
  readonly result: unknown;
  readonly resultPath: ResultPathSpec;
}

export interface TaskState extends Common {
  readonly type: 'Task';
  readonly resource: ResourceSpec & { kind: 'lambda' | 'lambda-invoke' | 'integration' };
  readonly resourceText: string;
  readonly parameters: Template | null;
  readonly resultSelector: Template | null;
  readonly resultPath: ResultPathSpec;
  readonly retry: readonly Retrier[];
  readonly catch: readonly Catcher[];
  readonly timeoutSeconds: number | undefined;
  readonly timeoutSecondsPath: ParsedPath | undefined;
  readonly heartbeatSeconds: number | undefined;
  readonly heartbeatSecondsPath: ParsedPath | undefined;
}

export interface ChoiceState extends Common {
  readonly type: 'Choice';
  readonly choices: ReadonlyArray<ChoiceRule>;
  readonly default: string | null;
}

/** A top-level Choice rule: a JSONPath condition, or a JSONata one (`jsonata.Condition`), with its own Assign/Output. */
export interface ChoiceRule {
  readonly cond: Condition;
  readonly next: string;
  readonly assign: Template | null;
  readonly jsonata: JsonataFields | null;
}

export interface WaitState extends Common {
  readonly type: 'Wait';
  readonly seconds: number | undefined;
  readonly secondsPath: ParsedPath | undefined;
  readonly timestamp: Instant | undefined;
  readonly timestampPath: ParsedPath | undefined;
}

export interface SucceedState extends Common {
  readonly type: 'Succeed';
}

export interface FailState extends Common {
  readonly type: 'Fail';
  readonly error: string | null;
  readonly cause: string | null;
  readonly errorPath: Expr | null;
  readonly causePath: Expr | null;
  readonly errorPathText: string | null;
  readonly causePathText: string | null;
}

export interface ParallelState extends Common {
  readonly type: 'Parallel';
  readonly branches: readonly SubMachine[];
  readonly parameters: Template | null;
  readonly resultSelector: Template | null;
  readonly resultPath: ResultPathSpec;
  readonly retry: readonly Retrier[];
  readonly catch: readonly Catcher[];
}

export interface MapState extends Common {
  readonly type: 'Map';
  readonly processor: SubMachine;
  readonly itemsPath: ParsedPath | undefined;
  readonly itemSelector: Template | null;
  readonly maxConcurrency: number;
  readonly maxConcurrencyPath: ParsedPath | undefined;
  readonly toleratedFailureCount: number | undefined;
  readonly toleratedFailureCountPath: ParsedPath | undefined;
  readonly toleratedFailurePercentage: number | undefined;
  readonly toleratedFailurePercentagePath: ParsedPath | undefined;
  readonly resultSelector: Template | null;
  readonly resultPath: ResultPathSpec;
  readonly retry: readonly Retrier[];
  readonly catch: readonly Catcher[];
}

export type State = PassState | TaskState | ChoiceState | WaitState | SucceedState | FailState | ParallelState | MapState;

/** A set of states with a start: the top-level machine, a Parallel branch, or a Map's ItemProcessor. */
export interface SubMachine {
  readonly startAt: string;
  readonly states: ReadonlyMap<string, State>;
}

/** A loaded state machine, ready for runExecution. Opaque to callers beyond these fields. */
export interface StateMachine {
  readonly name: string;
  readonly root: SubMachine;
  /** The machine-level TimeoutSeconds (execution timeout), if any. */
  readonly timeoutSeconds: number | undefined;
  /** Names of the functions referenced by literal Task Resources (dynamic `FunctionName.$` ones are not listed). */
  readonly functionNames: readonly string[];
}
