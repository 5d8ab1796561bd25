/**
 * A metric across stored runs: the median (with its Le Boudec interval) per run and series, ordered by run start
 * time, with each run's git commit. The data behind `mfbench history` and its chart.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MfError } from '../../platform/errors.js';
import { DEFAULT_LEVEL, medianCI } from '../stats/intervals.js';
import { seriesKeyString, seriesOf, usableValues, type SeriesKey } from './compare.js';
import { readMetricStream } from './stream.js';

export interface HistorySelector {
  metric: string;
  experiment?: string;
  platform?: string;
  temperature?: string;
  /** Only samples whose labels include all of these. */
  labels?: Record<string, string | number | boolean>;
}

export interface HistoryPoint {
  runId: string;
  runDir: string;
  startedAt: string;
  commit: string | null;
  dirty: boolean | null;
  key: SeriesKey;
  /** ok, non-warm-up samples. */
  n: number;
  failures: number;
  median: number | null;
  /** The median's interval, null when unavailable (n <= 20). */
  ci: { lower: number; upper: number; level: number } | null;
}

export interface History {
  selector: HistorySelector;
  points: HistoryPoint[];
  /** Directories under runsDir that are not readable runs with a metric stream, and why. */
  skipped: { dir: string; reason: string }[];
}

function matches(r: { experiment: string; platform: string; metric: string; temperature?: string; labels?: Record<string, unknown> }, s: HistorySelector): boolean {
  if (r.metric !== s.metric) return false;
  if (s.experiment !== undefined && r.experiment !== s.experiment) return false;
  if (s.platform !== undefined && r.platform !== s.platform) return false;
  if (s.temperature !== undefined && (r.temperature ?? '') !== s.temperature) return false;
  for (const [k, v] of Object.entries(s.labels ?? {})) if (r.labels?.[k] !== v) return false;
  return true;
}

/** The selected metric's median per run and series, for every run directory directly under `runsDir`. */
export async function historyOf(runsDir: string, selector: HistorySelector, level = DEFAULT_LEVEL): Promise<History> {
  let entries: string[];
  try {
    entries = (await readdir(runsDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    throw new MfError('MF_CONFIG_INVALID', `cannot read the runs directory ${runsDir}`, { path: runsDir, cause: (err as Error).message });
  }
  const points: HistoryPoint[] = [];
  const skipped: History['skipped'] = [];
  for (const name of entries.sort()) {
    const dir = join(runsDir, name);
    let stream;
    try {
      stream = await readMetricStream(dir);
    } catch (err) {
      skipped.push({ dir, reason: (err as Error).message });
      continue;
    }
    const m = stream.manifest;
    for (const [, s] of seriesOf(stream.records.filter((r) => matches(r, selector)))) {
      const values = usableValues(s.records);
      const med = medianCI(values, level);
      points.push({
        runId: m.runId,
        runDir: dir,
        startedAt: m.startedAt,
        commit: m.git?.commit ?? null,
        dirty: m.git?.dirty ?? null,
        key: s.key,
        n: values.length,
        failures: s.records.filter((r) => r.warmup !== true && r.outcome !== 'ok').length,
        median: values.length > 0 ? med.value : null,
        ci: med.ci.available ? { lower: med.ci.lower, upper: med.ci.upper, level: med.ci.level } : null,
      });
    }
  }
  points.sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt) || a.runId.localeCompare(b.runId) || seriesKeyString(a.key).localeCompare(seriesKeyString(b.key)));
  return { selector, points, skipped };
}
