/**
 * The flat metric stream (docs/statistics.md#the-flat-metric-stream): what `compare`, `history` and the summaries
 * read from a run directory. A run directory holds `manifest.json` (RunManifest, report/types.ts) and
 * `records.jsonl`, one JSON object per line, each with at least the fields of `MetricRecord` (report/types.ts).
 * Lines may carry more fields (ids, timestamps, the whole InvocationRecord); they are kept in the parsed object
 * and ignored here.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MfError } from '../../platform/errors.js';
import { MANIFEST_FILE, METRICS_FILE } from '../run-dir.js';
import type { MetricRecord, RunManifest } from '../types.js';

export interface MetricStream {
  runDir: string;
  manifest: RunManifest;
  records: MetricRecord[];
}

function invalid(message: string, details: Record<string, unknown>): MfError {
  return new MfError('MF_CONFIG_INVALID', message, details);
}

/** Checks one parsed line; returns the reason it is not a MetricRecord, or null. */
export function metricRecordProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const r = v as Record<string, unknown>;
  for (const f of ['experiment', 'platform', 'metric', 'outcome'] as const) {
    if (typeof r[f] !== 'string' || r[f] === '') return `"${f}" must be a non-empty string`;
  }
  if (r.outcome === 'ok' ? typeof r.value !== 'number' || !Number.isFinite(r.value) : r.value !== null && r.value !== undefined && (typeof r.value !== 'number' || !Number.isFinite(r.value))) {
    return r.outcome === 'ok' ? '"value" must be a finite number when outcome is "ok"' : '"value" must be a finite number or null';
  }
  if (r.temperature !== undefined && typeof r.temperature !== 'string') return '"temperature" must be a string when present';
  if (r.warmup !== undefined && typeof r.warmup !== 'boolean') return '"warmup" must be a boolean when present';
  if (r.headline !== undefined && typeof r.headline !== 'boolean') return '"headline" must be a boolean when present';
  if (r.t !== undefined && (typeof r.t !== 'number' || !Number.isFinite(r.t))) return '"t" must be a finite number when present';
  if (r.labels !== undefined) {
    if (typeof r.labels !== 'object' || r.labels === null || Array.isArray(r.labels)) return '"labels" must be an object when present';
    for (const [k, lv] of Object.entries(r.labels)) {
      if (!['string', 'number', 'boolean'].includes(typeof lv)) return `label "${k}" must be a string, number or boolean`;
    }
  }
  return null;
}

/** Parses JSONL text of the metric stream; a bad line is an error naming the line, never skipped. */
export function parseMetricStream(text: string, source = 'records.jsonl'): MetricRecord[] {
  const out: MetricRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw invalid(`${source} line ${i + 1} is not valid JSON: ${(err as Error).message}`, { path: source, line: i + 1 });
    }
    const problem = metricRecordProblem(v);
    if (problem !== null) throw invalid(`${source} line ${i + 1} is not a metric record: ${problem}`, { path: source, line: i + 1 });
    out.push(v as MetricRecord);
  }
  return out;
}

/** Reads and checks a run directory's manifest. */
export async function readRunManifest(runDir: string): Promise<RunManifest> {
  const path = join(runDir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const exists = await stat(runDir).then((s) => s.isDirectory(), () => false);
    throw invalid(exists ? `${runDir} has no ${MANIFEST_FILE}: not a run directory` : `no such run directory: ${runDir}`, {
      path,
      cause: (err as Error).message,
    });
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw invalid(`${path} is not valid JSON: ${(err as Error).message}`, { path });
  }
  const r = m as Partial<RunManifest> | null;
  if (typeof r !== 'object' || r === null || typeof r.runId !== 'string' || typeof r.startedAt !== 'string' || Number.isNaN(Date.parse(r.startedAt))) {
    throw invalid(`${path} is not a run manifest (needs runId and an ISO startedAt)`, { path });
  }
  return m as RunManifest;
}

/** Reads a run directory: its manifest and its flat metric stream (`records.jsonl`). */
export async function readMetricStream(runDir: string): Promise<MetricStream> {
  const manifest = await readRunManifest(runDir);
  const path = join(runDir, METRICS_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw invalid(`${runDir} has no ${METRICS_FILE}`, { path, cause: (err as Error).message });
  }
  return { runDir, manifest, records: parseMetricStream(text, path) };
}

