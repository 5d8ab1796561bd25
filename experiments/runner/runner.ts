/**
 * Runs experiments into one run directory: writes the manifest, creates the adapters the experiments ask for,
 * appends every request's raw record, and records each experiment's measured duration. Processing (CSV, summaries,
 * charts, HTML) is a separate step (report/process.ts) that only reads what this wrote.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { MfError } from '../../platform/errors.js';
import { createAdapter } from '../../harness/registry.js';
import type { CallResult, PlatformAdapter } from '../../harness/types.js';
import type { Temperature } from '../../platform/records.js';
import { repoRoot } from '../../workloads/paths.js';
import { getExperiment } from './registry.js';
import { RunDirectory } from './run-dir.js';
import type { ExperimentEntry, RawRecord, Size } from '../../report/run-dir.js';
import { variantKey, type AnyExperiment, type Progress, type RecordLabels, type RunContext, type Variant } from './types.js';

export interface RunOptions {
  experiments: readonly string[];
  size: Size;
  seed: number;
  variants: readonly Variant[];
  /** The suite asked for, if any (recorded in the manifest's config). */
  suite?: string;
  /** Configs that replace an experiment's size config, by experiment name (a suite's own sizes). */
  configs?: Readonly<Record<string, object>>;
  /** Folder the run directory is created in (default results/runs); ignored when `dir` is given. */
  parent?: string;
  /** Exact run directory (must not hold a run yet). */
  dir?: string;
  progress: Progress;
}

export interface RunResult {
  dir: string;
  run: RunDirectory;
  /** Experiments that threw, with the error; their raw records so far are kept. */
  failed: Array<{ experiment: string; error: string }>;
}

export const DEFAULT_RESULTS = (): string => join(repoRoot(), 'results', 'runs');

/** For the coldest record of a call; an unknown temperature only wins when nothing is known. */
const COLDNESS: Record<Temperature, number> = { 'cold-sandbox': 3, 'cold-worker': 2, warm: 1, unknown: 0 };

/** The coldest temperature among a call's platform records (null when the platform reported none). */
export function callTemperature(call: CallResult): Temperature | null {
  const records = call.platform?.records ?? [];
  let t: Temperature | null = null;
  for (const r of records) if (t === null || COLDNESS[r.temperature] > COLDNESS[t]) t = r.temperature;
  return t;
}

export async function runExperiments(options: RunOptions): Promise<RunResult> {
  if (options.variants.length === 0) throw new MfError('MF_CONFIG_INVALID', 'no platform variant to run against', { option: 'platform' });
  const experiments: AnyExperiment[] = options.experiments.map(getExperiment);
  const run = RunDirectory.create(options.parent ?? DEFAULT_RESULTS(), {
    size: options.size,
    seed: options.seed,
    config: {
      experiments: experiments.map((e) => e.name),
      ...(options.suite !== undefined ? { suite: options.suite } : {}),
      size: options.size,
      seed: options.seed,
      variants: options.variants.map(({ token: _token, ...v }) => ({ ...v, key: variantKey(v) })),
    },
    workloads: experiments.flatMap((e) => [...e.workloads]),
    ...(options.dir !== undefined ? { dir: options.dir } : {}),
  });
  for (const e of experiments) {
    run.manifest.experiments.push({
      name: e.name,
      figure: e.figure.id,
      size: options.size,
      config: { ...(options.configs?.[e.name] ?? e.sizes[options.size]) } as Record<string, unknown>,
      startedAt: null,
      endedAt: null,
      durationMs: null,
      requests: 0,
      loadAvg: { start: null, end: null },
      status: 'pending',
    });
  }
  run.writeManifest();

  const failed: RunResult['failed'] = [];
  for (const [i, experiment] of experiments.entries()) {
    const entry = run.manifest.experiments[i] as ExperimentEntry;
    entry.status = 'running';
    entry.startedAt = new Date().toISOString();
    entry.loadAvg.start = round2(loadavg()[0] ?? 0);
    run.writeManifest();
    const t0 = performance.now();
    const sized = options.configs?.[experiment.name] !== undefined ? `${options.suite !== undefined ? `${options.suite} suite` : 'command-line config'}, ${options.size}` : options.size;
    options.progress.note(`${experiment.name} (${sized}): ${experiment.figure.title}`);
    try {
      const ok = { count: 0, firstError: null as string | null };
      await experiment.run(contextFor(run, experiment, entry, options, ok), entry.config);
      if (entry.requests > 0 && ok.count === 0) {
        // Every request failed: the figure would be empty. The raw records stay; the run says so.
        throw new MfError('MF_INTERNAL', `no request of ${entry.requests} succeeded; the first failure: ${ok.firstError ?? 'unknown'}`);
      }
      entry.status = 'complete';
    } catch (err) {
      entry.status = 'failed';
      entry.error = err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err);
      failed.push({ experiment: experiment.name, error: entry.error });
      options.progress.note(`${experiment.name} FAILED: ${entry.error}`);
    } finally {
      options.progress.end();
      entry.durationMs = Math.round(performance.now() - t0);
      entry.endedAt = new Date().toISOString();
      entry.loadAvg.end = round2(loadavg()[0] ?? 0);
      run.writeManifest();
    }
  }
  run.manifest.status = failed.length === 0 ? 'complete' : 'failed';
  run.manifest.endedAt = new Date().toISOString();
  run.writeManifest();
  return { dir: run.dir, run, failed };
}

function contextFor(
  run: RunDirectory,
  experiment: AnyExperiment,
  entry: ExperimentEntry,
  options: RunOptions,
  ok: { count: number; firstError: string | null },
): RunContext {
  return {
    size: options.size,
    seed: options.seed,
    variants: options.variants,
    progress: options.progress,
    async withAdapter<T>(variant: Variant, fn: (adapter: PlatformAdapter) => Promise<T>): Promise<T> {
      const { platform, ...adapterOptions } = variant;
      const adapter = await createAdapter(platform, adapterOptions);
      const { token: _token, ...asked } = adapterOptions;
      const key = variantKey(variant);
      if (!run.manifest.adapters.some((a) => a.variant === key && JSON.stringify(a.resolved) === JSON.stringify(adapter.description))) {
        run.manifest.adapters.push({ variant: key, options: { platform, ...asked }, resolved: { ...adapter.description } });
        run.writeManifest();
      }
      try {
        return await fn(adapter);
      } finally {
        await adapter.close();
      }
    },
    record(variant: Variant, call: CallResult, labels: RecordLabels = {}): RawRecord {
      entry.requests++;
      if (call.outcome.state === 'ok') ok.count++;
      else ok.firstError ??= JSON.stringify(call.outcome);
      const records = call.platform?.records ?? [];
      // The backend the platform says ran it wins over the one asked for (a remote platform has its own).
      const backend = records[0]?.backend ?? variant.backend;
      return run.append({
        experiment: experiment.name,
        platform: variant.platform,
        backend,
        preset: variant.preset,
        variant: variantKey(variant),
        temperature: callTemperature(call),
        expectedTemperature: labels.expectedTemperature ?? null,
        temperatureCheck: labels.temperatureCheck ?? 'unchecked',
        warmup: labels.warmup ?? false,
        outcome: call.outcome.state,
        labels: labels.labels ?? {},
        call,
      });
    },
  };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
