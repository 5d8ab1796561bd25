/** The vega-lite spec of Figure fig-chaos (experiments/chaos.ts): the counts of a chaos run, and its kills over time. */
import type { FigureInfo, Row, VegaLiteSpec } from '../../types.js';
import { figureTitle, PALETTE, THEME, VEGA_LITE_SCHEMA } from '../theme.js';

/** The counts drawn, in order, with what each says; the ones that must be 0 are red. */
const BARS: Array<{ key: string; label: string; mustBeZero: boolean }> = [
  { key: 'submitted', label: 'submitted', mustBeZero: false },
  { key: 'completed', label: 'completed', mustBeZero: false },
  { key: 'failed', label: 'failed', mustBeZero: true },
  { key: 'lost', label: 'lost', mustBeZero: true },
  { key: 'duplicatedOutputs', label: 'duplicated outputs', mustBeZero: true },
  { key: 'wrongOutputs', label: 'wrong outputs', mustBeZero: true },
  { key: 'steps', label: 'steps', mustBeZero: false },
  { key: 'stepRuns', label: 'step runs', mustBeZero: false },
  { key: 'stepsRerun', label: 'steps re-run', mustBeZero: false },
  { key: 'missingSteps', label: 'steps without side effect', mustBeZero: true },
  { key: 'takenOverFromFrontend', label: 'taken over (frontend kill)', mustBeZero: false },
  { key: 'placedAgainAfterHost', label: 'placed again (host kill)', mustBeZero: false },
];

export function chaosSpec(tables: Record<string, Row[]>, figure: FigureInfo): VegaLiteSpec {
  const counts = tables.summary ?? [];
  const bars = counts.flatMap((c) => BARS.map((b) => ({ variant: String(c.variant), count: b.label, value: Number(c[b.key] ?? 0), kind: b.mustBeZero ? 'must be 0' : 'count' })));
  const order = BARS.map((b) => b.label);
  const color = { field: 'kind', type: 'nominal', title: null, scale: { domain: ['count', 'must be 0'], range: [PALETTE[0], PALETTE[2]] }, legend: { orient: 'bottom' } };
  const countsView = {
    title: '(a) Executions and steps',
    width: 320,
    height: 300,
    data: { values: bars },
    layer: [
      { mark: { type: 'bar' }, encoding: { y: { field: 'count', type: 'nominal', sort: order, title: null, axis: { labelLimit: 260 } }, x: { field: 'value', type: 'quantitative', title: 'Count' }, color } },
      { mark: { type: 'text', align: 'left', dx: 4 }, encoding: { y: { field: 'count', type: 'nominal', sort: order }, x: { field: 'value', type: 'quantitative' }, text: { field: 'value' } } },
    ],
  };
  const kills = (tables.kills ?? []).map((k) => ({ what: `${String(k.kind)}${k.target === k.kind ? '' : ` ${String(k.target)}`} (pid ${String(k.pid)}; ${String(k.executions_running ?? '?')} running)`, at: Number(k.at_ms) / 1000, back: k.restarted_ms === null ? null : Number(k.restarted_ms) / 1000 }));
  const killsView = {
    title: '(b) Kills: SIGKILL (dot) and back up (bar end)',
    width: 320,
    height: 300,
    data: { values: kills },
    layer: [
      { transform: [{ filter: 'datum.back !== null' }], mark: { type: 'rule', strokeWidth: 3, color: PALETTE[1] }, encoding: { y: { field: 'what', type: 'nominal', title: null, axis: { labelLimit: 300 } }, x: { field: 'at', type: 'quantitative', title: 's since the first submission' }, x2: { field: 'back' } } },
      { mark: { type: 'point', filled: true, size: 80, color: PALETTE[2] }, encoding: { y: { field: 'what', type: 'nominal' }, x: { field: 'at', type: 'quantitative' } } },
    ],
  };
  const c = counts[0];
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: figureTitle(figure, c === undefined ? undefined : [`${String(c.lost)} lost, ${String(c.duplicatedOutputs)} duplicated of ${String(c.submitted)} submitted (seed ${String(c.seed)})`, `Figure ${figure.id}`]),
    config: THEME,
    hconcat: [countsView, killsView],
  } as VegaLiteSpec;
}
