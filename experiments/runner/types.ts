/**
 * What an experiment is, what it stores, and what the runner gives it (docs/experiments.md).
 *
 * An experiment has two halves that never meet (docs/conventions.md#6, #7):
 * - `run` measures: it drives platform adapters and appends one raw record per request to the run directory;
 * - `process` computes: a pure function from the stored raw records to metrics and tables; `chart` turns the
 *   tables into a vega-lite spec. Both run again from stored records alone (`mfbench report <run-dir>`).
 */
import type { CallResult, PlatformAdapter } from '../../harness/types.js';
import type { Temperature } from '../../platform/records.js';
import type { Labels, RawRecord, Size } from '../../report/run-dir.js';
import type { ExperimentProcessing } from '../../report/types.js';
import type { WorkloadName } from '../../workloads/index.js';

/** One platform configuration an experiment runs against. */
export interface Variant {
  platform: string;
  backend: string;
  preset: string;
  /** Remote platform; absent: the adapter's embedded default. */
  url?: string;
  token?: string;
  poolSize?: number;
  workerStart?: 'first-use' | 'deploy';
  /** Config of an embedded platform that an experiment needs (e.g. a short keep-alive); recorded in the manifest. */
  platformConfig?: Record<string, unknown>;
  /** Embedded: CPUs of the platform and the load generator (`auto`, the default; `split`; `shared`; harness/cpu-placement.ts). */
  cpus?: 'auto' | 'split' | 'shared';
}

/** A variant's name in tables and legends: platform/backend/preset (plus pool size when set). */
export function variantKey(v: Pick<Variant, 'platform' | 'backend' | 'preset' | 'poolSize'>): string {
  return `${v.platform}/${v.backend}/${v.preset}${v.poolSize !== undefined ? `/pool${v.poolSize}` : ''}`;
}

/** What an experiment writes with each request, besides the call itself. */
export interface RecordLabels {
  expectedTemperature?: Temperature | null;
  temperatureCheck?: RawRecord['temperatureCheck'];
  warmup?: boolean;
  labels?: Labels;
}

/** What the runner gives an experiment's `run`. */
export interface RunContext {
  readonly size: Size;
  readonly seed: number;
  readonly variants: readonly Variant[];
  /** Creates the variant's adapter, runs `fn`, and closes the adapter whatever happens. */
  withAdapter<T>(variant: Variant, fn: (adapter: PlatformAdapter) => Promise<T>): Promise<T>;
  /** Appends one raw record (one request) to raw.jsonl and returns it. */
  record(variant: Variant, call: CallResult, labels?: RecordLabels): RawRecord;
  /** Progress for a person (stderr): a bar on a TTY, lines otherwise. */
  progress: Progress;
}

export interface Progress {
  /** Starts a phase of `total` steps. */
  begin(label: string, total: number): void;
  tick(n?: number): void;
  end(): void;
  /** A line for a person, between bars. */
  note(line: string): void;
}

/**
 * One experiment: one file under experiments/, one figure. Its `figure`, `process` and `chart` are what the
 * processing step (report/process.ts) uses, from stored records alone.
 */
export interface Experiment<Config extends object = Record<string, unknown>> extends ExperimentProcessing<RawRecord, Config> {
  readonly name: string;
  readonly description: string;
  /** Workloads it deploys (their folders are hashed into the manifest). */
  readonly workloads: readonly WorkloadName[];
  readonly sizes: Readonly<Record<Size, Config>>;
  /** How long each size takes on the reference machine (2 cores), stated for docs and `--help`. */
  readonly durations: Readonly<Record<Size, string>>;
  /** Measures, appending raw records through `ctx.record`. */
  run(ctx: RunContext, config: Config): Promise<void>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyExperiment = Experiment<any>;
