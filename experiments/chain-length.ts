/**
 * chain-length: end-to-end latency and per-hop overhead of workflow chains of 1..N functions (noop-chain's
 * `length`), per platform variant. Produces Figure `fig-chain-length`.
 *
 * Method. One app per length is deployed (noop-chain-L, every step its own function); executions are sent one at a
 * time, interleaving the lengths (L1, L2, L4, ..., L1, L2, ...) so that every length sees the same machine conditions.
 * The first `warmup` executions of each length (the first of which starts the sandbox and every worker) are labelled
 * warm-up and kept out of the statistics.
 *
 * Per-hop overhead is given two ways, both from stored records:
 * - client: the slope of a least-squares line through (L, end-to-end latency) of every measured execution
 *   (one client clock, so no cross-process clock enters);
 * - records: per execution of two or more steps, the mean time from one handler's end to the next handler's start
 *   (report/hops.ts, the A/B gate's definition too), whichever way the result travelled (through the agent, or
 *   handed over worker to worker). A chain of one has no hop.
 */
import { linearRegression } from 'simple-statistics';
import { getWorkload } from '../workloads/index.js';
import { RECORDS, chainLengthSpec, CLIENT } from '../report/charts/specs/chain-length.js';
import { describe, e2eMs, exclusion, exclusionNote, groupBy, metricBase, prefixed, round4, variantLabels } from './runner/describe.js';
import type { Experiment, RunContext } from './runner/types.js';
import type { MetricRecord, Processed, Row } from '../report/types.js';
import type { RawRecord } from '../report/run-dir.js';
import { meanHopMs } from '../report/hops.js';

export interface ChainLengthConfig {
  lengths: number[];
  /** Executions per length labelled warm-up (the first is the cold one). */
  warmup: number;
  /** Measured executions per length. */
  executions: number;
  inputSize: string;
}

async function measure(ctx: RunContext, config: ChainLengthConfig): Promise<void> {
  const workload = getWorkload('noop-chain');
  for (const variant of ctx.variants) {
    await ctx.withAdapter(variant, async (adapter) => {
      const deployments = [];
      for (const length of config.lengths) deployments.push({ length, d: await adapter.deploy(workload, { length }, { name: `chain-${length}` }) });
      const perLength = config.warmup + config.executions;
      ctx.progress.begin(`chain-length ${variant.backend}/${variant.preset}`, perLength * deployments.length);
      for (let i = 0; i < perLength; i++) {
        for (const { length, d } of deployments) {
          const input = workload.generateInput(config.inputSize, ctx.seed + i);
          const call = await adapter.execute(d, input);
          ctx.record(variant, call, { warmup: i < config.warmup, labels: { length, iteration: i } });
          ctx.progress.tick();
        }
      }
      ctx.progress.end();
      for (const { d } of deployments) await adapter.remove(d);
    });
  }
}

/** The mean hop of an execution from its records (ms; report/hops.ts), null for a chain of one. */
export function hopMs(r: RawRecord): number | null {
  return meanHopMs(r.call.platform?.records ?? []);
}

/** Sum of the handlers' own time in an execution (ms). */
export function handlerSumMs(r: RawRecord): number {
  return (r.call.platform?.records ?? []).reduce((s, rec) => s + (rec.t.handlerEnd - rec.t.handlerStart), 0);
}

function process_(raw: readonly RawRecord[]): Processed {
  const metrics: MetricRecord[] = [];
  for (const r of raw) {
    const base = metricBase(r, { ...variantLabels(r), length: Number(r.labels.length) });
    metrics.push({ ...base, metric: 'client_latency_ms', value: round4(e2eMs(r)) });
    const hop = hopMs(r);
    if (hop !== null) metrics.push({ ...base, metric: 'hop_ms', value: round4(hop) });
  }
  const kept = raw.filter((r) => exclusion(r) === null);
  const summary: Row[] = [];
  const hops: Row[] = [];
  const fits: Row[] = [];
  for (const [variant, rows] of groupBy(kept, (r) => r.variant)) {
    const points = rows.map((r) => [Number(r.labels.length), e2eMs(r)] as [number, number]);
    const distinctLengths = new Set(points.map((p) => p[0])).size;
    const fit = distinctLengths >= 2 ? linearRegression(points) : null;
    fits.push({ variant, hop_ms_slope: fit ? round4(fit.m) : null, intercept_ms: fit ? round4(fit.b) : null, executions: points.length });
    for (const [length, group] of groupBy(rows, (r) => String(r.labels.length))) {
      const L = Number(length);
      const hopD = describe(group.map(hopMs).filter((h) => h !== null));
      const e2e = describe(group.map(e2eMs));
      const overheadPerFn = describe(group.map((r) => (e2eMs(r) - handlerSumMs(r)) / L));
      summary.push({
        variant,
        length: L,
        ...prefixed('e2e_ms', e2e),
        hop_ms_median: L > 1 ? hopD.median : null,
        overhead_per_function_ms_median: overheadPerFn.median,
        hop_ms_slope: fit ? round4(fit.m) : null,
        excluded: raw.filter((r) => r.variant === variant && Number(r.labels.length) === L).length - group.length,
      });
      if (L > 1) hops.push({ variant, length: L, series: RECORDS, ms: hopD.median, lo: null, hi: null });
    }
    if (fit) for (const L of [...new Set(points.map((p) => p[0]))]) hops.push({ variant, length: L, series: CLIENT, ms: round4(fit.m), lo: null, hi: null });
  }
  summary.sort((a, b) => String(a.variant).localeCompare(String(b.variant)) || Number(a.length) - Number(b.length));
  hops.sort((a, b) => String(a.variant).localeCompare(String(b.variant)) || String(a.series).localeCompare(String(b.series)) || Number(a.length) - Number(b.length));
  const notes = [exclusionNote('chain-length', raw)];
  for (const f of fits) notes.push(`${String(f.variant)}: least-squares slope ${String(f.hop_ms_slope)} ms per added function (intercept ${String(f.intercept_ms)} ms, ${String(f.executions)} executions).`);
  return { metrics, tables: { summary, hops, fits }, notes };
}

export const chainLength: Experiment<ChainLengthConfig> = {
  name: 'chain-length',
  description: 'End-to-end latency and per-hop overhead of chains of 1..N functions (noop-chain).',
  figure: {
    id: 'fig-chain-length',
    title: 'Workflow chains: end-to-end latency and per-hop overhead',
    caption:
      'Left: median client latency of a chain of L no-op functions, with the 95% interval of the median (Le Boudec) and the p99. ' +
      'Right: per-hop overhead, as the slope of latency over L (client) and as the time from each handler\'s end to the next handler\'s start (records, mean per execution).',
  },
  workloads: ['noop-chain'],
  sizes: {
    // 40 per length: twice the gate's minimum, and the time the cold-start ladder's 20 rounds need (docs/experiments.md).
    quick: { lengths: [1, 2, 4, 8], warmup: 5, executions: 40, inputSize: 'small' },
    full: { lengths: [1, 2, 4, 8, 16, 32], warmup: 50, executions: 400, inputSize: 'small' },
  },
  durations: { quick: '~60 s for both presets at load 14-16 (2 cores)', full: '~40 s' },
  run: measure,
  process: (raw) => process_(raw),
  // Warm latency per chain length, and the per-hop overhead of each chain that has a hop.
  headline: (c) =>
    c.lengths.flatMap((length) => [
      { metric: 'client_latency_ms', temperature: 'warm', labels: { length }, samples: c.executions },
      ...(length > 1 ? [{ metric: 'hop_ms', temperature: 'warm', labels: { length }, samples: c.executions }] : []),
    ]),
  chart: (processed) => chainLengthSpec(processed.tables, chainLength.figure),
};
