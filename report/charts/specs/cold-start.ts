/** The vega-lite spec of Figure fig-cold-start (experiments/cold-start.ts). */
import type { FigureInfo, Row, VegaLiteSpec } from '../../types.js';
import { variantLabeler } from './variant-label.js';
import { figureTitle, PALETTE, THEME, VEGA_LITE_SCHEMA } from '../theme.js';

/** The phases stacked in the figure, bottom to top. `key` is the field of experiments/cold-start.ts's phasesOf. */
export const PHASES = [
  { key: 'sandboxCreate', metric: 'sandbox_create', label: 'sandbox create' },
  { key: 'sandboxStart', metric: 'sandbox_start', label: 'sandbox start (agent)' },
  { key: 'runtimeBoot', metric: 'runtime_boot', label: 'runtime boot' },
  { key: 'codeLoad', metric: 'code_load', label: 'code load' },
  { key: 'workerRest', metric: 'worker_start_rest', label: 'rest of worker start' },
  { key: 'handler', metric: 'handler', label: 'handler' },
  { key: 'other', metric: 'other', label: 'other (HTTP, frontend, IPC)' },
] as const;

const LADDER = ['cold-sandbox', 'cold-worker', 'warm'];

export function coldStartSpec(tables: Record<string, Row[]>, figure: FigureInfo): VegaLiteSpec {
  const phases = tables.phases ?? [];
  const samples = (tables.samples ?? []).map((s, i) => ({ ...s, jitter: ((i * 0.6180339887) % 1) * 0.8 - 0.4 }));
  const variants = [...new Set(phases.map((p) => String(p.variant)))];
  const many = variants.length > 1;
  // Only temperatures a variant actually has: per-function has no cold-worker level, and a 0 ms bar would read as one.
  const measured = phases.filter((p) => typeof p.ms_median === 'number');
  const totals = new Map<string, { variant: unknown; temperature: unknown; total: number }>();
  for (const p of measured) {
    const k = `${String(p.variant)}|${String(p.temperature)}`;
    const t = totals.get(k) ?? { variant: p.variant, temperature: p.temperature, total: 0 };
    t.total += p.ms_median as number;
    totals.set(k, t);
  }
  // With several variants side by side, each bar's label names its variant, as briefly as tells them apart.
  const label = variantLabeler(variants);
  const shortName = (v: unknown) => label(String(v));
  const totalRows = [...totals.values()].map((t) => ({
    ...t,
    label: many ? [shortName(t.variant), `${t.total.toFixed(t.total < 10 ? 2 : 1)} ms`] : `${t.total.toFixed(t.total < 10 ? 2 : 1)} ms`,
  }));
  const x = { field: 'temperature', type: 'nominal', sort: LADDER, title: 'Temperature', axis: { labelAngle: 0 } };
  const xOffset = many ? { xOffset: { field: 'variant', type: 'nominal', title: 'Variant' } } : {};
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: figureTitle(figure, [`Figure ${figure.id}. Variant${many ? 's' : ''}: ${variants.join(', ')}`]),
    config: THEME,
    resolve: { scale: { color: 'independent', x: 'independent', xOffset: 'independent' }, legend: { color: 'independent' } },
    hconcat: [
      {
        title: 'Median of each phase, stacked',
        width: many ? 160 * variants.length + 140 : 320,
        height: 280,
        layer: [
          {
            data: { values: measured },
            mark: { type: 'bar' },
            encoding: {
              x,
              ...xOffset,
              y: { field: 'ms_median', type: 'quantitative', stack: 'zero', title: 'Median time (ms)' },
              color: {
                field: 'phase',
                type: 'nominal',
                title: 'Phase',
                scale: { domain: PHASES.map((p) => p.label), range: PALETTE.slice(0, PHASES.length) },
                legend: { orient: 'bottom', columns: 2, labelLimit: 260 },
              },
              order: { field: 'order', type: 'quantitative' },
              tooltip: [{ field: 'variant' }, { field: 'temperature' }, { field: 'phase' }, { field: 'ms_median', title: 'median ms', format: '.3f' }],
            },
          },
          {
            data: { values: totalRows },
            mark: { type: 'text', dy: many ? -14 : -7, fontSize: many ? 10 : 11 },
            encoding: { x, ...xOffset, y: { field: 'total', type: 'quantitative' }, text: { field: 'label' } },
          },
        ],
      },
      {
        title: 'Client latency of every request',
        width: 320,
        height: 280,
        data: { values: samples },
        mark: { type: 'point', filled: true, opacity: 0.6, size: 28 },
        encoding: {
          x,
          xOffset: { field: 'jitter', type: 'quantitative', scale: { domain: [-0.5, 0.5] }, axis: null },
          y: { field: 'e2e_ms', type: 'quantitative', scale: { type: 'log' }, title: 'Client latency (ms, log scale)' },
          color: {
            field: 'origin',
            type: 'nominal',
            title: 'Worker came from',
            scale: { domain: ['existing', 'pool', 'spawn'], range: ['#9e9e9e', '#17becf', '#6a3d9a'] },
            legend: { orient: 'bottom' },
          },
          ...(many ? { shape: { field: 'variant', type: 'nominal', title: 'Variant' } } : {}),
          tooltip: [{ field: 'variant' }, { field: 'temperature' }, { field: 'origin' }, { field: 'round' }, { field: 'e2e_ms', format: '.3f' }],
        },
      },
    ],
  };
}
