/**
 * The flat metric stream (docs/statistics.md#the-flat-metric-stream): what `compare`, `history` and the summaries
 * read from a run directory. A run directory holds `manifest.json` (experiments/manifest.ts RunManifest) and
 * `records.jsonl`, one JSON object per line, each with at least the fields of `MetricRecord`. Lines may carry
 * more fields (ids, timestamps, the whole InvocationRecord); they are kept in the parsed object and ignored here.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunManifest } from '../../experiments/manifest.js';
import { MfError } from '../../platform/errors.js';

/** The file names inside a run directory. */
export const RUN_FILES = { manifest: 'manifest.json', records: 'records.jsonl' } as const;

/** One line of the flat metric stream. */
export interface MetricRecord {
  /** The experiment that produced it, e.g. 'cold-start'. */
  experiment: string;
  /** The system under test, including its preset when it has one, e.g. 'microfunctions/grouped'. */
  platform: string;
  /** What was measured, with its unit as a suffix, e.g. 'client_latency_ms', 'handler_ms'. */
  metric: string;
  /** The value, in the metric's unit. Null is allowed only for a sample whose outcome is not 'ok'. */
  value: number | null;
  /** 'ok', or how it failed: 'error' | 'timeout' | 'crashed' | 'not-sent' | ... (counted apart, never averaged). */
  outcome: string;
  /** 'cold-sandbox' | 'cold-worker' | 'warm' (platform/records.ts), when the metric has one. */
  temperature?: string;
  /** A warm-up sample: excluded from statistics, counted. */
  warmup?: boolean;
  /** When the sample was taken, epoch ms (for client latency: the intended send time). */
  t?: number;
  /** Further dimensions that split groups (backend, chain length, payload size...); part of the comparison key. */
  labels?: Record<string, string | number | boolean>;
}

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
  const path = join(runDir, RUN_FILES.manifest);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const exists = await stat(runDir).then((s) => s.isDirectory(), () => false);
    throw invalid(exists ? `${runDir} has no ${RUN_FILES.manifest}: not a run directory` : `no such run directory: ${runDir}`, {
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
  const path = join(runDir, RUN_FILES.records);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw invalid(`${runDir} has no ${RUN_FILES.records}`, { path, cause: (err as Error).message });
  }
  return { runDir, manifest, records: parseMetricStream(text, path) };
}

