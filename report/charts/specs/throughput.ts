/** The vega-lite spec of Figure fig-throughput (experiments/throughput.ts). */
import type { FigureInfo, Row, VegaLiteSpec } from '../../types.js';
import { figureTitle, THEME, VEGA_LITE_SCHEMA } from '../theme.js';

export function throughputSpec(tables: Record<string, Row[]>, figure: FigureInfo, limitLabel: string): VegaLiteSpec {
  const summary = tables.summary ?? [];
  const sweep = summary.filter((r) => r.phase === 'sweep');
  const variants = [...new Set(summary.map((s) => String(s.variant)))];
  const limits = summary.filter((r) => r.phase === 'unloaded' && r.limit_ms !== null).map((r) => ({ variant: r.variant ?? null, limit_ms: r.limit_ms ?? null }));
  const rates = sweep.map((s) => Number(s.rate_offered));
  const maxRate = Math.max(1, ...rates);
  const x = { field: 'rate', type: 'quantitative', title: 'Offered rate (requests/s, Poisson)', scale: { type: 'log', domain: [Math.max(1, Math.min(...rates, maxRate) / 1.3), maxRate * 1.3] }, axis: { values: [...new Set(rates)], format: 'd' } };
  const color = { field: 'variant', type: 'nominal', title: 'Variant', legend: { orient: 'bottom', labelLimit: 400 } };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: figureTitle(figure, `Figure ${figure.id}. Variant${variants.length > 1 ? 's' : ''}: ${variants.join(', ')}`),
    config: THEME,
    resolve: { scale: { color: 'independent', strokeDash: 'independent' }, legend: { color: 'independent', strokeDash: 'independent' } },
    vconcat: [{ hconcat: sweepPanels(sweep, limits, x, color, maxRate, rates, limitLabel) }, { hconcat: timelinePanels(tables.timeline ?? [], color), resolve: { scale: { strokeDash: 'independent' }, legend: { strokeDash: 'independent' } } }],
  };
}

const TIMELINE_W = 260;
const TIMELINE_H = 180;

/**
 * The second row: over time, per variant, latency per window, the sandboxes in use and the cold starts begun (from the
 * records, experiments/runner/scaling.ts), so that a reader sees why one preset falls behind.
 */
function timelinePanels(timeline: Row[], color: Record<string, unknown>): Record<string, unknown>[] {
  const x = { field: 't', type: 'quantitative', title: 'Time since the variant\u2019s first request (s)' };
  const at = (r: Row): number => (Number(r.start_s) + Number(r.end_s)) / 2;
  const latency = timeline.flatMap((r) => [
    { variant: r.variant, t: at(r), statistic: 'p50', ms: r.p50_ms, rate: r.rate_offered },
    { variant: r.variant, t: at(r), statistic: 'p99', ms: r.p99_ms, rate: r.rate_offered },
  ]).filter((r) => typeof r.ms === 'number' && r.ms > 0);
  const inUse = timeline.map((r) => ({ variant: r.variant, t: r.start_s, n: r.sandboxes_in_use, created: r.sandboxes_created, rate: r.rate_offered }));
  const colds = timeline.flatMap((r) => [
    { variant: r.variant, t: r.start_s, kind: 'cold-sandbox', n: r.cold_sandbox },
    { variant: r.variant, t: r.start_s, kind: 'cold-worker', n: r.cold_worker },
  ]);
  const dash = (title: string, domain: string[]) => ({ field: title === 'Statistic' ? 'statistic' : 'kind', type: 'nominal', title, scale: { domain, range: [[1, 0], [6, 4]] }, legend: { orient: 'bottom', symbolType: 'stroke', symbolStrokeColor: '#333' } });
  return [
    {
      title: { text: 'Latency over time', subtitle: 'per window; grey: the offered rate of the step (right axis)' },
      width: TIMELINE_W,
      height: TIMELINE_H,
      layer: [
        {
          data: { values: timeline.filter((r) => typeof r.rate_offered === 'number' && r.rate_offered > 0).map((r) => ({ t: r.start_s, t2: r.end_s, rate: r.rate_offered })) },
          mark: { type: 'rect', color: '#bbb', opacity: 0.3 },
          encoding: { x, x2: { field: 't2' }, y: { field: 'rate', type: 'quantitative', title: 'Offered (req/s)', axis: { orient: 'right', titleColor: '#777' } } },
        },
        {
          data: { values: latency },
          mark: { type: 'line', interpolate: 'step-after' },
          encoding: {
            x,
            y: { field: 'ms', type: 'quantitative', title: 'Latency per window (ms, log)', scale: { type: 'log' } },
            color,
            strokeDash: dash('Statistic', ['p50', 'p99']),
            tooltip: [{ field: 'variant' }, { field: 't' }, { field: 'rate', title: 'offered/s' }, { field: 'statistic' }, { field: 'ms', format: '.1f' }],
          },
        },
      ],
      resolve: { scale: { y: 'independent' } },
    },
    {
      title: { text: 'Sandboxes in use', subtitle: 'from each sandbox\u2019s creation to its last invocation' },
      width: TIMELINE_W,
      height: TIMELINE_H,
      data: { values: inUse },
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
      encoding: {
        x,
        y: { field: 'n', type: 'quantitative', title: 'Sandboxes (count)', axis: { tickMinStep: 1, format: 'd' } },
        color,
        tooltip: [{ field: 'variant' }, { field: 't' }, { field: 'rate', title: 'offered/s' }, { field: 'n', title: 'in use' }, { field: 'created' }],
      },
    },
    {
      title: { text: 'Cold starts begun', subtitle: 'per window: a new sandbox, or a new worker in one' },
      width: TIMELINE_W,
      height: TIMELINE_H,
      data: { values: colds },
      mark: { type: 'line', interpolate: 'step-after' },
      encoding: {
        x,
        y: { field: 'n', type: 'quantitative', title: 'Cold starts per window', axis: { tickMinStep: 1, format: 'd' } },
        color,
        strokeDash: dash('Cold start', ['cold-sandbox', 'cold-worker']),
        tooltip: [{ field: 'variant' }, { field: 't' }, { field: 'kind' }, { field: 'n' }],
      },
    },
  ];
}

function sweepPanels(
  sweep: Row[],
  limits: Row[],
  x: Record<string, unknown>,
  color: Record<string, unknown>,
  maxRate: number,
  rates: number[],
  limitLabel: string,
): Record<string, unknown>[] {
  const long = sweep.flatMap((s) => [
    { variant: s.variant, rate: s.rate_offered, statistic: 'median', ms: s.latency_ms_median },
    { variant: s.variant, rate: s.rate_offered, statistic: 'p99', ms: s.latency_ms_p99 },
  ]).filter((r) => r.ms !== null);
  return [
      {
        title: { text: 'Client latency under load', subtitle: `red dotted line: ${limitLabel}` },
        width: 320,
        height: 280,
        layer: [
          // Points in their own layer: a line with points loses the strokeDash legend's symbols.
          { data: { values: long }, mark: { type: 'point', filled: true, size: 50, opacity: 1 }, encoding: { x, y: { field: 'ms', type: 'quantitative' }, color } },
          {
            data: { values: long },
            mark: { type: 'line' },
            encoding: {
              x,
              y: { field: 'ms', type: 'quantitative', title: 'Latency from intended send (ms, log scale)', scale: { type: 'log' } },
              color,
              strokeDash: {
                field: 'statistic',
                type: 'nominal',
                title: 'Statistic',
                scale: { domain: ['median', 'p99'], range: [[1, 0], [6, 4]] },
                legend: { orient: 'bottom', symbolType: 'stroke', symbolStrokeColor: '#333', symbolStrokeWidth: 2 },
              },
              tooltip: [{ field: 'variant' }, { field: 'rate' }, { field: 'statistic' }, { field: 'ms', format: '.3f' }],
            },
          },
          {
            data: { values: limits },
            mark: { type: 'rule', strokeDash: [2, 3], color: '#c00', strokeWidth: 1.5 },
            encoding: { y: { field: 'limit_ms', type: 'quantitative' } },
          },
        ],
      },
      {
        title: 'Achieved throughput',
        width: 320,
        height: 280,
        layer: [
          {
            data: { values: [{ rate: Math.max(1, Math.min(...rates, maxRate)), achieved: Math.max(1, Math.min(...rates, maxRate)) }, { rate: maxRate, achieved: maxRate }] },
            mark: { type: 'line', color: '#999', strokeDash: [2, 3] },
            encoding: { x, y: { field: 'achieved', type: 'quantitative' } },
          },
          {
            data: { values: sweep.filter((s) => s.achieved_per_s !== null).map((s) => ({ variant: s.variant, rate: s.rate_offered, achieved: s.achieved_per_s })) },
            mark: { type: 'line', point: { filled: true, size: 50 } },
            encoding: {
              x,
              y: { field: 'achieved', type: 'quantitative', title: 'Successful executions per second', scale: { type: 'log' } },
              color,
              tooltip: [{ field: 'variant' }, { field: 'rate' }, { field: 'achieved', format: '.1f' }],
            },
          },
        ],
      },
  ];
}
