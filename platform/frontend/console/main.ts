/**
 * The web console's shell (docs/console.md): sign-in with the platform's token, the navigation, and a hash router
 * that gives each page a fresh context whose timers stop when the page is left.
 */
import { isMfError } from '../../errors.js';
import type { MicroFunctionsClient } from '../../sdk/client.js';
import { field, h } from './dom.js';
import { appPage } from './pages/app.js';
import { appsPage } from './pages/apps.js';
import { executionPage } from './pages/execution.js';
import { executionsPage } from './pages/executions.js';
import { metricsPage } from './pages/metrics.js';
import { newAppPage } from './pages/new-app.js';
import { sessionPage } from './pages/session.js';
import { errorBox, type Page, type PageContext } from './pages/page.js';
import { clientFor, forgetToken, savedToken, saveToken } from './session.js';

const ROUTES: Array<[RegExp, Page, string]> = [
  [/^#\/apps\/?$/, appsPage, 'Apps'],
  [/^#\/new$/, newAppPage, 'Create an app'],
  [/^#\/apps\/([^/]+)$/, appPage, 'App'],
  [/^#\/apps\/([^/]+)\/sessions\/([^/]+)$/, sessionPage, 'Session'],
  [/^#\/executions\/?$/, executionsPage, 'Executions'],
  [/^#\/executions\/([^/]+)$/, executionPage, 'Execution'],
  [/^#\/metrics$/, metricsPage, 'Sandboxes and metrics'],
];

const NAV: Array<[string, string]> = [['#/apps', 'Apps'], ['#/new', 'Create an app'], ['#/executions', 'Executions'], ['#/metrics', 'Sandboxes & metrics']];

const app = document.getElementById('app')!;
let leave: () => void = () => undefined;

function signIn(message?: HTMLElement): void {
  leave();
  const token = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const status = h('div', { 'aria-live': 'polite' }, message ?? null);
  const form = h('form', { class: 'card signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'MicroFunctions console'),
    h('p', { class: 'muted' }, 'Sign in with the platform’s token: the first line ', h('code', {}, 'mfbench platform start'), ' prints, or the file ', h('code', {}, 'token'), ' in its data folder.'),
    field('Token', token),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')),
    status);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const client = clientFor(token.value.trim());
    status.replaceChildren(h('p', { class: 'muted' }, 'Checking…'));
    client.listApps().then(() => {
      saveToken(token.value.trim());
      if (!/^#\/./.test(location.hash)) location.hash = '#/apps';
      shell(client);
    }, (err: unknown) => status.replaceChildren(errorBox(err)));
  });
  app.replaceChildren(h('main', { id: 'main', class: 'center' }, form));
  token.focus();
}

function shell(client: MicroFunctionsClient): void {
  const main = h('main', { id: 'main', tabindex: -1 });
  const links = NAV.map(([href, label]) => h('a', { href }, label));
  const header = h('header', { class: 'top' },
    h('a', { class: 'skip', href: '#main', onclick: (e: Event) => { e.preventDefault(); main.focus(); } }, 'Skip to content'),
    h('span', { class: 'brand' }, 'MicroFunctions'),
    h('nav', { 'aria-label': 'Console' }, ...links),
    h('button', { type: 'button', class: 'link', onclick: () => { forgetToken(); signIn(); } }, 'Sign out'));
  app.replaceChildren(header, main);

  const route = (): void => {
    leave();
    const timers: Array<ReturnType<typeof setInterval>> = [];
    let left = false;
    leave = () => {
      left = true;
      for (const t of timers) clearInterval(t);
    };
    const hash = location.hash || '#/apps';
    const found = ROUTES.map(([re, page, title]) => ({ m: re.exec(hash), page, title })).find((r) => r.m !== null);
    for (const a of links) a.toggleAttribute('aria-current', hash.startsWith(a.getAttribute('href')!));
    const root = h('div', { class: 'page' });
    main.replaceChildren(root);
    if (!found) {
      root.append(h('h1', {}, 'Not found'), h('p', {}, 'No such page. ', h('a', { href: '#/apps' }, 'Go to the apps.')));
      return;
    }
    document.title = `${found.title} · MicroFunctions console`;
    const failed = (err: unknown): void => {
      // A token that stopped working sends the person back to sign in, saying why.
      if (isMfError(err, 'MF_UNAUTHORIZED')) {
        forgetToken();
        signIn(errorBox(err));
      } else root.prepend(errorBox(err));
    };
    const ctx: PageContext = {
      client,
      go: (r) => {
        location.hash = r;
      },
      every: (ms, fn) => {
        let busy = false;
        const t = setInterval(() => {
          if (busy || left) return;
          busy = true;
          fn().then(() => (busy = false), (err: unknown) => {
            clearInterval(t);
            if (!left) failed(err);
          });
        }, ms);
        timers.push(t);
      },
    };
    const params = found.m!.slice(1).map((p) => decodeURIComponent(p));
    found.page(ctx, root, ...params).catch(failed);
  };
  window.onhashchange = route;
  route();
}

const token = savedToken();
if (token === null) signIn();
else shell(clientFor(token));
