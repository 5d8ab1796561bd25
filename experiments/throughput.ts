/**
 * throughput: an open-loop rate sweep against a 1-Task workflow until the p99 latency exceeds 10x the unloaded
 * p99 (configurable: `reference: 'median'`); the knee per platform variant. Produces Figure `fig-throughput`.
 *
 * Method. First `unloaded` executions one at a time (after `warmup` labelled warm-up): their p99 (or median) is the
 * unloaded reference. Then, for each offered rate in `rates`, a seeded Poisson schedule of `stepMs` (experiments/load), sent
 * open-loop: every request leaves at its intended time whether or not earlier ones have been answered, and its
 * latency counts from the intended time (no coordinated omission). The sweep stops after the first step whose p99
 * is over `p99Factor` x the unloaded `reference` statistic, or whose failures exceed 10%. A step whose sends drifted from the
 * schedule (experiments/load/drift.ts) is labelled `drift` and named in the report's notes.
 *
 * The embedded platform runs in a process of its own, pinned apart from the load generator where the machine allows
 * (harness/cpu-placement.ts; the manifest records where each ran). Each step's send skew p99 is in the summary.
 */
import { quantileSorted } from 'simple-statistics';
import { runOpenLoop } from './load/open-loop.js';
import { poisson } from './load/schedule.js';
import { sendSkewLine } from './load/drift.js';
import { getWorkload } from '../workloads/index.js';
import type { CallResult } from '../harness/types.js';
import { throughputSpec } from '../report/charts/specs/throughput.js';
import { describe, e2eMs, exclusion, exclusionNote, groupBy, metricBase, prefixed, round4, sendSkewP99, variantLabels } from './runner/describe.js';
import { scalingTimeline } from './runner/scaling.js';
import type { Experiment, RunContext } from './runner/types.js';
import type { MetricRecord, Processed, Row } from '../report/types.js';
import type { RawRecord } from '../report/run-dir.js';

export interface ThroughputConfig {
  warmup: number;
  unloaded: number;
  /** Offered rates, requests per second, ascending. */
  rates: number[];
  /** Length of each rate step, ms. */
  stepMs: number;
  /** The sweep stops once p99 > p99Factor x the unloaded reference statistic. */
  p99Factor: number;
  /**
   * The unloaded statistic the factor multiplies: `p99` (default: tail against tail, robust to a shared, busy machine)
   * or `median` (the stricter reading of "10x the unloaded latency").
   */
  reference: 'p99' | 'median';
  /** Pause between steps so that one step's backlog does not spill into the next, ms. */
  pauseMs: number;
  inputSize: string;
}

async function measure(ctx: RunContext, config: ThroughputConfig): Promise<void> {
  const workload = getWorkload('noop-chain');
  for (const variant of ctx.variants) {
    await ctx.withAdapter(variant, async (adapter) => {
      const d = await adapter.deploy(workload, { length: 1 }, { name: 'throughput' });
      const input = workload.generateInput(config.inputSize, ctx.seed);
      ctx.progress.begin(`throughput ${variant.backend}/${variant.preset}: unloaded`, config.warmup + config.unloaded);
      const unloaded: number[] = [];
      for (let i = 0; i < config.warmup + config.unloaded; i++) {
        const call = await adapter.execute(d, input);
        const rec = ctx.record(variant, call, { warmup: i < config.warmup, labels: { phase: 'unloaded', rate: 0, drift: false } });
        if (!rec.warmup && rec.outcome === 'ok') unloaded.push(e2eMs(rec));
        ctx.progress.tick();
      }
      ctx.progress.end();
      const sorted = [...unloaded].sort((a, b) => a - b);
      const limit = config.p99Factor * (sorted.length > 0 ? quantileSorted(sorted, config.reference === 'median' ? 0.5 : 0.99) : Number.POSITIVE_INFINITY);
      for (const [k, rate] of config.rates.entries()) {
        const schedule = poisson(rate, config.stepMs, ctx.seed + k);
        ctx.progress.begin(`throughput ${variant.backend}/${variant.preset}: ${rate}/s`, schedule.offsetsMs.length);
        const result = await runOpenLoop<CallResult>(
          schedule,
          // The intended time is the runner's (t0 + offset); it is put into the record below, once t0 is known.
          () => adapter.execute(d, input).finally(() => ctx.progress.tick()),
          { maxInFlight: 2000, deadlineMs: config.stepMs + 30_000 },
        );
        const latencies: number[] = [];
        let failures = 0;
        for (const req of result.requests) {
          let call: CallResult;
          if (req.value !== undefined) {
            // The runner knows the intended time exactly (t0 + offset); the adapter stamped the actual send and receive.
            call = { ...req.value, client: { ...req.value.client, intendedSend: req.intendedAt } };
          } else {
            // Never sent or never answered before the deadline: kept, with the times the runner has (null if none).
            call = {
              kind: 'execution',
              target: d.workload.workflow,
              client: { intendedSend: req.intendedAt, actualSend: req.sentAt ?? Number.NaN, receive: req.receivedAt ?? Number.NaN },
              platform: null,
              outcome: { state: 'error', code: req.outcome.state === 'not-sent' ? 'NOT_SENT' : 'TIMEOUT', message: JSON.stringify(req.outcome) },
              requestBytes: Buffer.byteLength(JSON.stringify(input)),
            };
          }
          const rec = ctx.record(variant, call, { labels: { phase: 'sweep', rate, drift: result.drift } });
          if (rec.outcome === 'ok') latencies.push(e2eMs(rec));
          else failures++;
        }
        ctx.progress.end();
        ctx.progress.note(`throughput ${rate}/s: ${sendSkewLine(result.driftReport)}`);
        const s = [...latencies].sort((a, b) => a - b);
        const p99 = s.length > 0 ? quantileSorted(s, 0.99) : Number.POSITIVE_INFINITY;
        if (p99 > limit || failures > 0.1 * result.requests.length) break;
        await new Promise((r) => setTimeout(r, config.pauseMs));
      }
      await adapter.remove(d);
    });
  }
}

/** Width of a window of the scaling timeline, ms: a quick step (2 s) spans four. */
export const TIMELINE_WINDOW_MS = 500;

function process_(raw: readonly RawRecord[], config: ThroughputConfig): Processed {
  const metrics: MetricRecord[] = [];
  for (const r of raw) {
    const value = r.outcome === 'ok' ? e2eMs(r) : Number.NaN;
    metrics.push({
      ...metricBase(r, { ...variantLabels(r), phase: String(r.labels.phase), rate: Number(r.labels.rate) }),
      metric: 'client_latency_ms',
      value: Number.isFinite(value) ? round4(value) : null,
    });
  }
  const summary: Row[] = [];
  const timeline: Row[] = [];
  const notes = [exclusionNote('throughput', raw)];
  for (const [variant, rows] of groupBy(raw, (r) => r.variant)) {
    // Time from the variant's first request; a window's offered rate is that of the step its requests belong to.
    const t0 = rows.reduce((m, r) => (Number.isFinite(r.call.client.intendedSend) ? Math.min(m, r.call.client.intendedSend) : m), Infinity);
    const rateOf = new Map<number, number>();
    for (const r of rows) {
      const i = Math.floor((r.call.client.intendedSend - t0) / TIMELINE_WINDOW_MS);
      if (Number.isFinite(i)) rateOf.set(i, Math.max(rateOf.get(i) ?? 0, Number(r.labels.rate)));
    }
    const scaling = scalingTimeline(rows, { windowMs: TIMELINE_WINDOW_MS, t0 });
    for (const w of scaling) timeline.push({ variant, preset: rows[0]!.preset, rate_offered: rateOf.get(Math.round((Number(w.start_s) * 1000) / TIMELINE_WINDOW_MS)) ?? null, ...w });
    const sum = (f: string): number => scaling.reduce((n, w) => n + Number(w[f]), 0);
    notes.push(
      `${variant}: ${sum('cold_sandbox')} cold-sandbox and ${sum('cold_worker')} cold-worker starts; at most ${Math.max(0, ...scaling.map((w) => Number(w.sandboxes_in_use)))} sandboxes in use at once (from the records: docs/experiments.md#scaling-over-time).`,
    );
    const unloaded = rows.filter((r) => r.labels.phase === 'unloaded' && exclusion(r) === null).map(e2eMs);
    const base = describe(unloaded);
    const ref = config.reference === 'median' ? base.median : base.p99;
    const limit = ref === null ? null : round4(config.p99Factor * ref);
    summary.push({ variant, rate_offered: 0, phase: 'unloaded', requests: unloaded.length, failed: 0, achieved_per_s: null, ...prefixed('latency_ms', base), limit_ms: limit, under_limit: true, drift: false, send_skew_ms_p99: null });
    let knee: number | null = null;
    for (const [rate, step] of groupBy(rows.filter((r) => r.labels.phase === 'sweep'), (r) => String(r.labels.rate))) {
      const ok = step.filter((r) => r.outcome === 'ok');
      const lat = describe(ok.map(e2eMs));
      const first = Math.min(...step.map((r) => r.call.client.intendedSend));
      const last = Math.max(...ok.map((r) => r.call.client.receive));
      const under = limit !== null && lat.p99 !== null && lat.p99 <= limit && ok.length >= 0.9 * step.length;
      if (under) knee = Number(rate);
      summary.push({
        variant,
        rate_offered: Number(rate),
        phase: 'sweep',
        requests: step.length,
        failed: step.length - ok.length,
        achieved_per_s: ok.length > 1 ? round4((ok.length / (last - first)) * 1000) : null,
        ...prefixed('latency_ms', lat),
        limit_ms: limit,
        under_limit: under,
        drift: step.some((r) => r.labels.drift === true),
        send_skew_ms_p99: sendSkewP99(step),
      });
      if (step.some((r) => r.labels.drift === true)) notes.push(`${variant} at ${rate}/s: the load generator drifted from its schedule; read this step with care.`);
    }
    notes.push(`${variant}: knee (highest offered rate with p99 <= ${config.p99Factor} x the unloaded ${config.reference}${limit === null ? '' : `, ${limit} ms`}) = ${knee === null ? 'none of the rates' : `${knee}/s`}.`);
  }
  return { metrics, tables: { summary, timeline }, notes };
}

export const throughput: Experiment<ThroughputConfig> = {
  name: 'throughput',
  description: 'Open-loop Poisson rate sweep against a 1-Task workflow until p99 > 10x the unloaded p99: the knee.',
  figure: {
    id: 'fig-throughput',
    title: 'Throughput: latency under open-loop load, the knee, and the scaling behind it',
    caption:
      'Left: median and p99 client latency (from the intended send time) per offered Poisson rate, log scale; the dashed red line is the stopping limit (10x the unloaded p99). ' +
      'Right: achieved throughput (successful executions per second) against the offered rate; the diagonal is the offered rate. ' +
      'Bottom, over time in 500 ms windows: p50 and p99 latency, the sandboxes in use (from creation to last invocation) and the cold starts begun, from the invocation records: why a preset falls behind.',
  },
  workloads: ['noop-chain'],
  sizes: {
    quick: { warmup: 20, unloaded: 100, rates: [25, 50, 100, 200, 400, 800], stepMs: 2000, p99Factor: 10, reference: 'p99', pauseMs: 500, inputSize: 'small' },
    full: { warmup: 100, unloaded: 500, rates: [25, 50, 100, 150, 200, 300, 400, 600, 800, 1200, 1600], stepMs: 10_000, p99Factor: 10, reference: 'p99', pauseMs: 2000, inputSize: 'small' },
  },
  durations: { quick: '~15 s', full: '~2.5 min' },
  run: measure,
  process: (raw, config) => process_(raw, config),
  // The unloaded warm latency; the sweep's steps are descriptive (their sample counts are the schedule's, and near
  // the knee they measure the machine's load as much as the code).
  headline: (c) => [{ metric: 'client_latency_ms', temperature: 'warm', labels: { phase: 'unloaded', rate: 0 }, samples: c.unloaded }],
  chart: (processed, config) => throughputSpec(processed.tables, throughput.figure, `${config.p99Factor}x unloaded ${config.reference}`),
};
