/** The vega-lite spec of Figure fig-sessions (experiments/sessions.ts). */
import type { FigureInfo, Row, VegaLiteSpec } from '../../types.js';
import { figureTitle, PALETTE, THEME, VEGA_LITE_SCHEMA } from '../theme.js';
import { variantLabeler } from './variant-label.js';

const MESSAGE_LABELS: Record<string, string> = {
  'session-message': 'message to a running session function',
  'execution-per-message': 'one execution per message',
};
const TRANSFER_LABELS: Record<string, string> = { pipe: 'data pipe', storage: 'context.storage', payload: 'workflow payload' };

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const size = (b: number): string => (b >= 1024 * 1024 ? `${b / (1024 * 1024)} MiB` : `${b / 1024} KiB`);

export function sessionsSpec(tables: Record<string, Row[]>, figure: FigureInfo): VegaLiteSpec {
  const messages = tables.messages ?? [];
  const transfers = tables.transfers ?? [];
  const fullNames = [...new Set([...messages, ...transfers].map((r) => String(r.variant)))];
  const labelOf = variantLabeler(fullNames);
  const variants = fullNames.map(labelOf);
  const styles = Object.values(MESSAGE_LABELS);
  const methods = Object.values(TRANSFER_LABELS);

  const bars = messages.map((m) => ({
    variant: labelOf(String(m.variant)),
    style: MESSAGE_LABELS[String(m.method)] ?? String(m.method),
    median: num(m.latency_ms_median),
    lo: num(m.latency_ms_medianLo),
    hi: num(m.latency_ms_medianHi),
    p90: num(m.latency_ms_p90),
    n: m.latency_ms_n,
  }));
  const x = { field: 'variant', type: 'nominal', title: 'Preset', sort: variants, axis: { labelAngle: 0 } };
  const xOffset = { field: 'style', type: 'nominal', sort: styles };
  const color = { field: 'style', type: 'nominal', title: 'Message style', sort: styles, scale: { domain: styles, range: [PALETTE[0], PALETTE[1]] }, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 400 } };
  const latency = {
    title: '(a) Message latency (client round trip)',
    width: Math.max(260, 130 * variants.length),
    height: 300,
    layer: [
      {
        data: { values: bars },
        mark: { type: 'bar' },
        encoding: {
          x,
          xOffset,
          y: { field: 'median', type: 'quantitative', title: 'Median round trip (ms)' },
          color,
          tooltip: [{ field: 'variant' }, { field: 'style' }, { field: 'median', format: '.2f' }, { field: 'p90', format: '.2f' }, { field: 'n' }],
        },
      },
      {
        data: { values: bars.filter((b) => b.lo !== null && b.hi !== null) },
        mark: { type: 'errorbar', ticks: { size: 8 }, color: '#222' },
        encoding: { x, xOffset, y: { field: 'lo', type: 'quantitative', title: 'Median round trip (ms)' }, y2: { field: 'hi' } },
      },
      {
        data: { values: bars.filter((b) => b.p90 !== null) },
        mark: { type: 'tick', color: '#222', thickness: 2, size: 14 },
        encoding: { x, xOffset, y: { field: 'p90', type: 'quantitative', title: 'Median round trip (ms)' } },
      },
    ],
  };

  const points = transfers
    .map((t) => ({
      variant: labelOf(String(t.variant)),
      method: TRANSFER_LABELS[String(t.method)] ?? String(t.method),
      bytes: num(t.bytes),
      size: size(Number(t.bytes)),
      ms: num(t.transfer_ms_median),
      mibPerS: num(t.mib_per_s_median),
      n: t.transfer_ms_n,
    }))
    .filter((p) => p.ms !== null && p.ms > 0 && p.bytes !== null);
  const moving = {
    title: '(b) Moving N bytes between two functions',
    width: 380,
    height: 300,
    data: { values: points },
    mark: { type: 'line', point: { filled: true, size: 50 } },
    encoding: {
      x: { field: 'bytes', type: 'quantitative', title: 'Bytes moved (log)', scale: { type: 'log', base: 2 }, axis: { values: [...new Set(points.map((p) => p.bytes))], labelExpr: "datum.value >= 1048576 ? datum.value / 1048576 + ' MiB' : datum.value / 1024 + ' KiB'" } },
      y: { field: 'ms', type: 'quantitative', title: 'Median transfer time (ms, log)', scale: { type: 'log' } },
      color: { field: 'method', type: 'nominal', title: 'Through', sort: methods, scale: { domain: methods, range: [PALETTE[4], PALETTE[2], PALETTE[6]] }, legend: { orient: 'bottom', direction: 'vertical' } },
      // Dash and point shape both tell the presets apart; one legend shows both.
      strokeDash: { field: 'variant', type: 'nominal', title: 'Preset', sort: variants, legend: { orient: 'bottom', direction: 'vertical', symbolStrokeColor: '#333', symbolFillColor: '#333' } },
      shape: { field: 'variant', type: 'nominal', title: 'Preset', sort: variants, legend: { orient: 'bottom', direction: 'vertical', symbolStrokeColor: '#333', symbolFillColor: '#333' } },
      tooltip: [{ field: 'variant' }, { field: 'method' }, { field: 'size' }, { field: 'ms', format: '.2f' }, { field: 'mibPerS', title: 'MiB/s', format: '.1f' }, { field: 'n' }],
    },
  };

  return {
    $schema: VEGA_LITE_SCHEMA,
    title: figureTitle(figure, [
      `Figure ${figure.id}. (a) bars: medians; error bars: 95% CI of the median (n > 20); ticks: p90.`,
      '(b) pipe and storage: sender until the receiver acknowledged; payload: first Task end to second Task start.',
      `Variant${fullNames.length > 1 ? 's' : ''}: ${fullNames.join(', ')}`,
    ]),
    config: THEME,
    // The two panels' colours mean different things (message style, transfer method).
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent', strokeDash: 'independent', shape: 'independent' } },
    hconcat: [latency, moving],
  };
}
