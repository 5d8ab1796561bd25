/**
 * #/apps/{app}/sessions/{id}: one session (docs/sessions.md): its state and instances, sending a message to an
 * instance, a function or the whole session, reading what its functions sent to "client", its records, and stopping
 * it. State and records refresh every 2 s; a refresh fetches only the records that are new since the last one.
 */
import type { SessionMessage, SessionRecord, SessionState } from '../../../api.js';
import { field, h, ms } from '../dom.js';
import { codeEditor } from '../editor.js';
import { recordRows, sessionTarget, type TargetKind } from '../session-view.js';
import { instancesList } from './app-sessions.js';
import { badInput, errorBox, notice, parseJson, pretty, statusBadge, type Page, type PageContext } from './page.js';

/** How long "Read messages" waits for one to arrive; the platform's own bound is 30 s. */
const READ_WAIT_MS = 5000;
/** The newest records shown; a session keeps up to 50,000. */
const RECORDS_SHOWN = 200;

export const sessionPage: Page = async (ctx, root, app = '', sessionId = '') => {
  let state: SessionState;
  try {
    state = await ctx.client.getSession(app, sessionId);
  } catch (err) {
    root.append(h('h1', {}, `Session ${sessionId}`), errorBox(err), h('p', {}, h('a', { href: `#/apps/${encodeURIComponent(app)}` }, `Back to ${app}`)));
    return;
  }
  const head = h('div', { class: 'page-head' });
  const summary = h('div');
  const records = h('div');
  let drawnStatus = '';
  // The newest records in the order the platform kept them, and how many it had: the next refresh asks for the rest.
  let kept: SessionRecord[] = [];
  let count = 0;
  const draw = (s: SessionState, rs: readonly SessionRecord[] | null): void => {
    // The head is redrawn only when the status changes, so a focused Stop button keeps its focus across refreshes.
    if (s.status !== drawnStatus) head.replaceChildren(
      h('h1', {}, 'Session ', h('span', { class: 'mono' }, s.sessionId)), statusBadge(s.status),
      h('a', { href: `#/apps/${encodeURIComponent(app)}` }, `app ${app}`),
      ...(s.status === 'RUNNING' ? [h('button', { type: 'button', class: 'danger button', onclick: () => void stop() }, 'Stop session')] : []));
    drawnStatus = s.status;
    summary.replaceChildren(summaryView(s));
    if (rs) records.replaceChildren(recordsTable(rs, count));
  };
  const stopResult = h('div', { 'aria-live': 'polite' });
  const stop = async (): Promise<void> => {
    try {
      draw(await ctx.client.stopSession(app, sessionId), null);
      stopResult.replaceChildren(notice('The session is stopped.'));
      await refresh(); // its last records (the instances stopped, the session ended) at once, not at the next tick
    } catch (err) {
      stopResult.replaceChildren(errorBox(err));
    }
  };
  const refresh = async (): Promise<void> => {
    const asked = count;
    const [s, page] = await Promise.all([ctx.client.getSession(app, sessionId), ctx.client.sessionRecordsAfter(app, sessionId, asked)]);
    // Two refreshes can overlap (Stop refreshes at once): keep only what the other did not already add.
    const fresh = page.next > count ? page.records.slice(count - asked) : [];
    kept = [...kept, ...fresh].slice(-RECORDS_SHOWN);
    count = Math.max(count, page.next);
    // The table is redrawn only when records arrived (or, the first time, to say there are none yet).
    draw(s, asked === 0 || fresh.length > 0 ? kept : null);
  };
  draw(state, null);
  refresh().catch((err: unknown) => records.replaceChildren(errorBox(err)));
  ctx.every(2000, refresh);
  root.append(head, stopResult,
    h('section', { class: 'card', 'aria-labelledby': 'sn-title' }, h('h2', { id: 'sn-title' }, 'State'), summary),
    h('div', { class: 'columns' }, sendSection(ctx, app, sessionId), receiveSection(ctx, app, sessionId)),
    h('section', { class: 'card', 'aria-labelledby': 'rec-title' }, h('h2', { id: 'rec-title' }, 'Records'), records));
};

function summaryView(s: SessionState): HTMLElement {
  const m = s.messages;
  return h('div', {},
    s.reason ? h('p', {}, h('strong', {}, 'Ended: '), s.reason) : null,
    h('p', { class: 'muted' },
      `sandbox ${s.sandboxId} · started ${new Date(s.startedAt).toLocaleTimeString()}`, s.endedAt ? ` · ended ${new Date(s.endedAt).toLocaleTimeString()}` : '',
      ` · messages: ${m.sent} sent, ${m.delivered} delivered, ${m.waitingForClient} waiting for the client`, m.droppedForClient > 0 ? `, ${m.droppedForClient} dropped` : ''),
    h('table', { 'aria-label': 'Instances' },
      h('thead', {}, h('tr', {}, ...['Instance', 'Function', 'Alias', 'Status', 'Worker pid', 'Restarts'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...s.instances.map((i) => h('tr', { 'data-instance': i.id },
        h('td', { class: 'mono' }, i.id), h('td', {}, i.function), h('td', {}, i.alias ?? '—'), h('td', {}, statusBadge(i.status)),
        h('td', { class: 'num' }, i.pid ?? '—'), h('td', { class: 'num' }, i.restarts))))),
    h('details', {}, h('summary', {}, 'Policy'), h('pre', {}, pretty(s.policy))));
}

function sendSection(ctx: PageContext, app: string, sessionId: string): HTMLElement {
  const kind = h('select', {},
    h('option', { value: 'instance' }, 'One instance (id or alias)'), h('option', { value: 'function' }, 'Every instance of a function'), h('option', { value: 'all' }, 'The whole session'));
  const name = h('input', { type: 'text', autocomplete: 'off', spellcheck: false });
  kind.addEventListener('change', () => {
    name.disabled = kind.value === 'all';
  });
  const message = codeEditor({ language: 'json', text: '{}', label: 'Message (JSON)' });
  const result = h('div', { 'aria-live': 'polite' });
  const send = async (): Promise<void> => {
    const target = sessionTarget(kind.value as TargetKind, name.value);
    if (!target.ok) return void result.replaceChildren(badInput(target.message));
    const parsed = parseJson(message.text(), 'The message');
    if (!parsed.ok) return void result.replaceChildren(badInput(parsed.message));
    result.replaceChildren(h('p', { class: 'muted' }, 'Sending…'));
    try {
      await ctx.client.sendToSession(app, sessionId, parsed.value, target.target);
      result.replaceChildren(notice(`Sent at ${new Date().toLocaleTimeString()}.`));
    } catch (err) {
      result.replaceChildren(errorBox(err));
    }
  };
  return h('section', { class: 'card', 'aria-labelledby': 'send-title' },
    h('h2', { id: 'send-title' }, 'Send a message'),
    h('div', { class: 'row' }, field('To', kind), field('Instance or function', name)),
    h('div', { class: 'field' }, h('span', { class: 'label' }, 'Message (JSON)'), message.view.dom),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => void send() }, 'Send')),
    result);
}

function receiveSection(ctx: PageContext, app: string, sessionId: string): HTMLElement {
  const list = h('ol', { class: 'messages', 'aria-label': 'Messages to the client', tabindex: 0 }); // it scrolls: the keyboard must reach it
  const status = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'None read yet.'));
  const button = h('button', { type: 'button', onclick: () => void read() }, 'Read messages');
  const read = async (): Promise<void> => {
    button.disabled = true;
    status.replaceChildren(h('p', { class: 'muted' }, `Waiting up to ${READ_WAIT_MS / 1000} s…`));
    try {
      const got: SessionMessage[] = await ctx.client.receiveFromSession(app, sessionId, { timeoutMs: READ_WAIT_MS });
      // Reading takes the messages from the session's outbox, so the page keeps every one it read, newest first.
      list.prepend(...got.reverse().map((m) => h('li', {}, h('span', { class: 'from' }, `from ${m.from}`), h('pre', { class: 'output' }, pretty(m.body)))));
      status.replaceChildren(h('p', { class: 'muted' }, got.length === 0 ? 'No message arrived.' : `${got.length} message(s) read.`));
    } catch (err) {
      status.replaceChildren(errorBox(err));
    } finally {
      button.disabled = false;
    }
  };
  return h('section', { class: 'card', 'aria-labelledby': 'recv-title' },
    h('h2', { id: 'recv-title' }, 'Messages to the client'),
    h('p', { class: 'muted' }, 'What the session’s functions sent to "client", newest first. Reading takes them from the session.'),
    h('div', { class: 'actions' }, button), status, list);
}

/** The newest records (at most RECORDS_SHOWN) of the `total` the platform keeps, in time order. */
function recordsTable(records: readonly SessionRecord[], total: number): HTMLElement {
  if (records.length === 0) return h('p', { class: 'muted' }, 'No record yet.');
  const shown = recordRows(records);
  return h('div', { class: 'table-box', tabindex: 0 }, // it scrolls: the keyboard must reach it
    h('p', { class: 'muted' }, 'Duration: a message from sent to read (by the client, for "client"); a pipe from opened to closed.',
      total > shown.length ? ` The newest ${shown.length} of ${total} records.` : ''),
    h('table', { 'aria-label': 'Session records' },
      h('thead', {}, h('tr', {}, ...['Time', 'Kind', 'Who', 'What', 'Duration'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...shown.map((r) => h('tr', { 'data-kind': r.kind },
        h('td', { class: 'mono' }, new Date(r.t).toISOString().slice(11, 23)), h('td', {}, r.kind), h('td', { class: 'mono' }, r.who), h('td', {}, r.what),
        h('td', { class: 'num' }, r.durationMs === null ? '—' : ms(r.durationMs)))))));
}
