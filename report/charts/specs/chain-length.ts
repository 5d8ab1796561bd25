/** The vega-lite spec of Figure fig-chain-length (experiments/chain-length.ts). */
import type { FigureInfo, Row, VegaLiteSpec } from '../../types.js';
import { figureTitle, THEME, VEGA_LITE_SCHEMA } from '../theme.js';

/** The two ways per-hop overhead is measured (experiments/chain-length.ts writes these series names). */
export const RECORDS = 'records: handler end to next handler start';
export const CLIENT = 'client: slope of latency over length';

function dedupe(rows: Row[]): Row[] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const k = String(r.variant);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function chainLengthSpec(tables: Record<string, Row[]>, figure: FigureInfo): VegaLiteSpec {
  const summary = tables.summary ?? [];
  const hops = tables.hops ?? [];
  const variants = [...new Set(summary.map((s) => String(s.variant)))];
  const lengths = [...new Set(summary.map((s) => Number(s.length)))].sort((a, b) => a - b);
  const x = { field: 'length', type: 'quantitative', title: 'Chain length (functions)', scale: { type: 'log', base: 2, domain: [Math.min(...lengths, 1) / 1.25, Math.max(...lengths, 2) * 1.25] }, axis: { values: lengths, format: 'd' } };
  const long = summary.flatMap((s) => [
    { variant: s.variant, length: s.length, statistic: 'median', ms: s.e2e_ms_median, lo: s.e2e_ms_medianLo, hi: s.e2e_ms_medianHi },
    { variant: s.variant, length: s.length, statistic: 'p99', ms: s.e2e_ms_p99, lo: null, hi: null },
  ]);
  const color = { field: 'variant', type: 'nominal', title: 'Variant', legend: { orient: 'bottom' } };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: figureTitle(figure, `Figure ${figure.id}. Variant${variants.length > 1 ? 's' : ''}: ${variants.join(', ')}`),
    config: THEME,
    // One color per variant in both panels; what solid and dashed mean is said in each panel's subtitle.
    hconcat: [
      {
        title: { text: 'End-to-end latency (client)', subtitle: 'solid: median with its 95% CI; dashed: p99' },
        width: 320,
        height: 280,
        data: { values: long },
        layer: [
          // Points in their own layer: a line with points loses the strokeDash legend's symbols.
          { mark: { type: 'point', filled: true, size: 50, opacity: 1 }, encoding: { x, y: { field: 'ms', type: 'quantitative' }, color } },
          {
            mark: { type: 'line' },
            encoding: {
              x,
              y: { field: 'ms', type: 'quantitative', title: 'Latency (ms)', scale: { zero: true } },
              color,
              strokeDash: { field: 'statistic', type: 'nominal', scale: { domain: ['median', 'p99'], range: [[1, 0], [6, 4]] }, legend: null },
              tooltip: [{ field: 'variant' }, { field: 'length' }, { field: 'statistic' }, { field: 'ms', format: '.3f' }],
            },
          },
          {
            transform: [{ filter: 'datum.lo != null' }],
            mark: { type: 'errorbar', ticks: true },
            encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'Latency (ms)' }, y2: { field: 'hi' }, color },
          },
        ],
      },
      {
        title: { text: 'Per-hop overhead', subtitle: ['solid: from the records (handler end to next handler start, L ≥ 2);', 'dashed: slope of the client latency over chain length'] },
        width: 320,
        height: 280,
        layer: [
          {
            data: { values: hops.filter((h) => h.series === RECORDS) },
            mark: { type: 'line', point: { filled: true, size: 50 } },
            encoding: {
              x,
              y: { field: 'ms', type: 'quantitative', title: 'Overhead per hop (ms)', scale: { zero: true } },
              color,
              tooltip: [{ field: 'variant' }, { field: 'series' }, { field: 'length' }, { field: 'ms', format: '.4f' }],
            },
          },
          {
            // One value per variant: the least-squares slope over all lengths, drawn across the panel.
            data: { values: dedupe(hops.filter((h) => h.series === CLIENT)) },
            mark: { type: 'rule', strokeWidth: 2, strokeDash: [6, 4] },
            encoding: {
              y: { field: 'ms', type: 'quantitative' },
              color,
              tooltip: [{ field: 'variant' }, { field: 'series' }, { field: 'ms', format: '.4f' }],
            },
          },
        ],
      },
    ],
  };
}
