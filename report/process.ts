/**
 * The processing step (docs/conventions.md#7): from a run directory's stored raw records to everything derived — the flat
 * metric stream (records.jsonl), CSV tables, summary.json, figures (vega-lite spec, SVG, PNG) and the HTML report.
 * It never measures, so `mfbench report <run-dir>` redraws a figure without rerunning, and gives the same CSV.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { MfError, toMfError } from '../platform/errors.js';
import { renderSpec } from './charts/render.js';
import { COMPARE_DEFAULTS } from './compare/compare.js';
import { metricRecordProblem } from './compare/stream.js';
import { headlineRows, markHeadline } from './headline.js';
import { renderReport, type ReportFigure, type ReportSection } from './html/render.js';
import { METRICS_FILE, readRun, REPORT_FILE, SUMMARY_FILE, type RawRecord, type StoredRun } from './run-dir.js';
import type { ExperimentProcessing, MetricRecord, Row, RunSection, RunStep, VegaLiteSpec } from './types.js';

/**
 * Finds the experiment that wrote a run's entry (the caller passes its registry: this library does not know the
 * experiments); undefined for one since removed from the registry, whose entry is then skipped.
 */
export type ExperimentLookup = (name: string) => ExperimentProcessing<RawRecord, Record<string, unknown>> | undefined;

export interface ProcessResult {
  dir: string;
  report: string;
  figures: Array<{ experiment: string; id: string; svg: string; png: string; width: number; height: number }>;
  /** The run-level steps' sections (claims, cost model), by step id, with the files they wrote. */
  sections: Array<{ id: string; csv: string[]; figure: string | null; json: string | null }>;
  summaries: Record<string, { summary: Row[]; notes: string[] }>;
  csv: string[];
}

/** Writes a figure's spec, SVG and PNG under figures/ and returns the rendered SVG text with the files' paths. */
async function writeFigure(dir: string, id: string, spec: VegaLiteSpec): Promise<{ svg: string; width: number; height: number; files: { svg: string; png: string } }> {
  writeFileSync(join(dir, 'figures', `${id}.vl.json`), JSON.stringify(spec, null, 2) + '\n');
  const rendered = await renderSpec(spec);
  const files = { svg: join(dir, 'figures', `${id}.svg`), png: join(dir, 'figures', `${id}.png`) };
  writeFileSync(files.svg, rendered.svg);
  writeFileSync(files.png, rendered.png);
  return { svg: rendered.svg, width: rendered.width, height: rendered.height, files };
}

/** Writes a table set as csv/<prefix>.<table>.csv; returns the relative paths by table name. */
function writeTables(dir: string, prefix: string, tables: Record<string, Row[]>): Record<string, string> {
  const csv: Record<string, string> = {};
  for (const [name, rows] of Object.entries(tables)) {
    const file = `csv/${prefix}.${name}.csv`;
    writeFileSync(join(dir, file), toCsv(rows));
    csv[name] = file;
  }
  return csv;
}

/** Rows to CSV text: columns in first-seen order, null as empty, booleans as true/false. */
export function toCsv(rows: readonly Row[]): string {
  const columns: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
  return stringify(rows as Row[], { header: true, columns, cast: { boolean: (v) => String(v) } });
}

/** A step that throws (an unreadable price table) leaves its section with the error, not the run without a report. */
function processStep(step: RunStep<StoredRun>, run: StoredRun): RunSection | null {
  try {
    return step.process(run);
  } catch (err) {
    const e = toMfError(err);
    return { id: step.id, title: `${step.id}: not processed`, caption: `The ${step.id} step failed; the rest of the report stands.`, tables: { summary: [] }, notes: [`${e.code}: ${e.message}`] };
  }
}

/**
 * `steps` are the run-level processing steps (claims, the cost model): the caller passes them, as it passes the
 * experiment lookup, because this library does not know them. They run after the experiments, in order.
 */
export async function processRun(dir: string, lookup: ExperimentLookup, steps: readonly RunStep<StoredRun>[] = []): Promise<ProcessResult> {
  const run = readRun(dir);
  mkdirSync(join(dir, 'csv'), { recursive: true });
  mkdirSync(join(dir, 'figures'), { recursive: true });
  const metrics: MetricRecord[] = [];
  const figures: ReportFigure[] = [];
  const result: ProcessResult = { dir, report: join(dir, REPORT_FILE), figures: [], sections: [], summaries: {}, csv: [] };
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
    const csv = writeTables(dir, entry.name, processed.tables);
    result.csv.push(...Object.values(csv));
    const id = experiment.figure.id;
    const rendered = await writeFigure(dir, id, experiment.chart(processed, entry.config));
    result.figures.push({ experiment: entry.name, id, ...rendered.files, width: rendered.width, height: rendered.height });
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
  const sections: ReportSection[] = [];
  for (const step of steps) {
    const section = processStep(step, run);
    if (section === null) continue;
    const csv = writeTables(dir, section.id, section.tables);
    result.csv.push(...Object.values(csv));
    const figure = section.figure === undefined ? null : { id: section.figure.id, ...(await writeFigure(dir, section.figure.id, section.figure.spec)) };
    const json = section.json === undefined ? null : `${section.id}.json`;
    if (json !== null) writeFileSync(join(dir, json), JSON.stringify(section.json, null, 2) + '\n');
    result.sections.push({ id: section.id, csv: Object.values(csv), figure: figure?.files.png ?? null, json: json === null ? null : join(dir, json) });
    result.summaries[section.id] = { summary: section.tables.summary, notes: section.notes };
    sections.push({
      id: section.id,
      title: section.title,
      caption: section.caption,
      svg: figure?.svg ?? null,
      png: figure === null ? null : `figures/${figure.id}.png`,
      csv,
      json,
      summary: section.tables.summary,
      notes: section.notes,
    });
  }
  writeFileSync(join(dir, METRICS_FILE), metrics.map((m) => JSON.stringify(m)).join('\n') + (metrics.length > 0 ? '\n' : ''));
  writeFileSync(join(dir, SUMMARY_FILE), JSON.stringify({ runId: run.manifest.runId, experiments: result.summaries }, null, 2) + '\n');
  writeFileSync(result.report, renderReport(run.manifest, figures, sections));
  return result;
}
