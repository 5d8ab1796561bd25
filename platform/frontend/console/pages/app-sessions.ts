/** The sessions of an app's page: its sessions, refreshed live, and a form to start one (docs/sessions.md). */
import type { AppSummary, SessionStartRequest, SessionState } from '../../../api.js';
import { h } from '../dom.js';
import { codeEditor } from '../editor.js';
import { badInput, errorBox, parseJson, statusBadge, type PageContext } from './page.js';

export function sessionsSection(ctx: PageContext, app: AppSummary): HTMLElement {
  const list = h('div');
  const refresh = async (): Promise<void> => {
    list.replaceChildren(sessionsTable(app.name, await ctx.client.listSessions(app.name)));
  };
  refresh().catch((err: unknown) => list.replaceChildren(errorBox(err)));
  ctx.every(2000, refresh);
  return h('section', { class: 'card', 'aria-labelledby': 'ss-title' },
    h('h2', { id: 'ss-title' }, 'Sessions'),
    h('div', { class: 'columns' }, list, startForm(ctx, app)));
}

function startForm(ctx: PageContext, app: AppSummary): HTMLElement {
  const first = app.functions[0]?.name ?? 'function';
  const request = codeEditor({ language: 'json', text: JSON.stringify({ functions: [{ function: first }] }, null, 2), label: 'Session start request (JSON)' });
  const message = h('div', { 'aria-live': 'polite' });
  const start = async (): Promise<void> => {
    const parsed = parseJson(request.text(), 'The start request');
    if (!parsed.ok) return void message.replaceChildren(badInput(parsed.message));
    message.replaceChildren(h('p', { class: 'muted' }, 'Starting…'));
    try {
      // The platform checks the request's shape and answers MF_BAD_REQUEST in words; the page need not repeat it.
      const state = await ctx.client.startSession(app.name, parsed.value as SessionStartRequest);
      ctx.go(sessionRoute(app.name, state.sessionId));
    } catch (err) {
      message.replaceChildren(errorBox(err));
    }
  };
  return h('div', {},
    h('h3', {}, 'Start a session'),
    h('div', { class: 'field' }, h('span', { class: 'label' }, 'Start request (JSON)'), request.view.dom,
      h('small', {}, 'The functions to run ({function, alias?, input?, count?}) and the policy; see docs/sessions.md.')),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => void start() }, 'Start session')),
    message);
}

export function sessionRoute(app: string, sessionId: string): string {
  return `#/apps/${encodeURIComponent(app)}/sessions/${encodeURIComponent(sessionId)}`;
}

function sessionsTable(app: string, sessions: readonly SessionState[]): HTMLElement {
  if (sessions.length === 0) return h('p', { class: 'muted' }, 'No session: start one here.');
  return h('table', { 'aria-label': 'Sessions' },
    h('thead', {}, h('tr', {}, ...['Session', 'Status', 'Instances', 'Started'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...sessions.map((s) => h('tr', { 'data-session': s.sessionId },
      h('td', { class: 'mono' }, h('a', { href: sessionRoute(app, s.sessionId) }, s.sessionId)),
      h('td', {}, statusBadge(s.status)),
      h('td', {}, instancesList(s)),
      h('td', {}, new Date(s.startedAt).toLocaleTimeString())))));
}

/** Each instance as "id (alias) status, n restarts". */
export function instancesList(s: SessionState): HTMLElement {
  return h('ul', { class: 'plain' }, ...s.instances.map((i) =>
    h('li', {}, h('span', { class: 'mono' }, i.id), i.alias ? ` (${i.alias})` : '', ' ', statusBadge(i.status), i.restarts > 0 ? ` ${i.restarts} restart(s)` : '')));
}
