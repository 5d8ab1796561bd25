/** The storage browser of an app's page: keys of its global tier under a prefix, and one value at a time (read-only). */
import type { AppSummary, StorageEntry } from '../../../api.js';
import { field, h } from '../dom.js';
import { errorBox, pretty, type PageContext } from './page.js';

const SHOWN = 200;

export function storageSection(ctx: PageContext, app: AppSummary): HTMLElement {
  const prefix = h('input', { type: 'search', placeholder: 'all keys', autocomplete: 'off' });
  const keys = h('div', { 'aria-live': 'polite' });
  const value = h('div', { 'aria-live': 'polite' });
  const show = async (key: string): Promise<void> => {
    try {
      value.replaceChildren(valueView(await ctx.client.storageValue(app.name, key)));
    } catch (err) {
      value.replaceChildren(errorBox(err));
    }
  };
  const list = async (): Promise<void> => {
    try {
      const answer = await ctx.client.storageKeys(app.name, { prefix: prefix.value, limit: SHOWN });
      keys.replaceChildren(answer.keys.length === 0
        ? h('p', { class: 'muted' }, prefix.value ? `No key starts with “${prefix.value}”.` : 'The global tier holds no key for this app.')
        : h('ul', { class: 'keys', 'aria-label': 'Keys' }, ...answer.keys.map((k) => h('li', {}, h('button', { type: 'button', class: 'link-button mono', onclick: () => void show(k) }, k)))),
        answer.truncated ? h('p', { class: 'muted' }, `The first ${SHOWN} keys; narrow the prefix for the rest.`) : '');
    } catch (err) {
      keys.replaceChildren(errorBox(err));
    }
  };
  const form = h('form', { class: 'row', onsubmit: (e: Event) => { e.preventDefault(); void list(); } },
    field('Key prefix', prefix), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'List keys')));
  void list();
  return h('section', { class: 'card', 'aria-labelledby': 'st-title' }, h('h2', { id: 'st-title' }, 'Storage (global tier)'), form, h('div', { class: 'columns' }, keys, value));
}

function valueView(entry: StorageEntry): HTMLElement {
  const { value } = entry;
  const body = value === null
    ? h('p', { class: 'muted' }, 'No value (deleted since it was listed).')
    : 'json' in value
      ? h('pre', { class: 'output' }, pretty(value.json))
      : h('p', {}, `${Math.floor((value.bytes.length * 3) / 4)} bytes of binary data.`);
  return h('div', { class: 'storage-value' }, h('h3', {}, entry.key), body);
}
