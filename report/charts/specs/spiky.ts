/** The vega-lite spec of Figure fig-spiky (experiments/spiky.ts): one column per variant, three rows over time. */
import type { FigureInfo, Row, VegaLiteSpec } from '../../types.js';
import { figureTitle, PALETTE, THEME, VEGA_LITE_SCHEMA } from '../theme.js';

const W = 300;
const H = 150;
/** One colour scale for every line of the figure (vega-lite shares it across the columns). */
const SERIES = {
  domain: ['p50', 'p99', 'sandboxes', 'worker processes', 'sandboxes in use (records)', 'cold-sandbox', 'cold-worker'],
  range: [PALETTE[0], PALETTE[2], PALETTE[1], PALETTE[4], PALETTE[8], PALETTE[3], PALETTE[5]],
};

export function spikySpec(tables: Record<string, Row[]>, figure: FigureInfo): VegaLiteSpec {
  const windows = tables.windows ?? [];
  const samples = tables.samples ?? [];
  const phases = tables.phases ?? [];
  const scaling = tables.scaling ?? [];
  const summary = tables.summary ?? [];
  const variants = [...new Set([...windows, ...samples].map((r) => String(r.variant)))];
  const nums = (rows: Row[], f: string): number[] => rows.map((r) => r[f]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  // Shared scales, so that the columns compare at a glance.
  const tMax = Math.max(1, ...nums(windows, 'start_s').map((s) => s + 1), ...nums(samples, 't_s'));
  const tMin = Math.min(0, ...nums(samples, 't_s'), ...nums(scaling, 'start_s'));
  const lat = [...nums(windows, 'p50_ms'), ...nums(windows, 'p99_ms')].filter((v) => v > 0);
  const latDomain = [Math.max(1, Math.min(...lat, 100) / 1.5), Math.max(10, ...lat) * 1.5];
  const rateMax = Math.max(1, ...nums(windows, 'offered_per_s')) * 1.1;
  const countMax = Math.max(1, ...nums(samples, 'sandboxes'), ...nums(samples, 'workers'), ...nums(scaling, 'sandboxes_in_use')) + 1;
  const coldMax = Math.max(1, ...scaling.map((r) => Number(r.cold_sandbox) + Number(r.cold_worker)).filter(Number.isFinite)) + 1;
  const memMax = Math.max(1, ...nums(samples, 'pss_mib')) * 1.1;
  const x = { field: 't', type: 'quantitative', title: 'Time since the schedule started (s)', scale: { domain: [tMin, tMax], nice: false } };
  const shade = (v: string) => ({
    data: { values: phases.filter((p) => p.variant === v).map((p) => ({ t: p.start_s, t2: p.end_s, phase: p.phase })) },
    mark: { type: 'rect', color: '#f3d9b1', opacity: 0.6 },
    encoding: { x: { field: 't', type: 'quantitative', scale: { domain: [tMin, tMax], nice: false } }, x2: { field: 't2' } },
  });
  const column = (v: string): Record<string, unknown> => {
    const ka = summary.find((s) => s.variant === v)?.keep_alive_s;
    const w: Row[] = windows.filter((r) => r.variant === v).map((r) => ({ ...r, t: Number(r.start_s) + 0.5 }));
    const lat = w.flatMap((r) => [
      { t: r.t, statistic: 'p50', ms: r.p50_ms },
      { t: r.t, statistic: 'p99', ms: r.p99_ms },
    ]).filter((r) => typeof r.ms === 'number' && r.ms > 0);
    const s = samples.filter((r) => r.variant === v);
    const counts = s.flatMap((r) => [
      { t: r.t_s, what: 'sandboxes', n: r.sandboxes },
      { t: r.t_s, what: 'worker processes', n: r.workers },
    ]);
    const mem = s.map((r) => ({ t: r.t_s, mib: r.pss_mib }));
    const sc = scaling.filter((r) => r.variant === v);
    const inUse = sc.map((r) => ({ t: r.start_s, what: 'sandboxes in use (records)', n: r.sandboxes_in_use }));
    // Stacked by hand (a bar spanning its window cannot stack in vega-lite): cold-sandbox below, cold-worker above.
    const colds = sc.flatMap((r) => [
      { t: r.start_s, t2: r.end_s, kind: 'cold-sandbox', n: r.cold_sandbox, lo: 0, hi: Number(r.cold_sandbox) },
      { t: r.start_s, t2: r.end_s, kind: 'cold-worker', n: r.cold_worker, lo: Number(r.cold_sandbox), hi: Number(r.cold_sandbox) + Number(r.cold_worker) },
    ]).filter((r) => Number(r.n) > 0);
    return {
      title: { text: v, subtitle: `keep-alive ${ka === null || ka === undefined ? "platform's own" : `${String(ka)} s`}; shaded: spikes` },
      vconcat: [
        {
          width: W,
          height: H,
          layer: [
            shade(v),
            {
              data: { values: w.map((r) => ({ t: r.start_s, t2: r.end_s, offered_per_s: r.offered_per_s })) },
              mark: { type: 'rect', color: '#bbb', opacity: 0.6 },
              encoding: { x, x2: { field: 't2' }, y: { field: 'offered_per_s', type: 'quantitative', title: 'Offered (req/s)', scale: { domain: [0, rateMax] }, axis: { orient: 'right', titleColor: '#777' } } },
            },
            {
              data: { values: lat },
              mark: { type: 'line', point: { filled: true, size: 25 }, interpolate: 'step-after' },
              encoding: {
                x,
                y: { field: 'ms', type: 'quantitative', title: 'Latency per window (ms, log)', scale: { type: 'log', domain: latDomain } },
                color: { field: 'statistic', type: 'nominal', title: null, scale: SERIES, legend: { orient: 'top', direction: 'horizontal' } },
                tooltip: [{ field: 't' }, { field: 'statistic' }, { field: 'ms', format: '.1f' }],
              },
            },
          ],
          resolve: { scale: { y: 'independent' } },
        },
        {
          width: W,
          height: H,
          layer: [
            shade(v),
            // Two layers, the workers' line dashed, so that equal counts (one sandbox, one worker) both stay visible.
            ...(['sandboxes', 'worker processes'] as const).map((what) => ({
              data: { values: counts.filter((c) => c.what === what) },
              mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2, ...(what === 'worker processes' ? { strokeDash: [5, 3] } : {}) },
              encoding: {
                x,
                y: { field: 'n', type: 'quantitative', title: 'Alive (count)', scale: { domain: [0, countMax] }, axis: { tickMinStep: 1, format: 'd' } },
                color: { field: 'what', type: 'nominal', title: null, scale: SERIES },
              },
            })),
            {
              data: { values: inUse },
              mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5, strokeDash: [1, 2] },
              encoding: { x, y: { field: 'n', type: 'quantitative', scale: { domain: [0, countMax] } }, color: { field: 'what', type: 'nominal', title: null, scale: SERIES } },
            },
          ],
        },
        {
          width: W,
          height: H,
          layer: [
            shade(v),
            {
              data: { values: colds },
              mark: { type: 'rect', opacity: 0.9 },
              encoding: {
                x,
                x2: { field: 't2' },
                y: { field: 'lo', type: 'quantitative', title: 'Cold starts per window', scale: { domain: [0, coldMax] }, axis: { tickMinStep: 1, format: 'd' } },
                y2: { field: 'hi' },
                color: { field: 'kind', type: 'nominal', title: null, scale: SERIES },
                tooltip: [{ field: 't' }, { field: 'kind' }, { field: 'n' }],
              },
            },
          ],
        },
        {
          width: W,
          height: H,
          layer: [
            shade(v),
            {
              data: { values: mem },
              mark: { type: 'area', interpolate: 'step-after', color: PALETTE[6], opacity: 0.35, line: { color: PALETTE[6] } },
              encoding: { x, y: { field: 'mib', type: 'quantitative', title: 'Sandboxes\u2019 PSS (MiB)', scale: { domain: [0, memMax] } } },
            },
          ],
        },
      ],
    };
  };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: figureTitle(figure, `Figure ${figure.id}. Variant${variants.length > 1 ? 's' : ''}: ${variants.join(', ')}`),
    config: THEME,
    resolve: { scale: { color: 'shared' } },
    hconcat: variants.map(column),
  };
}
