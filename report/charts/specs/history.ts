/**
 * The vega-lite spec of `mfbench history --out`: a metric's median per stored run, with its 95% interval, in the
 * order the runs started; the x labels are the runs' short commits ('*' when the tree was dirty) over their start time.
 */
import type { VegaLiteSpec } from '../../types.js';
import type { History, HistoryPoint } from '../../compare/history.js';
import { figureTitle, THEME, VEGA_LITE_SCHEMA } from '../theme.js';

/** A run's x label: short commit ('*' when dirty, '?' when unknown) and start time, as two lines joined by '|'. */
export function runLabel(p: Pick<HistoryPoint, 'commit' | 'dirty' | 'startedAt'>): string {
  const commit = p.commit === null ? 'no commit' : `${p.commit.slice(0, 7)}${p.dirty === true ? '*' : ''}`;
  return `${commit}|${p.startedAt.slice(0, 16).replace('T', ' ')}`;
}

/** A series' name in the legend: what tells the series apart (platform, temperature, labels), without the metric. */
export function seriesLabel(p: HistoryPoint, omitExperiment = false): string {
  const parts = omitExperiment ? [p.key.platform] : [p.key.experiment, p.key.platform];
  if (p.key.temperature) parts.push(p.key.temperature);
  if (p.key.labels) {
    let labels = p.key.labels;
    try {
      labels = Object.entries(JSON.parse(p.key.labels) as Record<string, unknown>)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(', ');
    } catch {
      // not JSON: shown as stored
    }
    parts.push(labels);
  }
  return parts.join(' · ');
}

export function historySpec(h: History): VegaLiteSpec {
  // One x position per run, in start order; two runs with the same label (same commit, same minute) get a suffix.
  const runs: string[] = [];
  const labelOf = new Map<string, string>();
  for (const p of h.points) {
    if (labelOf.has(p.runDir)) continue;
    let label = runLabel(p);
    for (let i = 2; runs.includes(label); i++) label = `${runLabel(p)} (${i})`;
    labelOf.set(p.runDir, label);
    runs.push(label);
  }
  // One experiment throughout: it goes into the subtitle, not into every legend entry.
  const experiments = [...new Set(h.points.map((p) => p.key.experiment))];
  const oneExperiment = experiments.length === 1;
  const values = h.points
    .filter((p) => p.median !== null)
    .map((p) => ({
      run: labelOf.get(p.runDir) ?? p.runId,
      runId: p.runId,
      series: seriesLabel(p, oneExperiment),
      median: p.median,
      lo: p.ci?.lower ?? null,
      hi: p.ci?.upper ?? null,
      n: p.n,
      failures: p.failures,
    }));
  const series = [...new Set(values.map((v) => v.series))];
  const x = {
    field: 'run',
    type: 'ordinal',
    sort: runs,
    title: 'Run (commit, * = uncommitted changes; start time, UTC)',
    axis: { labelExpr: "split(datum.value, '|')", labelAngle: 0, labelLimit: 160 },
  };
  const color = { field: 'series', type: 'nominal', title: 'Series', legend: { orient: 'bottom', direction: 'vertical', labelLimit: 900, columns: 1 } };
  const filters = Object.entries({ ...h.selector, ...(oneExperiment ? { experiment: experiments[0] } : {}) })
    .filter(([k, v]) => k !== 'metric' && v !== undefined)
    .map(([k, v]) => `${k} = ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: figureTitle({ id: 'history', title: `History of ${h.selector.metric}` }, [
      'Median per run with its 95% interval (Le Boudec; shown for n > 20), runs in start order.',
      `${filters.length > 0 ? `Selected: ${filters.join(', ')}. ` : ''}${runs.length} run(s), ${series.length} series; warm-up and failed samples left out.`,
    ]),
    config: THEME,
    width: Math.max(480, 90 * runs.length),
    height: 280,
    data: { values },
    layer: [
      {
        mark: { type: 'line', point: { filled: true, size: 60 } },
        encoding: {
          x,
          y: { field: 'median', type: 'quantitative', title: `${h.selector.metric} (median)`, scale: { zero: false } },
          color,
          tooltip: [{ field: 'runId' }, { field: 'series' }, { field: 'median', format: '.4f' }, { field: 'lo', format: '.4f' }, { field: 'hi', format: '.4f' }, { field: 'n' }, { field: 'failures' }],
        },
      },
      {
        transform: [{ filter: 'datum.lo != null' }],
        mark: { type: 'errorbar', ticks: { size: 10 } },
        encoding: { x, y: { field: 'lo', type: 'quantitative', title: `${h.selector.metric} (median)` }, y2: { field: 'hi' }, color },
      },
    ],
  };
}
