/** The vega-lite spec of Figure fig-cost-model (experiments/cost-model.ts): (a) cost vs spikes a day, (b) per preset. */
import type { FigureInfo, Row, VegaLiteSpec } from '../../types.js';
import { figureTitle, PALETTE, THEME, VEGA_LITE_SCHEMA } from '../theme.js';

export function costModelSpec(tables: Record<string, Row[]>, figure: FigureInfo, config: { functionMs: number; memoryGB: number; baseRps: number; spikeRps: number; spikeSeconds: number; vmType: string }): VegaLiteSpec {
  const curve = tables.curve ?? [];
  const self = tables.selfHosted ?? [];
  const crossing = (tables.summary ?? []).find((r) => r.item === 'crossover_spikes_per_day')?.value;
  const options = [...new Set(curve.map((r) => String(r.option)))];
  const a: Record<string, unknown> = {
    title: { text: '(a) Public cloud: cost per day', subtitle: `${config.functionMs} ms at ${config.memoryGB} GB; ${config.baseRps} req/s + N spikes/day of +${config.spikeRps} req/s for ${config.spikeSeconds} s` },
    width: 560,
    height: 260,
    layer: [
      {
        data: { values: curve },
        mark: { type: 'line', point: { filled: true, size: 30 }, strokeWidth: 2 },
        encoding: {
          x: { field: 'spikes_per_day', type: 'quantitative', title: 'Spikes per day (N)' },
          y: { field: 'usd_per_day', type: 'quantitative', title: 'Cost (USD per day)' },
          color: { field: 'option', type: 'nominal', title: null, scale: { domain: options, range: [PALETTE[0], PALETTE[1]] }, legend: { orient: 'top-left', labelLimit: 400 } },
          tooltip: [{ field: 'option' }, { field: 'spikes_per_day' }, { field: 'usd_per_day', format: '.2f' }, { field: 'usd_per_month', format: '.2f' }, { field: 'vms' }],
        },
      },
      ...(typeof crossing === 'number'
        ? [
            { data: { values: [{ n: crossing }] }, mark: { type: 'rule', strokeDash: [3, 3], color: '#333' }, encoding: { x: { field: 'n', type: 'quantitative' } } },
            {
              data: { values: [{ n: crossing, label: `crossover: ${crossing.toFixed(0)} spikes/day` }] },
              mark: { type: 'text', align: 'left', dx: 5, dy: 8, baseline: 'top', fontSize: 12 },
              encoding: { x: { field: 'n', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
            },
          ]
        : []),
    ],
  };
  const bar = (field: string, title: string, extra?: { field: string; label: string }): Record<string, unknown> => ({
    width: 150,
    height: 180,
    layer: [
      {
        data: { values: self },
        mark: { type: 'bar', color: PALETTE[4] },
        encoding: {
          x: { field: 'preset', type: 'nominal', title: 'Preset', axis: { labelAngle: 0 } },
          y: { field, type: 'quantitative', title, ...(field.endsWith('_usd') ? { axis: { format: '.1e' } } : {}) },
          tooltip: [{ field: 'variant' }, { field, format: '.4f' }],
        },
      },
      ...(extra
        ? [
            {
              data: { values: self },
              mark: { type: 'bar', color: '#2d5f2a', width: 12 },
              encoding: { x: { field: 'preset', type: 'nominal' }, y: { field: extra.field, type: 'quantitative' }, tooltip: [{ field: extra.field, format: '.4f', title: extra.label }] },
            },
          ]
        : []),
    ],
  });
  const b: Record<string, unknown> =
    self.length === 0
      ? { title: '(b) Self-hosted: no spiky run given', width: 560, height: 40, mark: 'text', data: { values: [{ t: 'run with --from <spiky-run-dir>' }] }, encoding: { text: { field: 't' } } }
      : {
          title: { text: '(b) Self-hosted, from the spiky run', subtitle: 'narrow dark bars: the part held while no request was in flight' },
          hconcat: [
            bar('node_s', 'Node-seconds (s)'),
            bar('memory_gib_s', 'Memory (GiB-s, PSS)', { field: 'idle_memory_gib_s', label: 'idle GiB-s' }),
            bar('memory_cost_usd', 'Memory cost (USD)', { field: 'idle_memory_cost_usd', label: 'idle USD' }),
          ],
        };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: figureTitle(figure, `Figure ${figure.id}`),
    config: THEME,
    vconcat: [a, b],
  };
}
