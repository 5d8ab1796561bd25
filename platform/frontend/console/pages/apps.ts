/** #/apps: the deployed apps, with their functions, workflows and live sandboxes; delete one. */
import { h } from '../dom.js';
import { errorBox, notice, showError, type Page } from './page.js';

export const appsPage: Page = async (ctx, root) => {
  const status = h('div', { 'aria-live': 'polite' });
  const table = h('div');
  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Apps'), h('a', { class: 'button primary', href: '#/new' }, 'Create an app')),
    status,
    table,
  );
  const load = async (): Promise<void> => {
    const apps = await ctx.client.listApps();
    if (apps.length === 0) {
      table.replaceChildren(notice('No app is deployed yet. Create one to write functions and workflows.'));
      return;
    }
    table.replaceChildren(
      h('table', {},
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'App'), h('th', { scope: 'col' }, 'Functions'), h('th', { scope: 'col' }, 'Workflows'), h('th', { scope: 'col' }, 'Sandboxes'), h('th', { scope: 'col' }, 'Deployed'), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
        h('tbody', {}, ...apps.map((app) =>
          h('tr', {},
            h('th', { scope: 'row' }, h('a', { href: `#/apps/${encodeURIComponent(app.name)}` }, app.name)),
            h('td', {}, app.functions.map((f) => f.name).join(', ')),
            h('td', {}, app.workflows.join(', ') || '—'),
            h('td', { class: 'num' }, app.sandboxes.length),
            h('td', {}, new Date(app.deployedAt).toLocaleString()),
            h('td', {}, h('button', {
              type: 'button',
              class: 'danger',
              'aria-label': `Delete app ${app.name}`,
              onclick: async () => {
                if (!confirm(`Delete the app "${app.name}"? Its sandboxes stop and its code is removed.`)) return;
                try {
                  await ctx.client.deleteApp(app.name);
                  status.replaceChildren(notice(`Deleted ${app.name}.`));
                  await load();
                } catch (err) {
                  status.replaceChildren(errorBox(err));
                }
              },
            }, 'Delete')),
          ))),
      ),
    );
  };
  try {
    await load();
  } catch (err) {
    showError(table, err);
  }
};
