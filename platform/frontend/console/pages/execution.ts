/**
 * #/executions/{id}: one execution: its result or error, a timeline of its invocations, the path it took on the
 * graph, its history and its logs. A failed state leads to its error. Refreshes while the execution runs.
 */
import type { Execution, HistoryEvent, LogEntry } from '../../../api.js';
import { h, ms } from '../dom.js';
import { layoutGraph, stateGraph } from '../graph.js';
import { graphView } from '../graph-view.js';
import { timelineOf } from '../timeline.js';
import { timelineView } from '../timeline-view.js';
import { logsView } from './app.js';
import { causeView, errorBox, pretty, statusBadge, type Page } from './page.js';

export const executionPage: Page = async (ctx, root, id = '') => {
  const body = h('div');
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Execution'), h('code', { class: 'muted' }, id)), body);
  let definition: unknown;
  let done = false;
  const load = async (): Promise<void> => {
    if (done) return;
    const execution = await ctx.client.getExecution(id);
    done = execution.status !== 'RUNNING';
    // A history its sandbox dropped or took with it (MF_HISTORY_EVICTED, MF_HISTORY_GONE) leaves the rest of the page.
    const history = ctx.client.getHistory(id).catch((err: unknown) => (/^MF_HISTORY_/.test((err as { code?: string }).code ?? '') ? [] : Promise.reject(err)));
    const [events, logs] = await Promise.all([history, ctx.client.logs(execution.app, { execution: id })]);
    definition ??= await ctx.client.getWorkflow(execution.app, execution.workflow).catch(() => null);
    body.replaceChildren(...view(execution, events, logs, definition));
  };
  try {
    await load();
  } catch (err) {
    body.replaceChildren(errorBox(err));
    return;
  }
  if (!done) ctx.every(1000, load);
};

function view(execution: Execution, history: HistoryEvent[], logs: LogEntry[], definition: unknown): HTMLElement[] {
  const records = execution.records ?? [];
  const failedRecord = records.find((r) => r.outcome.state !== 'ok');
  const failedEvent = [...history].reverse().find((e) => e.state !== undefined && /Failed$/.test(e.type));
  const failedState = execution.status === 'FAILED' ? (failedRecord?.state ?? failedEvent?.state ?? null) : null;
  const visited = new Set<string>([...records.map((r) => r.state ?? ''), ...history.map((e) => e.state ?? '')].filter(Boolean));

  const errorPanel = execution.status === 'FAILED' || execution.status === 'ABORTED'
    ? h('div', { id: 'execution-error', class: 'alert', role: 'alert', tabindex: -1 },
      h('strong', {}, execution.error ?? execution.status), failedState ? ` in state ${failedState}` : '', causeView(execution.cause))
    : null;
  const jumpToError = (): void => {
    errorPanel?.scrollIntoView({ block: 'center' });
    errorPanel?.focus();
  };
  const took = execution.t.completed === null ? 'running' : ms(execution.t.completed - execution.t.received);
  return [
    h('p', { class: 'summary' }, statusBadge(execution.status), ' ',
      h('a', { href: `#/apps/${encodeURIComponent(execution.app)}` }, execution.app), ` / ${execution.workflow} · ${took} · ${records.length} invocation(s)`),
    h('div', { class: 'columns' },
      h('section', { class: 'card', 'aria-labelledby': 'res-title' }, h('h2', { id: 'res-title' }, 'Result'),
        errorPanel ?? (execution.status === 'SUCCEEDED' ? h('pre', { class: 'output' }, pretty(execution.output)) : h('p', { class: 'muted' }, 'Still running…')),
        failedState ? h('button', { type: 'button', onclick: jumpToError }, `Go to the error of ${failedState}`) : null),
      h('section', { class: 'card', 'aria-labelledby': 'path-title' }, h('h2', { id: 'path-title' }, 'Path taken'),
        definition ? pathView(definition, visited, failedState, jumpToError) : h('p', { class: 'muted' }, 'The workflow is no longer deployed.'))),
    h('section', { class: 'card', 'aria-labelledby': 'tl-title' }, h('h2', { id: 'tl-title' }, 'Timeline'),
      records.length ? timelineView(timelineOf(records), jumpToError) : h('p', { class: 'muted' }, 'No invocation yet.')),
    h('div', { class: 'columns' },
      h('section', { class: 'card', 'aria-labelledby': 'hist-title' }, h('h2', { id: 'hist-title' }, 'History'), historyView(history, execution.t.received)),
      h('section', { class: 'card', 'aria-labelledby': 'logs-title' }, h('h2', { id: 'logs-title' }, 'Logs'), logsView(logs))),
  ];
}

/** The graph with the path taken; the failed state leads to the error (click, or Enter on it). */
function pathView(definition: unknown, visited: ReadonlySet<string>, failed: string | null, jumpToError: () => void): SVGSVGElement {
  const svg = graphView(layoutGraph(stateGraph(definition)), { visited, failed }, 'The path the execution took');
  // A picture holds no controls: with a state to press, the graph is a group.
  if (failed !== null) svg.setAttribute('role', 'group');
  for (const node of svg.querySelectorAll<SVGGElement>('g.failed')) {
    node.setAttribute('tabindex', '0');
    node.setAttribute('role', 'button');
    node.setAttribute('aria-label', `State ${failed ?? ''} failed: go to its error`);
    node.addEventListener('click', jumpToError);
    node.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') jumpToError();
    });
  }
  return svg;
}

function historyView(history: HistoryEvent[], origin: number): HTMLElement {
  if (history.length === 0) return h('p', { class: 'muted' }, 'No history (the platform may run with history off, or the sandbox that kept it dropped it or is gone).');
  return h('table', { class: 'history' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '+ms'), h('th', { scope: 'col' }, 'Event'), h('th', { scope: 'col' }, 'State'))),
    h('tbody', {}, ...history.map((e) => h('tr', { class: /Failed$/.test(e.type) ? 'failed' : null },
      h('td', { class: 'num' }, (e.t - origin).toFixed(1)), h('td', {}, e.type), h('td', {}, e.state ?? '')))));
}
