/** The vega-lite spec of Figure fig-throughput (experiments/throughput.ts). */
import type { FigureInfo, Row, VegaLiteSpec } from '../../types.js';
import { figureTitle, THEME, VEGA_LITE_SCHEMA } from '../theme.js';

export function throughputSpec(tables: Record<string, Row[]>, figure: FigureInfo, limitLabel: string): VegaLiteSpec {
  const summary = tables.summary ?? [];
  const sweep = summary.filter((r) => r.phase === 'sweep');
  const variants = [...new Set(summary.map((s) => String(s.variant)))];
  const limits = summary.filter((r) => r.phase === 'unloaded' && r.limit_ms !== null).map((r) => ({ variant: r.variant, limit_ms: r.limit_ms }));
  const long = sweep.flatMap((s) => [
    { variant: s.variant, rate: s.rate_offered, statistic: 'median', ms: s.latency_ms_median },
    { variant: s.variant, rate: s.rate_offered, statistic: 'p99', ms: s.latency_ms_p99 },
  ]).filter((r) => r.ms !== null);
  const rates = sweep.map((s) => Number(s.rate_offered));
  const maxRate = Math.max(1, ...rates);
  const x = { field: 'rate', type: 'quantitative', title: 'Offered rate (requests/s, Poisson)', scale: { type: 'log', domain: [Math.max(1, Math.min(...rates, maxRate) / 1.3), maxRate * 1.3] }, axis: { values: [...new Set(rates)], format: 'd' } };
  const color = { field: 'variant', type: 'nominal', title: 'Variant', legend: { orient: 'bottom', labelLimit: 400 } };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: figureTitle(figure, `Figure ${figure.id}. Variant${variants.length > 1 ? 's' : ''}: ${variants.join(', ')}`),
    config: THEME,
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
    hconcat: [
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
    ],
  };
}
