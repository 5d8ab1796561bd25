/**
 * Where the CLI writes (docs/conventions.md#13): the result on stdout (only JSON with --json), everything meant for a
 * person (progress, summaries, errors) on stderr.
 */
import { MfError } from '../../platform/errors.js';

/** One line of result on stdout. */
export function out(line: string): void {
  process.stdout.write(line.endsWith('\n') ? line : `${line}\n`);
}

/** The result as one line of JSON on stdout. */
export function outJson(value: unknown): void {
  out(JSON.stringify(value));
}

/** One line for a person, on stderr. */
export function say(line: string): void {
  process.stderr.write(line.endsWith('\n') ? line : `${line}\n`);
}

/** A usage error: bad arguments. Exit code 2 (the message still carries an MF_ code). */
export class UsageError extends MfError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('MF_BAD_REQUEST', message, details);
  }
}

/** Exit codes: 0 success, 1 failure (a FAILED execution or an error), 2 usage error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Prints `error MF_CODE: message`, then the details and the hint, on stderr; returns the exit code to use. */
export function reportError(err: unknown): number {
  const e = err instanceof MfError ? err : new MfError('MF_INTERNAL', err instanceof Error ? err.message : String(err), {}, { cause: err });
  say(`error ${e.code}: ${e.message}`);
  const { hint, ...rest } = e.details;
  for (const [key, value] of Object.entries(rest)) say(`  ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  if (typeof hint === 'string') say(`hint: ${hint}`);
  if (e.code === 'MF_INTERNAL' && !(err instanceof MfError) && err instanceof Error && err.stack) say(err.stack);
  return err instanceof UsageError || e.code === 'MF_CONFIG_INVALID' ? EXIT.usage : EXIT.failed;
}
