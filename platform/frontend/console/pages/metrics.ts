/**
 * #/metrics: sandboxes alive per app, and live charts of invocations/s, errors/s and execution-time p50/p99, from
 * the platform's Prometheus metrics scraped every two seconds (live-metrics.ts), without reloading the page.
 */
import { h, ms } from '../dom.js';
import { rateBetween, readScrape, type RatePoint, type Scrape } from '../live-metrics.js';
import { lineChart } from '../metrics-view.js';
import type { Page } from './page.js';

const KEEP = 90;

export const metricsPage: Page = async (ctx, root) => {
  const charts = h('div', { class: 'charts' });
  const sandboxes = h('div');
  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Sandboxes and metrics')),
    h('section', { class: 'card', 'aria-labelledby': 'live-title' }, h('h2', { id: 'live-title' }, 'Live (every 2 s)'), charts),
    h('section', { class: 'card', 'aria-labelledby': 'alive-title' }, h('h2', { id: 'alive-title' }, 'Sandboxes alive'), sandboxes),
  );
  let previous: Scrape | null = null;
  const points: RatePoint[] = [];
  const tick = async (): Promise<void> => {
    const [text, apps] = await Promise.all([ctx.client.metrics(), ctx.client.listApps()]);
    const scrape = readScrape(text, Date.now());
    if (previous !== null) points.push(rateBetween(previous, scrape));
    if (points.length > KEEP) points.shift();
    previous = scrape;
    const series = (pick: (p: RatePoint) => number | null) => points.map((p) => ({ at: p.at, value: pick(p) }));
    const perSecond = (v: number): string => `${v < 10 ? v.toFixed(1) : Math.round(v)}/s`;
    const seconds = (v: number): string => ms(v * 1000);
    const chart = (title: string, pick: (p: RatePoint) => number | null, format: (v: number) => string, floor?: number): HTMLElement => {
      const last = points.at(-1);
      const now = last === undefined ? 'waiting for a second scrape' : pick(last) === null ? 'no execution finished' : format(pick(last)!);
      return figure(`${title}: ${now}`, lineChart(title, series(pick), format, floor));
    };
    charts.replaceChildren(
      chart('Invocations per second', (p) => p.invocationsPerSecond, perSecond),
      chart('Errors per second', (p) => p.errorsPerSecond, perSecond),
      chart('Execution time p50', (p) => p.p50, seconds, 0.001),
      chart('Execution time p99', (p) => p.p99, seconds, 0.001),
    );
    sandboxes.replaceChildren(h('table', {},
      h('thead', {}, h('tr', {}, ...['App', 'Sandboxes', 'Sandbox ids and processes'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...apps.map((a) => h('tr', {},
        h('th', { scope: 'row' }, h('a', { href: `#/apps/${encodeURIComponent(a.name)}` }, a.name)),
        h('td', { class: 'num' }, a.sandboxes.length),
        h('td', { class: 'mono' }, a.sandboxes.map((sb) => `${sb.id} (pid ${sb.pid ?? '—'}, agent ${sb.agentPid ?? '—'})`).join('; ') || '—'))))));
  };
  await tick();
  ctx.every(2000, tick);
};

function figure(caption: string, chart: SVGSVGElement): HTMLElement {
  return h('figure', {}, chart, h('figcaption', {}, caption));
}
