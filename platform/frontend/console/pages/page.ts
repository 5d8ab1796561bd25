/** What every page gets from the shell (main.ts), and the pieces pages share. */
import type { MicroFunctionsClient } from '../../../sdk/client.js';
import { h } from '../dom.js';
import { describeError } from '../session.js';

export interface PageContext {
  client: MicroFunctionsClient;
  /** Goes to another page (a hash route such as `#/apps/x`). */
  go(route: string): void;
  /** Runs `fn` every `ms` until the page is left; a failure stops it and is shown. */
  every(ms: number, fn: () => Promise<void>): void;
}

export type Page = (ctx: PageContext, root: HTMLElement, ...params: string[]) => Promise<void>;

/** A message in the page that assistive technology announces: the error's words and its stable code. */
export function errorBox(err: unknown): HTMLElement {
  const { code, text } = describeError(err);
  return h('div', { class: 'alert', role: 'alert' }, h('strong', {}, code), ' ', text);
}

/** Replaces a slot's content with an error message. */
export function showError(slot: HTMLElement, err: unknown): void {
  slot.replaceChildren(errorBox(err));
}

export function notice(text: string): HTMLElement {
  return h('div', { class: 'notice', role: 'status' }, text);
}

/** Parses JSON typed by a person; a mistake is an MfError-shaped message for the page, not an exception. */
export function parseJson(text: string, what: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, message: `${what} is not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
}

export function badInput(message: string): HTMLElement {
  return h('div', { class: 'alert', role: 'alert' }, h('strong', {}, 'Invalid input'), ' ', message);
}

export function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? 'undefined';
}

export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `status status-${status.toLowerCase()}` }, status);
}

/**
 * A failure's cause as a person reads it: a function's cause is JSON ({errorType, errorMessage, trace}), shown as
 * its message with the stack trace folded away; any other cause as it is.
 */
export function causeView(cause: string | null): HTMLElement {
  let parsed: unknown;
  try {
    parsed = cause === null ? null : JSON.parse(cause);
  } catch {
    parsed = undefined;
  }
  const c = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { errorMessage?: unknown; trace?: unknown };
  if (typeof c.errorMessage !== 'string') return h('pre', { class: 'cause' }, cause ?? '');
  const trace = Array.isArray(c.trace) ? c.trace.map(String).join('\n') : '';
  return h('div', { class: 'cause' }, h('p', { class: 'message' }, c.errorMessage), trace ? h('details', {}, h('summary', {}, 'Stack trace'), h('pre', {}, trace)) : null);
}
