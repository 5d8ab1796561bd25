/**
 * The setup the harness end-to-end suites share: experiments run (as `mfbench run` does) into a fresh temporary
 * folder, then processed with the run-level steps, with the manifest and raw records read back for the tests to check.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { processRun } from '../../dist/report/process.js';
import { findExperiment, RUN_STEPS } from '../../dist/experiments/runner/registry.js';
import { createProgress } from '../../dist/experiments/runner/progress.js';
import { runExperiments, type RunOptions } from '../../dist/experiments/runner/runner.js';
import type { HarnessManifest, RawRecord } from '../../dist/report/run-dir.js';

export interface ProcessedRun {
  /** The temporary folder holding the run directory: remove it with removeRun in afterAll. */
  parent: string;
  /** The run directory. */
  dir: string;
  manifest: HarnessManifest;
  raw: RawRecord[];
}

/**
 * Runs `options` silently into a new temporary folder named `prefix`..., fails if an experiment failed, processes
 * the run, and reads its manifest.json and raw.jsonl. The folder is removed again if any of this throws.
 */
export async function runAndProcess(prefix: string, options: Omit<RunOptions, 'parent' | 'dir' | 'progress'>): Promise<ProcessedRun> {
  const parent = await mkdtemp(join(tmpdir(), prefix));
  try {
    const result = await runExperiments({ ...options, parent, progress: createProgress('silent') });
    expect(result.failed).toEqual([]);
    const dir = result.dir;
    await processRun(dir, findExperiment, RUN_STEPS); // as `mfbench run` processes it
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as HarnessManifest;
    const raw = (await readFile(join(dir, 'raw.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as RawRecord);
    return { parent, dir, manifest, raw };
  } catch (err) {
    await removeRun(parent);
    throw err;
  }
}

/** Removes a run's temporary folder (nothing when the run never started). */
export async function removeRun(parent: string | undefined): Promise<void> {
  if (parent) await rm(parent, { recursive: true, force: true });
}
