/**
 * pipeline-overhead: total runtime of a multi-stage workflow against the sum of its functions' own compute times, per
 * platform variant (Figure 2 of "Will Serverless Computing Revolutionize NFV?", Aditya et al. 2019). Produces Figure
 * `fig-pipeline-overhead`.
 *
 * Method. Per variant and per pipeline (a workload, an input size and a workflow), the app is deployed once and
 * executions are sent one at a time, warm: the first `warmup` executions (the first of which starts the sandbox and
 * every worker) are labelled warm-up and kept out of the statistics. Per measured execution, from stored records:
 * - total = the client's end-to-end time (receive - intended send);
 * - compute = the sum over the execution's Task invocation records of (handlerEnd - handlerStart): the time the
 *   functions' own handlers ran, stamped inside the worker processes (each difference within one process, no clock
 *   offset); orchestration a platform reports as invocations of its own (OpenWhisk's conductor) is overhead;
 * - overhead = total - compute: everything the platform (and the HTTP round trip) adds: dispatch, hops, queueing,
 *   (de)serialisation of each stage's input and output.
 * The stages of a sequential workflow never overlap, so compute <= total; an execution where it does not hold is
 * counted in the notes (it would mean clock trouble), never dropped.
 */
import { getWorkload, type WorkloadName } from '../workloads/index.js';
import { pipelineOverheadSpec } from '../report/charts/specs/pipeline-overhead.js';
import { describe, e2eMs, exclusion, exclusionNote, groupBy, metricBase, prefixed, round4, variantLabels } from './runner/describe.js';
import type { InvocationRecord } from '../platform/records.js';
import type { Experiment, RunContext } from './runner/types.js';
import type { MetricRecord, Processed, Row } from '../report/types.js';
import type { RawRecord } from '../report/run-dir.js';

/** One multi-stage workflow to measure. */
export interface Pipeline {
  workload: WorkloadName;
  size: string;
  /** The workflow to execute (default: the workload's). */
  workflow?: string;
  /** Stages every measured execution must run (Task invocations); an execution with fewer is labelled and counted. */
  stages: number;
  /** This pipeline's own warm-up and measured counts, when it is too slow for the config's (an ML pipeline). */
  warmup?: number;
  executions?: number;
}

export interface PipelineOverheadConfig {
  pipelines: Pipeline[];
  /** Executions per pipeline labelled warm-up (the first is the cold one). */
  warmup: number;
  /** Measured executions per pipeline. */
  executions: number;
}

/** A pipeline's name in tables and legends: workload/workflow/size. */
export function pipelineKey(p: Pick<Pipeline, 'workload' | 'size' | 'workflow'>): string {
  return `${p.workload}${p.workflow !== undefined ? `/${p.workflow}` : ''} (${p.size})`;
}

async function measure(ctx: RunContext, config: PipelineOverheadConfig): Promise<void> {
  for (const variant of ctx.variants) {
    await ctx.withAdapter(variant, async (adapter) => {
      for (const p of config.pipelines) {
        const workload = getWorkload(p.workload);
        const d = await adapter.deploy(workload, {}, { name: `overhead-${p.workload}` });
        const warmup = p.warmup ?? config.warmup;
        const total = warmup + (p.executions ?? config.executions);
        ctx.progress.begin(`pipeline-overhead ${variant.backend}/${variant.preset} ${pipelineKey(p)}`, total);
        for (let i = 0; i < total; i++) {
          const input = workload.generateInput(p.size, ctx.seed + i);
          const call = await adapter.execute(d, input, p.workflow !== undefined ? { workflow: p.workflow } : {});
          ctx.record(variant, call, {
            warmup: i < warmup,
            labels: { pipeline: pipelineKey(p), workload: p.workload, size: p.size, workflow: p.workflow ?? workload.workflow, stages: p.stages, iteration: i },
          });
          ctx.progress.tick();
        }
        ctx.progress.end();
        await adapter.remove(d);
      }
    });
  }
}

/**
 * The invocations that ran the workflow's Task states. Other platforms also report their orchestration as
 * invocations without a state (OpenWhisk's conductor activations): that is platform work, so it counts as overhead.
 */
export function taskRecords(r: RawRecord): InvocationRecord[] {
  return (r.call.platform?.records ?? []).filter((rec) => rec.state !== null);
}

/** Sum of the Task handlers' own time over an execution (ms). */
export function computeSumMs(r: RawRecord): number {
  return taskRecords(r).reduce((s, rec) => s + (rec.t.handlerEnd - rec.t.handlerStart), 0);
}

/** Why a request is left out here: the shared reasons, plus an execution that did not run every stage. */
function why(r: RawRecord): string | null {
  const shared = exclusion(r);
  if (shared !== null) return shared;
  if (taskRecords(r).length !== Number(r.labels.stages)) return 'stages';
  return null;
}

function process_(raw: readonly RawRecord[]): Processed {
  const metrics: MetricRecord[] = [];
  for (const r of raw) {
    const base = metricBase(r, { ...variantLabels(r), pipeline: String(r.labels.pipeline) });
    const total = e2eMs(r);
    metrics.push({ ...base, metric: 'client_latency_ms', value: round4(total) });
    if (taskRecords(r).length > 0) {
      const compute = computeSumMs(r);
      metrics.push({ ...base, metric: 'compute_sum_ms', value: round4(compute) });
      metrics.push({ ...base, metric: 'platform_overhead_ms', value: round4(total - compute) });
    }
  }
  const kept = raw.filter((r) => why(r) === null);
  const summary: Row[] = [];
  const samples: Row[] = [];
  const notes = [exclusionNote('pipeline-overhead', raw)];
  const wrongStages = raw.filter((r) => exclusion(r) === null && why(r) === 'stages').length;
  if (wrongStages > 0) notes.push(`${wrongStages} successful execution(s) did not run every stage and are left out (kept in raw.jsonl).`);
  const computeAboveTotal = kept.filter((r) => computeSumMs(r) > e2eMs(r)).length;
  notes.push(
    computeAboveTotal === 0
      ? `In every measured execution the compute sum is at most the total (stamps from the worker processes and the client agree).`
      : `${computeAboveTotal} measured execution(s) have a compute sum above the total: a clock offset between processes; they are kept.`,
  );
  for (const [key, rows] of groupBy(kept, (r) => `${r.variant}|${String(r.labels.pipeline)}`)) {
    const [variant = '', pipeline = ''] = key.split('|');
    const total = rows.map(e2eMs);
    const compute = rows.map(computeSumMs);
    const overhead = rows.map((r) => e2eMs(r) - computeSumMs(r));
    const share = rows.map((r) => (e2eMs(r) - computeSumMs(r)) / e2eMs(r));
    const t = describe(total);
    const c = describe(compute);
    const o = describe(overhead);
    const s = describe(share);
    const first = rows[0] as RawRecord;
    summary.push({
      variant,
      preset: first.preset,
      backend: first.backend,
      pipeline,
      stages: Number(first.labels.stages),
      ...prefixed('total_ms', t),
      ...prefixed('compute_ms', c),
      ...prefixed('overhead_ms', o),
      overhead_share_median: s.median,
      overhead_share_lo: s.medianLo,
      overhead_share_hi: s.medianHi,
      excluded: raw.filter((r) => r.variant === variant && String(r.labels.pipeline) === pipeline).length - rows.length,
    });
    notes.push(
      `${variant}, ${pipeline}: median total ${String(t.median)} ms, compute ${String(c.median)} ms, overhead ${String(o.median)} ms ` +
        `(${s.median === null ? '?' : (s.median * 100).toFixed(1)}% of the total; n = ${rows.length}).`,
    );
    for (const r of rows) samples.push({ variant, preset: r.preset, pipeline, total_ms: round4(e2eMs(r)), compute_ms: round4(computeSumMs(r)), iteration: r.labels.iteration ?? null });
  }
  summary.sort((a, b) => String(a.pipeline).localeCompare(String(b.pipeline)) || String(a.variant).localeCompare(String(b.variant)));
  return { metrics, tables: { summary, samples }, notes };
}

export const pipelineOverhead: Experiment<PipelineOverheadConfig> = {
  name: 'pipeline-overhead',
  description: "Total runtime vs the sum of the functions' own compute times for multi-stage workflows (NFV paper, Figure 2).",
  figure: {
    id: 'fig-pipeline-overhead',
    title: 'Multi-stage workflows: compute vs platform overhead',
    caption:
      "Per variant, warm executions of a multi-stage workflow, stacked: the median sum of the functions' own handler times " +
      '(compute, stamped in the workers) and the median platform overhead (client end-to-end time minus that sum). ' +
      'Error bars: 95% intervals of the medians of compute and of the total (Le Boudec). Label: the median overhead share of the total.',
  },
  workloads: ['anomaly-detection', 'image-pipeline'],
  sizes: {
    // image-pipeline runs a few times only: it is here to show that the ML stage deploys and runs on every platform
    // (on OpenWhisk as a blackbox action), not to measure it; the full size does.
    quick: {
      pipelines: [
        { workload: 'anomaly-detection', size: 'small', stages: 5 },
        { workload: 'image-pipeline', size: 'small', workflow: 'sequential', stages: 6, warmup: 1, executions: 3 },
      ],
      warmup: 3,
      executions: 30,
    },
    full: {
      pipelines: [
        { workload: 'anomaly-detection', size: 'small', stages: 5 },
        { workload: 'image-pipeline', size: 'small', workflow: 'sequential', stages: 6 },
      ],
      warmup: 10,
      executions: 200,
    },
  },
  durations: { quick: '~10-12 s per preset (load 11 on 2 cores)', full: '~3 min per preset (estimated)' },
  run: measure,
  process: (raw) => process_(raw),
  // Pipelines that run the config's measured count; one with its own smaller count (the ML pipeline at quick size)
  // is there to show that it runs, and stays descriptive.
  headline: (c) =>
    c.pipelines
      .filter((p) => p.executions === undefined)
      .flatMap((p) => [
        { metric: 'client_latency_ms', temperature: 'warm', labels: { pipeline: pipelineKey(p) }, samples: c.executions },
        { metric: 'platform_overhead_ms', temperature: 'warm', labels: { pipeline: pipelineKey(p) }, samples: c.executions },
      ]),
  chart: (processed) => pipelineOverheadSpec(processed.tables, pipelineOverhead.figure),
};
