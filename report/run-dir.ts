/**
 * The run directory, results/runs/<run-id>/ (docs/experiments.md#run-directory): its format and its read side.
 * The runner writes it (experiments/runner/run-dir.ts); the processing step (process.ts) and the cost model read it.
 *
 *   manifest.json   where every number came from: commit, machine, runtimes, resolved configs, adapters, workload hashes
 *   raw.jsonl       append-only, one line per request (RawRecord): client timestamps + platform records + labels
 *   ---- derived by the processing step (report/process.ts), rebuilt by `mfbench report <run-dir>` ----
 *   records.jsonl   the flat metric stream (MetricRecord, types.ts)
 *   summary.json    per experiment: summary table and notes
 *   csv/            one CSV per experiment table
 *   figures/        <figure-id>.vl.json (the spec), .svg and .png
 *   index.html      the report
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CallResult } from '../harness/types.js';
import { MfError } from '../platform/errors.js';
import type { Temperature } from '../platform/records.js';
import type { RunManifest } from './types.js';

export const RAW_FILE = 'raw.jsonl';
export const MANIFEST_FILE = 'manifest.json';
export const METRICS_FILE = 'records.jsonl';
export const SUMMARY_FILE = 'summary.json';
export const REPORT_FILE = 'index.html';

export type Size = 'quick' | 'full';

/** Labels an experiment attaches to a record (chain length, round, step, ...). Flat, so that they fit a CSV column. */
export type Labels = Record<string, string | number | boolean | null>;

/**
 * One line of raw.jsonl: one request the harness sent (a workflow execution or a direct function invocation),
 * with the client's timestamps, everything the platform reported (one InvocationRecord per function invocation) and
 * the experiment's labels. Warm-up, failed and wrong-temperature requests are kept and labelled, never dropped.
 */
export interface RawRecord {
  /** Position in the run (0-based), in the order the requests completed being recorded. */
  seq: number;
  experiment: string;
  platform: string;
  backend: string;
  preset: string;
  variant: string;
  /** The coldest temperature among the request's platform records (null when the platform reports none). */
  temperature: Temperature | null;
  /** The temperature the experiment meant to produce (null when it did not aim for one). */
  expectedTemperature: Temperature | null;
  /** Whether the records' identities (sandbox ids, worker pids) confirm the expected temperature. */
  temperatureCheck: 'ok' | 'mismatch' | 'unchecked';
  warmup: boolean;
  /** The call outcome's state (ok, invalid, failed, error), repeated here for grep and CSV. */
  outcome: CallResult['outcome']['state'];
  labels: Labels;
  call: CallResult;
}

export interface WorkloadHash {
  name: string;
  /** sha256 over every file of workloads/<name>/ (relative path and content, in path order). */
  sha256: string;
  files: number;
}

export interface ExperimentEntry {
  name: string;
  figure: string;
  size: Size;
  /** The resolved config the experiment ran with. */
  config: Record<string, unknown>;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  requests: number;
  /** The host's 1-minute load average when the experiment started and ended: a busy machine shows here. */
  loadAvg: { start: number | null; end: number | null };
  status: 'pending' | 'running' | 'complete' | 'failed';
  error?: string;
}

export interface AdapterEntryRecord {
  variant: string;
  /** The options asked for (token left out). */
  options: Record<string, unknown>;
  /** The adapter's own description of what it resolved them to. */
  resolved: Record<string, unknown>;
}

/** The manifest of an `mfbench run`: the shared run manifest plus what the harness adds. */
export interface HarnessManifest extends RunManifest {
  kind: 'mfbench-run';
  format: 1;
  size: Size;
  seed: number;
  docker: string | null;
  status: 'running' | 'complete' | 'failed';
  endedAt: string | null;
  experiments: ExperimentEntry[];
  adapters: AdapterEntryRecord[];
  workloads: WorkloadHash[];
  files: { raw: string };
}

/** A stored run, read back for processing. */
export interface StoredRun {
  dir: string;
  manifest: HarnessManifest;
  raw: RawRecord[];
}

export function readRun(dir: string): StoredRun {
  let manifest: HarnessManifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as HarnessManifest;
  } catch (err) {
    throw new MfError('MF_BAD_REQUEST', `${dir} is not a run directory: cannot read ${MANIFEST_FILE} (${(err as Error).message})`, { path: dir });
  }
  if (manifest.kind !== 'mfbench-run') {
    throw new MfError('MF_BAD_REQUEST', `${dir} holds a "${String(manifest.kind)}" run, not an mfbench run`, { path: dir });
  }
  const text = readFileSync(join(dir, manifest.files.raw), 'utf8');
  const raw: RawRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      raw.push(JSON.parse(line) as RawRecord);
    } catch {
      // A torn last line (the run was killed mid-write) is reported, not silently skipped.
      throw new MfError('MF_BAD_REQUEST', `${join(dir, manifest.files.raw)} line ${i + 1} is not JSON`, { path: dir, line: i + 1 });
    }
  });
  return { dir, manifest, raw };
}
