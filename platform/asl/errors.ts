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
