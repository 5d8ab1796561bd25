/**
 * The shapes the report library and the experiments share. They live here, in the library, so that experiments
 * (which produce them) and report (which reads, draws and compares them) both import them without report ever
 * importing experiments. The run directory's own format (file names, raw records, the harness manifest) is in
 * run-dir.ts.
 */

/** A row of a table (CSV, HTML, chart data). */
export type Row = Record<string, string | number | boolean | null>;

/** A vega-lite top-level spec (kept loose: vega-lite validates it when it compiles). */
export type VegaLiteSpec = Record<string, unknown>;

/** The figure an experiment produces. */
export interface FigureInfo {
  /** Stable id, e.g. `fig-cold-start`; the PNG and SVG files are named after it. */
  id: string;
  title: string;
  /** What the figure shows, in a sentence or two, for the report. */
  caption: string;
}

/**
 * One line of the flat metric stream, records.jsonl (docs/statistics.md#the-flat-metric-stream), which
 * `mfbench compare` and `history` read. One definition, here, checked line by line by `metricRecordProblem`
 * (compare/stream.ts), so the writer (an experiment's `process`) and the reader cannot drift apart. `platform`
 * includes the preset (`microfunctions/grouped`); `labels` hold only the dimensions that split series (backend,
 * chain length, ...), never per-request ids, because they are part of the comparison key.
 */
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
  /**
   * True on a sample of a headline series: one its experiment sends enough samples for the regression gate to
   * judge (HeadlineSeries). Set by the processing step, never by an experiment; absent on descriptive series.
   */
  headline?: boolean;
}

/**
 * A series an experiment holds up for the regression gate (docs/statistics.md#headline-and-descriptive-series): the
 * samples whose metric, temperature and labels match, per platform variant. Every other series it writes is
 * descriptive: shown and compared, but not sized for a verdict.
 */
export interface HeadlineSeries {
  metric: string;
  /** The series' temperature; absent: any. */
  temperature?: string;
  /** Labels the series carries (a subset of its labels); absent: any. */
  labels?: Record<string, string | number | boolean>;
  /** Presets under which the series exists by design (e.g. cold-worker needs a sandbox with several workers); absent: all. */
  presets?: readonly string[];
  /** The ok, non-warm-up samples per variant that the config sends by construction. */
  samples: number;
}

/** What `process` makes of an experiment's raw records. Everything here is derived and can be rebuilt. */
export interface Processed {
  /** The flat metric stream: one value per request and metric. */
  metrics: MetricRecord[];
  /** Named tables; each becomes a CSV file. `summary` is the one shown under the figure. */
  tables: Record<string, Row[]> & { summary: Row[] };
  /** Counts and findings the report states in words (e.g. excluded requests and why). */
  notes: string[];
}

/**
 * What the processing step (process.ts) needs of an experiment: its figure and its two pure functions. An
 * experiment (experiments/runner/types.ts) is one of these with `Raw` = the run directory's RawRecord; the
 * record type is a parameter only so that this file imports nothing (run-dir.ts imports RunManifest from here).
 */
export interface ExperimentProcessing<Raw, Config> {
  readonly figure: FigureInfo;
  /** Pure: the raw records of this experiment (in seq order) to metrics and tables. */
  process(raw: readonly Raw[], config: Config): Processed;
  /** Pure: the vega-lite spec of the figure, from the processed tables. */
  chart(processed: Processed, config: Config): VegaLiteSpec;
  /** The headline series this config produces (none: every series is descriptive). */
  headline(config: Config): readonly HeadlineSeries[];
}

/**
 * The manifest of a run: everything needed to say where a number came from (commit, runtime, machine, config).
 * Written next to the raw samples of every benchmark and experiment run (gathered by experiments/manifest.ts).
 */
export interface RunManifest {
  runId: string;
  kind: string;
  startedAt: string;
  git: { commit: string | null; dirty: boolean | null };
  node: string;
  kernel: string;
  cpu: { model: string; count: number };
  memoryBytes: number;
  host: string;
  timer: string;
  config: Record<string, unknown>;
}

/**
 * What a run-level processing step makes: a section of the report computed from the whole run rather than from one
 * experiment's records (the claims table; the cost model fed by the run's own spiky data). Its tables become
 * csv/<id>.<table>.csv, its figure (if any) is rendered like an experiment's, and `json` is written as <id>.json.
 */
export interface RunSection {
  id: string;
  title: string;
  caption: string;
  figure?: { id: string; spec: VegaLiteSpec };
  tables: Record<string, Row[]> & { summary: Row[] };
  notes: string[];
  json?: unknown;
}

/**
 * A processing step over a whole run (report/process.ts runs the ones the caller passes, after the experiments). Pure
 * but for reading data files it names (price tables); null when the run holds nothing for it.
 */
export interface RunStep<Run> {
  readonly id: string;
  process(run: Run): RunSection | null;
}
