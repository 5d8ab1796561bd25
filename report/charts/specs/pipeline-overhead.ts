/** The vega-lite spec of Figure fig-pipeline-overhead (experiments/pipeline-overhead.ts). */
import type { FigureInfo, Row, VegaLiteSpec } from '../../types.js';
import { figureTitle, THEME, VEGA_LITE_SCHEMA } from '../theme.js';
import { variantLabeler } from './variant-label.js';

export const COMPUTE = "compute (sum of the functions' handler times)";
export const OVERHEAD = 'platform overhead (total − compute)';

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function pipelineOverheadSpec(tables: Record<string, Row[]>, figure: FigureInfo): VegaLiteSpec {
  const summary = tables.summary ?? [];
  const pipelines = [...new Set(summary.map((s) => String(s.pipeline)))];
  const fullNames = [...new Set(summary.map((s) => String(s.variant)))];
  const labelOf = variantLabeler(fullNames);
  const variants = [...new Set(summary.map((s) => labelOf(String(s.variant))))];
  const panels = pipelines.map((pipeline) => {
    const rows = summary.filter((s) => String(s.pipeline) === pipeline);
    const bars = rows.flatMap((s) => {
      const x = labelOf(String(s.variant));
      return [
        { x, component: COMPUTE, order: 0, ms: num(s.compute_ms_median) },
        { x, component: OVERHEAD, order: 1, ms: num(s.overhead_ms_median) },
      ];
    });
    const intervals = rows.flatMap((s) => {
      const x = labelOf(String(s.variant));
      return [
        { x, what: 'compute', lo: num(s.compute_ms_medianLo), hi: num(s.compute_ms_medianHi) },
        { x, what: 'total', lo: num(s.total_ms_medianLo), hi: num(s.total_ms_medianHi) },
      ].filter((i) => i.lo !== null && i.hi !== null);
    });
    const labels = rows.map((s) => {
      const c = num(s.compute_ms_median) ?? 0;
      const o = num(s.overhead_ms_median) ?? 0;
      const share = num(s.overhead_share_median);
      const top = Math.max(c + o, num(s.total_ms_medianHi) ?? 0);
      return {
        x: labelOf(String(s.variant)),
        top,
        label: `overhead ${share === null ? '?' : `${(share * 100).toFixed(0)}%`}`,
        sub: `total ${(num(s.total_ms_median) ?? 0).toFixed(1)} ms, n=${String(s.total_ms_n)}`,
      };
    });
    const x = { field: 'x', type: 'nominal', title: 'Variant', sort: variants, axis: { labelAngle: 0, labelLimit: 200 } };
    const yMax = Math.max(1, ...labels.map((l) => l.top)) * 1.22;
    const y = { type: 'quantitative', scale: { domain: [0, yMax], nice: false } };
    return {
      title: `${pipeline}, ${String(rows[0]?.stages ?? '?')} stages`,
      width: Math.max(380, 170 * variants.length),
      height: 300,
      layer: [
        {
          data: { values: bars },
          mark: { type: 'bar', width: { band: 0.6 } },
          encoding: {
            x,
            y: { field: 'ms', ...y, stack: 'zero', title: 'Median time per execution (ms)' },
            color: {
              field: 'component',
              type: 'nominal',
              title: null,
              scale: { domain: [COMPUTE, OVERHEAD], range: ['#4c78a8', '#f58518'] },
              legend: { orient: 'bottom', direction: 'vertical', labelLimit: 400 },
            },
            order: { field: 'order', type: 'quantitative' },
            tooltip: [{ field: 'x', title: 'variant' }, { field: 'component' }, { field: 'ms', title: 'median ms', format: '.3f' }],
          },
        },
        {
          data: { values: intervals },
          mark: { type: 'errorbar', ticks: { size: 10 }, thickness: 1.5, color: '#222' },
          encoding: {
            x,
            xOffset: { field: 'what', type: 'nominal', scale: { domain: ['compute', 'total'], paddingOuter: 1.2 } },
            y: { field: 'lo', ...y, title: 'Median time per execution (ms)' },
            y2: { field: 'hi' },
            tooltip: [{ field: 'what' }, { field: 'lo', format: '.3f' }, { field: 'hi', format: '.3f' }],
          },
        },
        {
          data: { values: labels },
          mark: { type: 'text', dy: -22, fontSize: 12, fontWeight: 'bold' },
          encoding: { x, y: { field: 'top', ...y }, text: { field: 'label' } },
        },
        {
          data: { values: labels },
          mark: { type: 'text', dy: -8, fontSize: 10, color: '#444' },
          encoding: { x, y: { field: 'top', ...y }, text: { field: 'sub' } },
        },
      ],
    };
  });
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: figureTitle(figure, [
      `Figure ${figure.id}. Warm executions. Bars: medians, stacked (they need not add up`,
      'to the median total). Error bars: 95% CI of the median compute (left) and total (right).',
      `Variant${fullNames.length > 1 ? 's' : ''}: ${fullNames.join(', ')}`,
    ]),
    config: THEME,
    hconcat: panels,
  };
}
