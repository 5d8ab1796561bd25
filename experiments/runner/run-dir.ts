/**
 * The write side of the run directory (results/runs/<run-id>/): creates it, writes the manifest, appends raw
 * records. Its format (file names, RawRecord, HarnessManifest) and the read side are in report/run-dir.ts, where
 * the processing step reads it back.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { MfError } from '../../platform/errors.js';
import { MANIFEST_FILE, RAW_FILE, type HarnessManifest, type RawRecord, type Size, type WorkloadHash } from '../../report/run-dir.js';
import { workloadDir } from '../../workloads/paths.js';
import { runManifest } from '../manifest.js';

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
