/**
 * The console's session: the platform's token, kept in sessionStorage (gone with the tab, never in the URL), and
 * the SDK client that sends it. The console reaches the platform only through this client.
 */
import { isMfError, MfError } from '../../errors.js';
import { MicroFunctionsClient } from '../../sdk/client.js';

const KEY = 'mfbench.console.token';

export function savedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}

/** A client of the platform that served this page (sync executions may wait long: the SDK's own bound applies). */
export function clientFor(token: string): MicroFunctionsClient {
  return new MicroFunctionsClient({ url: location.origin, token });
}

/** What to tell a person about a failed call: what happened, in words, and the stable code. */
export function describeError(err: unknown): { code: string; text: string } {
  if (isMfError(err, 'MF_UNAUTHORIZED')) return { code: err.code, text: 'The platform refused the token: it is wrong or no longer valid. Sign in again with the token the platform printed.' };
  if (isMfError(err, 'MF_PLATFORM_UNREACHABLE')) return { code: err.code, text: `The platform does not answer (${location.origin}). Is it still running?` };
  if (err instanceof MfError) return { code: err.code, text: err.message };
  return { code: 'MF_INTERNAL', text: err instanceof Error ? err.message : String(err) };
}
