/** #/executions: the executions started from this tab, with their status, refreshed while any runs. */
import type { ExecutionStatus } from '../../../api.js';
import { h } from '../dom.js';
import { recentExecutions } from '../recent.js';
import { notice, statusBadge, type Page } from './page.js';

export const executionsPage: Page = async (ctx, root) => {
  const list = recentExecutions();
  const table = h('div');
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Executions')), h('p', { class: 'muted' }, 'Executions started from this tab, newest first.'), table);
  if (list.length === 0) {
    table.append(notice('No execution yet: start one from an app’s page.'));
    return;
  }
  const status = new Map<string, ExecutionStatus | 'UNKNOWN'>();
  const refresh = async (): Promise<void> => {
    await Promise.all(list.filter((e) => (status.get(e.executionId) ?? 'RUNNING') === 'RUNNING').map(async (e) => {
      const x = await ctx.client.getExecution(e.executionId).catch(() => null);
      status.set(e.executionId, x?.status ?? 'UNKNOWN');
    }));
    table.replaceChildren(h('table', {},
      h('thead', {}, h('tr', {}, ...['Execution', 'App', 'Workflow', 'Started', 'Status'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...list.map((e) => h('tr', {},
        h('td', { class: 'mono' }, h('a', { href: `#/executions/${encodeURIComponent(e.executionId)}` }, e.executionId.slice(0, 8))),
        h('td', {}, e.app), h('td', {}, e.workflow), h('td', {}, new Date(e.startedAt).toLocaleTimeString()),
        h('td', {}, statusBadge(status.get(e.executionId) ?? 'RUNNING')))))));
  };
  await refresh();
  ctx.every(1500, refresh);
};
