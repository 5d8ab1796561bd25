/**
 * The processing step (docs/conventions.md#7): from a run directory's stored raw records to everything derived — the flat
 * metric stream (records.jsonl), CSV tables, summary.json, figures (vega-lite spec, SVG, PNG) and the HTML report.
 * It never measures, so `mfbench report <run-dir>` redraws a figure without rerunning, and gives the same CSV.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { MfError } from '../platform/errors.js';
import { renderSpec } from './charts/render.js';
import { COMPARE_DEFAULTS } from './compare/compare.js';
import { metricRecordProblem } from './compare/stream.js';
import { headlineRows, markHeadline } from './headline.js';
import { renderReport, type ReportFigure } from './html/render.js';
import { METRICS_FILE, readRun, REPORT_FILE, SUMMARY_FILE, type RawRecord } from './run-dir.js';
import type { ExperimentProcessing, MetricRecord, Row } from './types.js';

/**
 * Finds the experiment that wrote a run's entry (the caller passes its registry: this library does not know the
 * experiments); undefined for one since removed from the registry, whose entry is then skipped.
 */
export type ExperimentLookup = (name: string) => ExperimentProcessing<RawRecord, Record<string, unknown>> | undefined;

export interface ProcessResult {
  dir: string;
  report: string;
  figures: Array<{ experiment: string; id: string; svg: string; png: string; width: number; height: number }>;
  summaries: Record<string, { summary: Row[]; notes: string[] }>;
  csv: string[];
}

/** Rows to CSV text: columns in first-seen order, null as empty, booleans as true/false. */
export function toCsv(rows: readonly Row[]): string {
  const columns: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
  return stringify(rows as Row[], { header: true, columns, cast: { boolean: (v) => String(v) } });
}

export async function processRun(dir: string, lookup: ExperimentLookup): Promise<ProcessResult> {
  const run = readRun(dir);
  mkdirSync(join(dir, 'csv'), { recursive: true });
  mkdirSync(join(dir, 'figures'), { recursive: true });
  const metrics: MetricRecord[] = [];
  const figures: ReportFigure[] = [];
  const result: ProcessResult = { dir, report: join(dir, REPORT_FILE), figures: [], summaries: {}, csv: [] };
  for (const entry of run.manifest.experiments) {
    const experiment = lookup(entry.name);
    if (experiment === undefined) continue; // an experiment since removed from the registry: its raw lines stay
    const raw = run.raw.filter((r) => r.experiment === entry.name);
    if (raw.length === 0) {
      result.summaries[entry.name] = { summary: [], notes: [`${entry.name}: no requests recorded (${entry.status}${entry.error ? `: ${entry.error}` : ''})`] };
      continue;
    }
    const processed = experiment.process(raw, entry.config);
    const declared = experiment.headline(entry.config);
    const marked = markHeadline(processed.metrics, declared);
    for (const m of marked) {
      const problem = metricRecordProblem(m);
      if (problem !== null) throw new MfError('MF_INTERNAL', `${entry.name} produced a metric line that is not a MetricRecord: ${problem}`, { line: m });
      metrics.push(m);
    }
    const csv: Record<string, string> = {};
    for (const [name, rows] of Object.entries(processed.tables)) {
      const file = `csv/${entry.name}.${name}.csv`;
      writeFileSync(join(dir, file), toCsv(rows));
      csv[name] = file;
      result.csv.push(file);
    }
    const spec = experiment.chart(processed, entry.config);
    const id = experiment.figure.id;
    writeFileSync(join(dir, 'figures', `${id}.vl.json`), JSON.stringify(spec, null, 2) + '\n');
    const rendered = await renderSpec(spec);
    writeFileSync(join(dir, 'figures', `${id}.svg`), rendered.svg);
    writeFileSync(join(dir, 'figures', `${id}.png`), rendered.png);
    result.figures.push({ experiment: entry.name, id, svg: join(dir, 'figures', `${id}.svg`), png: join(dir, 'figures', `${id}.png`), width: rendered.width, height: rendered.height });
    result.summaries[entry.name] = { summary: processed.tables.summary, notes: processed.notes };
    figures.push({
      experiment: entry.name,
      id,
      title: experiment.figure.title,
      caption: experiment.figure.caption,
      svg: rendered.svg,
      png: `figures/${id}.png`,
      csv,
      summary: processed.tables.summary,
      headline: headlineRows(marked, declared, COMPARE_DEFAULTS.minSamples),
      notes: processed.notes,
      durationMs: entry.durationMs,
      status: entry.status,
      loadAvg: entry.loadAvg ? `${String(entry.loadAvg.start)} → ${String(entry.loadAvg.end)} on ${run.manifest.cpu.count} CPUs` : 'not recorded',
    });
  }
  writeFileSync(join(dir, METRICS_FILE), metrics.map((m) => JSON.stringify(m)).join('\n') + (metrics.length > 0 ? '\n' : ''));
  writeFileSync(join(dir, SUMMARY_FILE), JSON.stringify({ runId: run.manifest.runId, experiments: result.summaries }, null, 2) + '\n');
  writeFileSync(result.report, renderReport(run.manifest, figures));
  return result;
}
