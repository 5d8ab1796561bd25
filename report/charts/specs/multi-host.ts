/** The vega-lite spec of Figure fig-multi-host (experiments/multi-host.ts). */
import type { FigureInfo, Row, VegaLiteSpec } from '../../types.js';
import { figureTitle, PALETTE, THEME, VEGA_LITE_SCHEMA } from '../theme.js';

const HOP_LABELS: Record<string, string> = {
  local: 'local: Tasks in one sandbox (grouped)',
  broker: 'broker: Tasks on one host (per-function)',
  'cross-host': 'cross-host: Tasks on two hosts (per-function)',
  'frontend-host': 'frontend-host: the placement, ½ round trip',
};

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function multiHostSpec(tables: Record<string, Row[]>, figure: FigureInfo): VegaLiteSpec {
  const hopRows = tables.hops ?? [];
  const networks = [...new Set([...hopRows, ...(tables.throughput ?? []), ...(tables.recovery ?? [])].map((r) => `${String(r.variant)} (${String(r.network)})`))];
  const series = (r: Row): string => (networks.length > 1 ? `${String(r.variant)} (${String(r.network)})` : String(r.variant));
  const hopNames = Object.values(HOP_LABELS);
  const hostsAxis = (title: string) => ({ field: 'hosts', type: 'ordinal', title, axis: { labelAngle: 0 } });

  const bars = hopRows.map((h) => ({
    series: series(h),
    hosts: num(h.hosts),
    hop: HOP_LABELS[String(h.hop)] ?? String(h.hop),
    median: num(h.ms_median),
    lo: num(h.ms_medianLo),
    hi: num(h.ms_medianHi),
    p90: num(h.ms_p90),
    n: h.ms_n,
  })).filter((b) => b.median !== null);
  const x = hostsAxis('Hosts');
  const xOffset = { field: 'hop', type: 'nominal', sort: hopNames };
  const y = (field: string) => ({ field, type: 'quantitative', title: 'Hop, median (ms)' });
  const hops = {
    title: '(a) Warm hop latency',
    width: 300,
    height: 280,
    layer: [
      {
        data: { values: bars },
        mark: { type: 'bar' },
        encoding: {
          x,
          xOffset,
          y: y('median'),
          color: { field: 'hop', type: 'nominal', title: 'Hop', sort: hopNames, scale: { domain: hopNames, range: PALETTE.slice(0, hopNames.length) }, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 400 } },
          tooltip: [{ field: 'series' }, { field: 'hosts' }, { field: 'hop' }, { field: 'median', format: '.2f' }, { field: 'p90', format: '.2f' }, { field: 'n' }],
        },
      },
      { data: { values: bars.filter((b) => b.lo !== null && b.hi !== null) }, mark: { type: 'errorbar', ticks: { size: 6 }, color: '#222' }, encoding: { x, xOffset, y: y('lo'), y2: { field: 'hi' } } },
      { data: { values: bars.filter((b) => b.p90 !== null) }, mark: { type: 'tick', color: '#222', thickness: 2, size: 10 }, encoding: { x, xOffset, y: y('p90') } },
      { data: { values: bars.map((b) => ({ ...b, label: `n=${String(b.n)}` })) }, mark: { type: 'text', dy: -8, fontSize: 8, color: '#444' }, encoding: { x, xOffset, y: y('median'), text: { field: 'label' } } },
    ],
  };

  const rates = (tables.throughput ?? []).map((t) => ({ series: series(t), hosts: num(t.hosts), median: num(t.per_s_median), min: num(t.per_s_min), max: num(t.per_s_max), bound: num(t.slot_bound_per_s), bursts: t.bursts })).filter((t) => t.median !== null);
  const color = { field: 'series', type: 'nominal', title: 'Variant', legend: { orient: 'bottom', direction: 'vertical', labelLimit: 400 } };
  const throughput = {
    title: '(b) Throughput as hosts are added',
    width: 240,
    height: 280,
    layer: [
      { data: { values: rates }, mark: { type: 'line', point: { filled: true, size: 60 } }, encoding: { x: hostsAxis('Hosts'), y: { field: 'median', type: 'quantitative', title: 'Executions per second (median of bursts)' }, color, tooltip: [{ field: 'series' }, { field: 'hosts' }, { field: 'median', format: '.1f' }, { field: 'min', format: '.1f' }, { field: 'max', format: '.1f' }, { field: 'bursts' }] } },
      { data: { values: rates.filter((r) => r.min !== null && r.max !== null) }, mark: { type: 'rule' }, encoding: { x: hostsAxis('Hosts'), y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' }, color } },
      // What the hosts' slots allow (hosts × capacity / sleep): the gap to it is what the shared CPUs cost.
      { data: { values: rates.filter((r) => r.bound !== null) }, mark: { type: 'line', strokeDash: [4, 4], color: '#888' }, encoding: { x: hostsAxis('Hosts'), y: { field: 'bound', type: 'quantitative' }, detail: { field: 'series' }, tooltip: [{ field: 'bound', title: 'slot bound (executions/s)' }] } },
    ],
  };

  const rec = (tables.recovery ?? []).map((t) => ({ series: series(t), hosts: num(t.hosts), median: num(t.ms_median), min: num(t.ms_min), max: num(t.ms_max), recovered: t.recovered, executions: t.executions })).filter((t) => t.median !== null);
  const recovery = {
    title: '(c) Recovery after SIGKILL of a host agent',
    width: 240,
    height: 280,
    layer: [
      { data: { values: rec }, mark: { type: 'point', filled: true, size: 80 }, encoding: { x: hostsAxis('Hosts before the kill'), y: { field: 'median', type: 'quantitative', title: 'Kill to answer, median (ms)' }, color, tooltip: [{ field: 'series' }, { field: 'hosts' }, { field: 'median', format: '.0f' }, { field: 'min', format: '.0f' }, { field: 'max', format: '.0f' }, { field: 'recovered' }, { field: 'executions' }] } },
      { data: { values: rec.filter((r) => r.min !== null && r.max !== null) }, mark: { type: 'rule' }, encoding: { x: hostsAxis('Hosts before the kill'), y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' }, color } },
    ],
  };

  return {
    $schema: VEGA_LITE_SCHEMA,
    title: figureTitle(figure, [
      `Figure ${figure.id}. (a) Task-to-Task hops: first handler end to second handler start (frontend-host: half a round trip); bars: medians, labelled with n;`,
      'error bars: 95% CI of the median (n > 20); ticks: p90. (b), (c): rules span min to max; (b) dashed: what the slots allow.',
      `Variant${networks.length > 1 ? 's' : ''}: ${networks.join(', ')}`,
      '(netns: each host in a network namespace of its own; loopback: the fallback)',
    ]),
    config: THEME,
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
    hconcat: [hops, throughput, recovery],
  };
}
