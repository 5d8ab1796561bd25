/**
 * Run-time errors of the ASL engine. A StatesError is an ASL-level failure (it has an error name and a cause, both
 * possibly null, exactly what an execution reports); it is never an MfError, which is reserved for platform faults.
 */

export class StatesError extends Error {
  override readonly name = 'StatesError';
  constructor(
    /** The ASL error name (`States.Runtime`, a Lambda errorType, a Fail state's Error...); null = no error name. */
    readonly error: string | null,
    /** The cause text; null = no cause. */
    override readonly cause: string | null,
  ) {
    super(`${error ?? '(no error)'}: ${cause ?? '(no cause)'}`);
  }

  /**
   * States.Runtime cannot be retried or caught (AWS: "A retry or catch on States.ALL won't catch States.Runtime
   * errors"; the kit's case 60 shows that not even an explicit States.Runtime catcher does).
   */
  get fatal(): boolean {
    return this.error === 'States.Runtime';
  }
}

export const RUNTIME = 'States.Runtime';
export const INTRINSIC_FAILURE = 'States.IntrinsicFailure';
export const RESULT_PATH_MATCH_FAILURE = 'States.ResultPathMatchFailure';

/** How AWS begins the cause of an error raised while a state runs. */
export function statePrefix(state: string): string {
  return `An error occurred while executing the state '${state}'. `;
}

const LOCATED = "An error occurred while executing the state '";

/**
 * Words an error that a state raised about itself as AWS does: "An error occurred while executing the state 'X'
 * (entered at the event id #N). …". That is an error whose cause starts with statePrefix, or a States.Runtime not yet
 * located (a path or intrinsic failure knows its field, not its state); other errors, and errors already located by an
 * inner state of a Map or Parallel, pass unchanged. Applied where the state's run ends: States.Runtime is never
 * caught, and a catcher of the other errors sees the cause without the event id.
 */
export function locate(e: StatesError, state: string, enteredEventId: number): StatesError {
  if (e.cause === null) return e;
  const prefix = statePrefix(state);
  const detail = e.cause.startsWith(prefix) ? e.cause.slice(prefix.length) : e.fatal && !e.cause.startsWith(LOCATED) ? e.cause : null;
  if (detail === null) return e;
  return new StatesError(e.error, `${LOCATED}${state}' (entered at the event id #${enteredEventId}). ${detail}`);
}

export function runtimeError(cause: string): StatesError {
  return new StatesError(RUNTIME, cause);
}

/** A malformed path/intrinsic/template met while loading a definition (becomes MF_ASL_INVALID at load time). */
export class AslSyntaxError extends Error {
  override readonly name = 'AslSyntaxError';
}

/**
 * Does a Retrier's or Catcher's ErrorEquals match this error? States.ALL matches everything but States.Runtime;
 * States.TaskFailed matches everything but States.Timeout (and States.Runtime), per the spec.
 */
export function errorMatches(errorEquals: readonly string[], error: string | null): boolean {
  if (error === RUNTIME) return false;
  for (const name of errorEquals) {
    if (name === 'States.ALL') return true;
    if (name === 'States.TaskFailed' && error !== 'States.Timeout') return true;
    if (name === error) return true;
  }
  return false;
}
