/**
 * The run directory, results/runs/<run-id>/ (docs/experiments.md#run-directory):
 *
 *   manifest.json   where every number came from: commit, machine, runtimes, resolved configs, adapters, workload hashes
 *   raw.jsonl       append-only, one line per request (RawRecord): client timestamps + platform records + labels
 *   ---- derived by the processing step (experiments/runner/process.ts), rebuilt by `mfbench report <run-dir>` ----
 *   metrics.jsonl   the flat metric stream
 *   summary.json    per experiment: summary table and notes
 *   csv/            one CSV per experiment table
 *   figures/        <figure-id>.vl.json (the spec), .svg and .png
 *   index.html      the report
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { MfError } from '../../platform/errors.js';
import { workloadDir } from '../../workloads/paths.js';
import { runManifest, type RunManifest } from '../manifest.js';
import type { RawRecord, Size } from './types.js';

export const RAW_FILE = 'raw.jsonl';
export const MANIFEST_FILE = 'manifest.json';

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

/** Hash of a workload's folder, so that a figure can say exactly which code ran. */
export function hashWorkload(name: string): WorkloadHash {
  const root = workloadDir(name);
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk(root);
  const h = createHash('sha256');
  for (const f of files.sort()) {
    h.update(relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
  }
  return { name, sha256: h.digest('hex'), files: files.length };
}

function dockerVersion(): string | null {
  try {
    return execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 3000 }).trim() || null;
  } catch {
    return null;
  }
}

/** A run directory being written. */
export class RunDirectory {
  readonly manifest: HarnessManifest;
  #seq = 0;

  private constructor(readonly dir: string, manifest: HarnessManifest) {
    this.manifest = manifest;
  }

  /** Creates results/runs/<run-id>/ (or `dir`) and writes the first manifest. Refuses a folder that holds a run. */
  static create(parent: string, options: { size: Size; seed: number; config: Record<string, unknown>; workloads: readonly string[]; dir?: string }): RunDirectory {
    const base = runManifest('mfbench-run', options.config);
    const runId = `run-${base.startedAt.replace(/[:.]/g, '-')}`;
    const dir = options.dir ?? join(parent, runId);
    mkdirSync(dir, { recursive: true });
    if (readdirSync(dir).includes(RAW_FILE)) {
      throw new MfError('MF_BAD_REQUEST', `${dir} already holds a run (raw results are append-only; choose another --out)`, { path: dir });
    }
    const manifest: HarnessManifest = {
      ...base,
      runId,
      kind: 'mfbench-run',
      format: 1,
      size: options.size,
      seed: options.seed,
      docker: dockerVersion(),
      status: 'running',
      endedAt: null,
      experiments: [],
      adapters: [],
      workloads: [...new Set(options.workloads)].sort().map(hashWorkload),
      files: { raw: RAW_FILE },
    };
    const run = new RunDirectory(dir, manifest);
    writeFileSync(join(dir, RAW_FILE), '', { flag: 'wx' });
    run.writeManifest();
    return run;
  }

  /** Appends one raw record; `seq` is assigned here. */
  append(record: Omit<RawRecord, 'seq'>): RawRecord {
    const full = { seq: this.#seq++, ...record } as RawRecord;
    appendFileSync(join(this.dir, RAW_FILE), JSON.stringify(full) + '\n');
    return full;
  }

  writeManifest(): void {
    writeFileSync(join(this.dir, MANIFEST_FILE), JSON.stringify(this.manifest, null, 2) + '\n');
  }
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
