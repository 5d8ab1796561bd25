/** The vega-lite spec of Figure fig-density (experiments/density.ts). */
import type { FigureInfo, Row, VegaLiteSpec } from '../../types.js';
import { figureTitle, PALETTE, THEME, VEGA_LITE_SCHEMA } from '../theme.js';
import { variantLabeler } from './variant-label.js';

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** A variant's legend entry: its short name and the fitted slope with its interval (or why there is none). */
function legendLabel(s: Row, unit: string, name: string, measured: boolean): string {
  if (!measured) return `${name}: no memory visible (its processes are not on this host)`;
  const slope = num(s.pss_mb_slope);
  const lo = num(s.pss_mb_slope_lo);
  const hi = num(s.pss_mb_slope_hi);
  if (slope === null) return `${name}: no fit`;
  return `${name}: ${slope.toFixed(1)} MB ${unit}${lo !== null && hi !== null ? ` [${lo.toFixed(1)}, ${hi.toFixed(1)}]` : ''}`;
}

export function densitySpec(tables: Record<string, Row[]>, figure: FigureInfo): VegaLiteSpec {
  const summary = tables.summary ?? [];
  const samples = tables.samples ?? [];
  const variants = [...new Set(samples.map((s) => String(s.variant)))].sort();
  const colorRange = variants.map((_, i) => PALETTE[i % PALETTE.length] as string);
  const shortName = variantLabeler(variants);
  const panel = (phase: 'idle' | 'concurrent') => {
    const per = phase === 'idle' ? 'idle function' : 'concurrent execution';
    const unit = phase === 'idle' ? 'per function' : 'per execution';
    const fits = summary.filter((s) => s.per === per);
    const mine = samples.filter((s) => s.phase === phase);
    const measured = (v: string) => mine.some((p) => p.variant === v && num(p.pss_mb) !== null);
    const labelOf = new Map(fits.map((s) => [String(s.variant), legendLabel(s, unit, shortName(String(s.variant)), measured(String(s.variant)))]));
    const pts = mine.map((s): Row => ({ ...s, series: labelOf.get(String(s.variant)) ?? String(s.variant), shape: s.valid === true ? 'counted' : 'left out' }));
    const xs = mine.map((p) => Number(p.x));
    const x0 = Math.min(...xs, 1);
    const x1 = Math.max(...xs, 2);
    const lines = fits.flatMap((s) => {
      const m = num(s.pss_mb_slope);
      const b = num(s.pss_mb_intercept);
      if (m === null || b === null) return [];
      const series = labelOf.get(String(s.variant)) ?? String(s.variant);
      return [
        { series, variant: s.variant, x: x0, mb: m * x0 + b },
        { series, variant: s.variant, x: x1, mb: m * x1 + b },
      ];
    });
    const domain = variants.map((v) => labelOf.get(v) ?? v);
    const color = {
      field: 'series',
      type: 'nominal',
      title: `Fitted PSS slope ${unit} [95% CI]`,
      scale: { domain, range: colorRange },
      legend: { orient: 'bottom', direction: 'vertical', labelLimit: 600, titleLimit: 400 },
    };
    const xTitle = phase === 'idle' ? 'Functions deployed and warm, idle (k)' : 'Concurrent executions of sleep (c)';
    const ticks = [...new Set(xs)].sort((a, b) => a - b);
    const x = { field: 'x', type: 'quantitative', title: xTitle, scale: { domain: [0, x1 * 1.05], nice: false }, axis: { values: ticks, format: 'd' } };
    return {
      title: phase === 'idle' ? 'Memory of idle functions' : 'Memory during concurrent executions',
      width: 330,
      height: 280,
      layer: [
        {
          data: { values: lines },
          mark: { type: 'line', strokeWidth: 2, strokeDash: [6, 3] },
          encoding: { x, y: { field: 'mb', type: 'quantitative' }, color },
        },
        {
          data: { values: pts },
          mark: { type: 'point', filled: true, size: 70, opacity: 0.85 },
          encoding: {
            x,
            y: { field: 'pss_mb', type: 'quantitative', title: 'PSS of the app\'s processes (MB)', scale: { zero: true } },
            color,
            shape: { field: 'shape', type: 'nominal', title: 'Sample', scale: { domain: ['counted', 'left out'], range: ['circle', 'cross'] }, legend: pts.some((p) => p.shape === 'left out') ? { orient: 'bottom' } : null },
            tooltip: [
              { field: 'variant' },
              { field: 'x', title: phase === 'idle' ? 'k' : 'c' },
              { field: 'round' },
              { field: 'pss_mb', title: 'PSS MB', format: '.1f' },
              { field: 'rss_mb', title: 'RSS MB', format: '.1f' },
              { field: 'agent_pss_mb', title: 'agent PSS MB', format: '.1f' },
              { field: 'workers_pss_mb', title: 'workers PSS MB', format: '.1f' },
              { field: 'runtimes_pss_mb', title: 'pooled runtimes PSS MB', format: '.1f' },
              { field: 'sandboxes' },
              { field: 'processes' },
              { field: 'why' },
            ],
          },
        },
      ],
    };
  };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: figureTitle(figure, [
      `Figure ${figure.id}. PSS (shared pages divided among their sharers, from /proc) summed over`,
      "each app's sandbox processes: agent, workers, pooled runtimes; the frontend (the harness) is left out.",
      'Dashed lines: least-squares fits; legend: their slopes with Student-t 95% intervals.',
    ]),
    config: THEME,
    resolve: { scale: { color: 'independent', shape: 'independent' }, legend: { color: 'independent', shape: 'independent' } },
    hconcat: [panel('idle'), panel('concurrent')],
  };
}
