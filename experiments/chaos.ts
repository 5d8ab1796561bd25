/**
 * chaos: exactly once from the caller's view while a worker, a sandbox, a host agent and a frontend are SIGKILLed
 * (issue 12 item 7; docs/experiments.md#chaos, docs/distributed.md, "Chaos"). Produces Figure `fig-chaos`.
 *
 * The scenario is chaos/run.ts (its own nats-server, two host agents and two frontends on loopback, `count` async
 * executions of a 3-step chain, four kills at seeded moments). Each execution is one raw record: its answer as the
 * caller saw it (outcome `ok` only for one success with the right output), and in its labels what global storage saw
 * of its steps (runs per step, side effects) and why it was recovered. The kills (kind, pid, moment, restart) are a
 * JSON label of the first record. `process` recounts everything from those records with the same function the test
 * asserts on (chaos/counts.ts).
 */
import { MfError } from '../platform/errors.js';
import { chaosSpec } from '../report/charts/specs/chaos.js';
import type { CallResult } from '../harness/types.js';
import type { MetricRecord, Processed, Row } from '../report/types.js';
import type { RawRecord } from '../report/run-dir.js';
import { chaosCounts, type ChaosExecution, type Kill } from './chaos/counts.js';
import { runChaos, type ChaosOptions } from './chaos/run.js';
import { natsServerVersion } from './multi-host/cluster.js';
import { groupBy, metricBase } from './runner/describe.js';
import type { Experiment, RunContext } from './runner/types.js';

export type ChaosConfig = Omit<ChaosOptions, 'seed' | 'note' | 'settleMs'> & {
  /** Settle time: `settleBaseMs` + `settlePerExecutionMs` × count. */
  settleBaseMs: number;
  settlePerExecutionMs: number;
};

/** The settle time of a config (the test sizes its own timeout from it). */
export function settleMs(c: Pick<ChaosConfig, 'count' | 'settleBaseMs' | 'settlePerExecutionMs'>): number {
  return c.settleBaseMs + c.settlePerExecutionMs * c.count;
}

async function measure(ctx: RunContext, config: ChaosConfig): Promise<void> {
  const variants = ctx.variants.filter((v) => v.platform === 'microfunctions' && v.url === undefined);
  for (const v of ctx.variants) if (!variants.includes(v)) ctx.progress.note(`chaos: ${v.platform}${v.url ? ` at ${v.url}` : ''} skipped (the experiment starts its own MicroFunctions hosts and frontends)`);
  if (variants.length === 0) throw new MfError('MF_CONFIG_INVALID', 'the chaos experiment starts its own MicroFunctions processes: add --platform microfunctions (without --url)', { option: 'platform' });
  if (natsServerVersion() === null) throw new MfError('MF_CONFIG_INVALID', 'the chaos experiment needs nats-server on the PATH (apt-get install nats-server)', { option: 'broker' });
  // One scenario: it always runs the process backend and the grouped preset (the kills are of processes), so the
  // first variant names the records; others would repeat the same thing.
  const variant = { ...variants[0]!, backend: 'process', preset: 'grouped' };
  if (variants.length > 1) ctx.progress.note('chaos: one scenario on the process backend, grouped; the other variants are not run');
  ctx.progress.note(`chaos: ${config.count} executions; the results come when every execution has answered (at most ${Math.round(settleMs(config) / 1000)} s after the kills)`);
  const run = await runChaos({ ...config, seed: ctx.seed, settleMs: settleMs(config), note: (l) => ctx.progress.note(l) });
  ctx.progress.begin('chaos: records', run.executions.length);
  for (const [i, e] of run.executions.entries()) {
    ctx.record(variant, callOf(run.startedAt, e), { labels: labelsOf(e, run.startedAt, i === 0 ? run.kills : null, ctx.seed) });
    ctx.progress.tick();
  }
  ctx.progress.end();
}

/** The caller's view of one execution as a call: sent, accepted, and answered when the final answers were read. */
function callOf(startedAt: number, e: ChaosExecution): CallResult {
  const outcome: CallResult['outcome'] =
    e.status === 'lost'
      ? { state: 'error', code: e.error ?? 'no answer', message: 'no frontend gave a terminal answer within the settle time' }
      : e.status === 'FAILED'
        ? { state: 'failed', error: e.error ?? '', cause: e.cause ?? '' }
        : e.completions > 1
          ? { state: 'invalid', reason: `${e.completions} different completions` }
          : !e.rightOutput
            ? { state: 'invalid', reason: `steps ${JSON.stringify(e.output?.steps)}` }
            : { state: 'ok' };
  return {
    kind: 'execution',
    target: 'main',
    client: { intendedSend: startedAt + e.sentAt, actualSend: startedAt + e.sentAt, receive: e.answeredAt },
    platform: { executionId: e.id, t: e.t, records: [] },
    outcome,
    requestBytes: 0,
  };
}

function labelsOf(e: ChaosExecution, startedAt: number, kills: Kill[] | null, seed: number): RawRecord['labels'] {
  const completed = typeof e.t?.completed === 'number' ? Math.round(e.t.completed - startedAt) : null;
  return {
    index: e.index,
    frontend: e.frontend,
    status: e.status,
    accepted_ms: e.acceptedAt,
    // On the frontend's clock (same machine): whether the execution was still running when a kill landed.
    completed_ms: completed,
    terminal_answers: e.terminalAnswers,
    completions: e.completions,
    right_output: e.rightOutput,
    runs: e.runs.join(','),
    effects: e.effects.map((x) => (x ? 1 : 0)).join(','),
    recoveries: e.recoveries === null ? null : JSON.stringify(e.recoveries),
    seed,
    ...(kills !== null ? { kills: JSON.stringify(kills) } : {}),
  };
}

/** An execution back from its stored record (what `chaosCounts` needs). */
function executionOf(r: RawRecord): Parameters<typeof chaosCounts>[0][number] {
  const ints = (s: unknown): number[] => String(s).split(',').filter((x) => x !== '').map(Number);
  return {
    status: r.labels.status as ChaosExecution['status'],
    rightOutput: r.labels.right_output === true,
    completions: Number(r.labels.completions),
    runs: ints(r.labels.runs),
    effects: ints(r.labels.effects).map((x) => x === 1),
    recoveries: typeof r.labels.recoveries === 'string' ? (JSON.parse(r.labels.recoveries) as string[]) : null,
  };
}

function process_(raw: readonly RawRecord[]): Processed {
  const metrics: MetricRecord[] = [];
  const counts: Row[] = [];
  const kills: Row[] = [];
  const notes: string[] = [];
  for (const r of raw) {
    const stepRuns = executionOf(r).runs.reduce((a, b) => a + b, 0);
    metrics.push({ ...metricBase(r), metric: 'step_runs', value: r.outcome === 'ok' ? stepRuns : null });
  }
  for (const [variant, rows] of groupBy(raw, (r) => r.variant)) {
    const c = chaosCounts(rows.map(executionOf));
    counts.push({ variant, seed: Number(rows[0]!.labels.seed), ...c });
    const stored = rows.find((r) => typeof r.labels.kills === 'string')?.labels.kills;
    const landed = stored !== undefined ? (JSON.parse(String(stored)) as Kill[]) : [];
    for (const k of landed) {
      // What the kill could reach: executions accepted before it and not completed by then.
      const running = rows.filter((r) => Number(r.labels.accepted_ms) <= k.atMs && (typeof r.labels.completed_ms !== 'number' || r.labels.completed_ms > k.atMs)).length;
      kills.push({ variant, kind: k.kind, target: k.target, pid: k.pid, planned_ms: k.plannedMs, at_ms: k.atMs, restarted_ms: k.restartedMs, executions_running: running });
    }
    notes.push(
      `${variant}: ${c.submitted} submitted, ${c.completed} completed, ${c.failed} failed, ${c.lost} lost, ${c.duplicatedOutputs} duplicated outputs, ${c.wrongOutputs} wrong outputs; ` +
        `${c.stepRuns} step runs for ${c.steps} steps (${c.stepsRerun} re-runs), ${c.missingSteps} steps without their side effect; ` +
        `${c.takenOverFromFrontend} executions taken over from the killed frontend, ${c.placedAgainAfterHost} placed again after the host kill (${c.historyUnavailable} without a readable history).`,
    );
  }
  notes.push('Kill moments are ms since the first submission; `executions_running` counts the executions accepted and not yet completed when the kill landed (a kill after the last completion tests nothing); a frontend stays down past its registry entry (8 s) so that the other frontend takes its executions over.');
  return { metrics, tables: { summary: counts, kills }, notes };
}

export const chaos: Experiment<ChaosConfig> = {
  name: 'chaos',
  description: 'Async executions of a 3-step chain on 2 frontends and 2 host agents over JetStream while a worker, a sandbox, a host agent and a frontend are SIGKILLed: completed, failed, lost, duplicated, steps re-run.',
  figure: {
    id: 'fig-chaos',
    title: 'Chaos: exactly once from the caller’s view under kills',
    caption:
      'Left: what the caller saw of every execution (completed, failed, lost, duplicated outputs) and what global storage saw of the steps (step runs, re-runs, steps without their side effect). ' +
      'Right: when each kill landed (ms since the first submission) and, for a host agent or frontend, when it ran again.',
  },
  workloads: [],
  sizes: {
    quick: { count: 200, capacity: 4, killWindowMs: 12_000, frontendDownMs: 12_000, width: 8, settleBaseMs: 120_000, settlePerExecutionMs: 300 },
    full: { count: 1000, capacity: 4, killWindowMs: 12_000, frontendDownMs: 12_000, width: 8, settleBaseMs: 120_000, settlePerExecutionMs: 300 },
  },
  durations: { quick: '~2 min (estimated)', full: '~6 min (estimated)' },
  run: measure,
  // Counts, not a latency series: nothing for the regression gate.
  headline: () => [],
  process: (raw) => process_(raw),
  chart: (processed) => chaosSpec(processed.tables, chaos.figure),
};
