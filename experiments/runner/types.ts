/**
 * What an experiment is, what it stores, and what the runner gives it (docs/experiments.md).
 *
 * An experiment has two halves that never meet (docs/conventions.md#6, #7):
 * - `run` measures: it drives platform adapters and appends one raw record per request to the run directory;
 * - `process` computes: a pure function from the stored raw records to metrics and tables; `chart` turns the
 *   tables into a vega-lite spec. Both run again from stored records alone (`mfbench report <run-dir>`).
 */
import type { CallResult, PlatformAdapter } from '../../platform/adapters/types.js';
import type { Temperature } from '../../platform/records.js';
import type { WorkloadName } from '../../workloads/index.js';
import type { MetricRecord } from '../../report/compare/stream.js';

export type Size = 'quick' | 'full';

/** Labels an experiment attaches to a record (chain length, round, step, ...). Flat, so that they fit a CSV column. */
export type Labels = Record<string, string | number | boolean | null>;

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
}

/** A variant's name in tables and legends: platform/backend/preset (plus pool size when set). */
export function variantKey(v: Pick<Variant, 'platform' | 'backend' | 'preset' | 'poolSize'>): string {
  return `${v.platform}/${v.backend}/${v.preset}${v.poolSize !== undefined ? `/pool${v.poolSize}` : ''}`;
}

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

/** What an experiment writes with each request, besides the call itself. */
export interface RecordLabels {
  expectedTemperature?: Temperature | null;
  temperatureCheck?: RawRecord['temperatureCheck'];
  warmup?: boolean;
  labels?: Labels;
}

/** A row of a table (CSV, HTML, chart data). */
export type Row = Record<string, string | number | boolean | null>;

/**
 * One line of the flat metric stream, records.jsonl (docs/statistics.md), which `mfbench compare` and `history`
 * read. One definition, in report/compare/stream.ts, so the writer and the reader cannot drift apart. `platform`
 * includes the preset (`microfunctions/grouped`); `labels` hold only the dimensions that split series (backend,
 * chain length, ...), never per-request ids, because they are part of the comparison key.
 */
export type MetricRow = MetricRecord;

/** What `process` makes of an experiment's raw records. Everything here is derived and can be rebuilt. */
export interface Processed {
  /** The flat metric stream: one value per request and metric. */
  metrics: MetricRow[];
  /** Named tables; each becomes a CSV file. `summary` is the one shown under the figure. */
  tables: Record<string, Row[]> & { summary: Row[] };
  /** Counts and findings the report states in words (e.g. excluded requests and why). */
  notes: string[];
}

/** The figure an experiment produces. */
export interface FigureInfo {
  /** Stable id, e.g. `fig-cold-start`; the PNG and SVG files are named after it. */
  id: string;
  title: string;
  /** What the figure shows, in a sentence or two, for the report. */
  caption: string;
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

/** One experiment: one file under experiments/, one figure. */
export interface Experiment<Config extends object = Record<string, unknown>> {
  readonly name: string;
  readonly description: string;
  readonly figure: FigureInfo;
  /** Workloads it deploys (their folders are hashed into the manifest). */
  readonly workloads: readonly WorkloadName[];
  readonly sizes: Readonly<Record<Size, Config>>;
  /** How long each size takes on the reference machine (2 cores), stated for docs and `--help`. */
  readonly durations: Readonly<Record<Size, string>>;
  /** Measures, appending raw records through `ctx.record`. */
  run(ctx: RunContext, config: Config): Promise<void>;
  /** Pure: the raw records of this experiment (in seq order) to metrics and tables. */
  process(raw: readonly RawRecord[], config: Config): Processed;
  /** Pure: the vega-lite spec of the figure, from the processed tables. */
  chart(processed: Processed, config: Config): VegaLiteSpec;
}

/** A vega-lite top-level spec (kept loose: vega-lite validates it when it compiles). */
export type VegaLiteSpec = Record<string, unknown>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyExperiment = Experiment<any>;
