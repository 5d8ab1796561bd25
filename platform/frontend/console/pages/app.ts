/** #/apps/{name}: one app: invoke a function, start a workflow, its graph, its sandboxes and its latest logs. */
import type { AppSummary, FunctionInvocation, LogEntry } from '../../../api.js';
import { codeEditor } from '../editor.js';
import { sessionsSection } from './app-sessions.js';
import { storageSection } from './app-storage.js';
import { field, h, ms } from '../dom.js';
import { layoutGraph, stateGraph } from '../graph.js';
import { graphView } from '../graph-view.js';
import { rememberExecution } from '../recent.js';
import { TEMPERATURE_LABEL } from '../timeline-view.js';
import { badInput, causeView, errorBox, parseJson, pretty, showError, statusBadge, type Page, type PageContext } from './page.js';

export const appPage: Page = async (ctx, root, name = '') => {
  let app: AppSummary;
  try {
    app = await ctx.client.getApp(name);
  } catch (err) {
    root.append(h('h1', {}, name), errorBox(err));
    return;
  }
  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, app.name), h('span', { class: 'muted' }, `deployed ${new Date(app.deployedAt).toLocaleString()}`)),
    h('div', { class: 'columns' }, workflowsSection(ctx, app), invokeSection(ctx, app)),
    sandboxesAndLogs(ctx, app),
    sessionsSection(ctx, app),
    storageSection(ctx, app),
  );
};

function workflowsSection(ctx: PageContext, app: AppSummary): HTMLElement {
  const section = h('section', { class: 'card', 'aria-labelledby': 'wf-title' }, h('h2', { id: 'wf-title' }, 'Workflows'));
  if (app.workflows.length === 0) {
    section.append(h('p', { class: 'muted' }, 'This app has no workflow.'));
    return section;
  }
  const select = h('select', {}, ...app.workflows.map((w) => h('option', { value: w }, w)));
  const input = codeEditor({ language: 'json', text: '{}', label: 'Execution input (JSON)' });
  const message = h('div', { 'aria-live': 'polite' });
  const graph = h('div', { class: 'graph-box' });
  const drawGraph = async (): Promise<void> => {
    try {
      const definition = await ctx.client.getWorkflow(app.name, select.value);
      graph.replaceChildren(graphView(layoutGraph(stateGraph(definition)), {}, `Workflow ${select.value}`));
    } catch (err) {
      showError(graph, err);
    }
  };
  select.addEventListener('change', () => void drawGraph());
  const start = async (): Promise<void> => {
    const parsed = parseJson(input.text(), 'The input');
    if (!parsed.ok) return void message.replaceChildren(badInput(parsed.message));
    message.replaceChildren();
    try {
      const { executionId } = await ctx.client.execute(app.name, select.value, parsed.value, { mode: 'async' });
      rememberExecution({ executionId, app: app.name, workflow: select.value, startedAt: Date.now() });
      ctx.go(`#/executions/${encodeURIComponent(executionId)}`);
    } catch (err) {
      message.replaceChildren(errorBox(err));
    }
  };
  section.append(
    field('Workflow', select),
    h('div', { class: 'field' }, h('span', { class: 'label' }, 'Input (JSON)'), input.view.dom),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => void start() }, 'Start execution')),
    message,
    graph,
  );
  void drawGraph();
  return section;
}

function invokeSection(ctx: PageContext, app: AppSummary): HTMLElement {
  const select = h('select', {}, ...app.functions.map((f) => h('option', { value: f.name }, `${f.name} (${f.memoryMB} MB, ${f.timeoutSeconds} s)`)));
  const input = codeEditor({ language: 'json', text: '{}', label: 'Function input (JSON)' });
  const result = h('div', { id: 'invoke-result', 'aria-live': 'polite' });
  const invoke = async (): Promise<void> => {
    const parsed = parseJson(input.text(), 'The input');
    if (!parsed.ok) return void result.replaceChildren(badInput(parsed.message));
    result.replaceChildren(h('p', { class: 'muted' }, 'Running…'));
    try {
      const answer = await ctx.client.invokeFunction(app.name, select.value, parsed.value);
      const logs = await ctx.client.logs(app.name, { execution: answer.executionId });
      result.replaceChildren(invocationView(answer, logs));
    } catch (err) {
      result.replaceChildren(errorBox(err));
    }
  };
  return h('section', { class: 'card', 'aria-labelledby': 'fn-title' },
    h('h2', { id: 'fn-title' }, 'Invoke a function'),
    field('Function', select),
    h('div', { class: 'field' }, h('span', { class: 'label' }, 'Input (JSON)'), input.view.dom),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => void invoke() }, 'Invoke')),
    result,
  );
}

function invocationView(answer: FunctionInvocation, logs: LogEntry[]): HTMLElement {
  const record = answer.records?.[0];
  return h('div', { class: 'result' },
    h('p', {}, statusBadge(answer.status), record ? ` ${TEMPERATURE_LABEL[record.temperature]} · sandbox ${record.sandboxId} · worker pid ${record.workerPid} · handler ${ms(record.t.handlerEnd - record.t.handlerStart)}` : ''),
    answer.status === 'SUCCEEDED'
      ? h('div', {}, h('h3', {}, 'Output'), h('pre', { class: 'output' }, pretty(answer.output)))
      : h('div', { class: 'alert', role: 'alert' }, h('strong', {}, answer.error ?? 'Failed'), causeView(answer.cause)),
    h('h3', {}, 'Logs'),
    logsView(logs),
    record ? h('details', {}, h('summary', {}, 'Invocation record'), h('pre', {}, pretty(record))) : null,
  );
}

export function logsView(logs: readonly LogEntry[]): HTMLElement {
  if (logs.length === 0) return h('p', { class: 'muted' }, 'No log lines.');
  return h('ol', { class: 'logs' }, ...logs.map((l) =>
    h('li', { class: `log-${l.level}`, 'data-state': typeof l.state === 'string' ? l.state : null },
      h('time', {}, new Date(l.t).toISOString().slice(11, 23)), ' ', h('span', { class: 'level' }, l.level), ' ',
      l.function ? h('span', { class: 'fn' }, String(l.function)) : null, ' ', l.message)));
}

function sandboxesAndLogs(ctx: PageContext, app: AppSummary): HTMLElement {
  const sandboxes = h('div');
  const logs = h('div');
  const refresh = async (): Promise<void> => {
    const [summary, lines] = await Promise.all([ctx.client.getApp(app.name), ctx.client.logs(app.name, { limit: 50 })]);
    sandboxes.replaceChildren(summary.sandboxes.length === 0
      ? h('p', { class: 'muted' }, 'No sandbox is alive: the next execution starts one.')
      : h('table', {},
        h('thead', {}, h('tr', {}, ...['Sandbox', 'Backend', 'Process', 'Agent pid', 'Functions', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, ...summary.sandboxes.map((sb) => h('tr', {},
          h('td', { class: 'mono' }, sb.id), h('td', {}, sb.backend), h('td', { class: 'num' }, sb.pid ?? '—'), h('td', { class: 'num' }, sb.agentPid ?? '—'),
          h('td', {}, sb.functions.join(', ')), h('td', {}, new Date(sb.createdAt).toLocaleTimeString()))))));
    logs.replaceChildren(logsView(lines));
  };
  refresh().catch((err: unknown) => showError(sandboxes, err));
  ctx.every(2000, refresh);
  return h('div', { class: 'columns' },
    h('section', { class: 'card', 'aria-labelledby': 'sb-title' }, h('h2', { id: 'sb-title' }, 'Sandboxes'), sandboxes),
    h('section', { class: 'card', 'aria-labelledby': 'log-title' }, h('h2', { id: 'log-title' }, 'Latest logs'), logs));
}
