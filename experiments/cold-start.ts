/**
 * cold-start: the temperature ladder (cold-sandbox, cold-worker, warm) per platform variant, with the cold-start
 * phases stacked from the platform's own records. Produces Figure `fig-cold-start`.
 *
 * Method. The workload is noop-chain with K+1 functions (step1..stepK+1, one code folder), invoked directly, one
 * request at a time. Each round:
 *   1. `enforceColdStart` (the app is deleted and deployed again: no sandbox, no worker);
 *   2. invoke step1: the request creates the sandbox            -> expected cold-sandbox;
 *   3. invoke step2..stepK+1: the sandbox exists, each function's worker is started for it -> expected cold-worker;
 *   4. invoke step1 `warmPerRound` times: its worker is running  -> expected warm.
 * A platform that gives each function its own sandbox has no cold-worker rung: when the warm-up round's cold-worker
 * request comes back in a new sandbox, the measured rounds skip step 3 (and the notes say so).
 * Every expectation is checked by identity, not timing: a cold-sandbox record must name a sandbox id and worker pid
 * never seen before; a cold-worker record the round's sandbox and a new pid; a warm record the pid step1 ran on in
 * this round. Requests whose records do not confirm the expectation are kept and labelled `mismatch`.
 * A first round is labelled warm-up (the HTTP connection, the frontend's JIT) and kept out of the statistics.
 */
import type { CallResult, Deployment, PlatformAdapter } from '../harness/types.js';
import type { InvocationRecord, Temperature } from '../platform/records.js';
import { getWorkload } from '../workloads/index.js';
import { coldStartSpec, PHASES } from '../report/charts/specs/cold-start.js';
import { describe, e2eMs, exclusion, exclusionNote, groupBy, metricBase, prefixed, round4, variantLabels } from './runner/describe.js';
import type { Experiment, RunContext } from './runner/types.js';
import type { MetricRecord, Processed, Row } from '../report/types.js';
import type { RawRecord } from '../report/run-dir.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ColdStartConfig {
  /** Measured rounds (one cold-sandbox sample each), after one warm-up round. */
  rounds: number;
  /** Cold-worker samples per round (functions step2..). */
  coldWorkersPerRound: number;
  /** Warm samples per round. */
  warmPerRound: number;
  /** Pause after a cold-sandbox and after each cold-worker request, as between sporadic requests (lets the pool refill). */
  pauseMs: number;
  /** Input size of noop-chain. */
  inputSize: string;
}

export const TEMPERATURES: readonly Temperature[] = ['cold-sandbox', 'cold-worker', 'warm'];

/** Tracks identities across the experiment to confirm each request's temperature. */
class IdentityCheck {
  readonly #sandboxes = new Set<string>();
  readonly #pids = new Set<number>();
  roundSandbox: string | null = null;
  step1Pid: number | null = null;

  check(expected: Temperature, record: InvocationRecord | undefined): 'ok' | 'mismatch' | 'unchecked' {
    if (record === undefined) return 'unchecked'; // a failed call: counted as failed, there is nothing to check
    const newSandbox = !this.#sandboxes.has(record.sandboxId);
    const newPid = !this.#pids.has(record.workerPid);
    let ok: boolean;
    switch (expected) {
      case 'cold-sandbox':
        ok = newSandbox && newPid && record.temperature === 'cold-sandbox';
        this.roundSandbox = record.sandboxId;
        this.step1Pid = record.workerPid;
        break;
      case 'cold-worker':
        ok = !newSandbox && record.sandboxId === this.roundSandbox && newPid && record.temperature === 'cold-worker';
        break;
      case 'warm':
        ok = !newSandbox && record.sandboxId === this.roundSandbox && record.workerPid === this.step1Pid && record.temperature === 'warm';
        break;
      case 'unknown':
        ok = false; // the experiment never expects a temperature it cannot establish
        break;
    }
    this.#sandboxes.add(record.sandboxId);
    if (record.workerPid > 0) this.#pids.add(record.workerPid);
    return ok ? 'ok' : 'mismatch';
  }
}


async function measure(ctx: RunContext, config: ColdStartConfig): Promise<void> {
  const workload = getWorkload('noop-chain');
  const perRound = 1 + config.coldWorkersPerRound + config.warmPerRound;
  for (const variant of ctx.variants) {
    if (variant.workerStart === 'deploy') {
      ctx.progress.note(`cold-start: skipping ${variant.platform}/${variant.backend}/${variant.preset} with workerStart=deploy (no request can be cold there)`);
      continue;
    }
    await ctx.withAdapter(variant, async (adapter: PlatformAdapter) => {
      const deployment: Deployment = await adapter.deploy(workload, { length: config.coldWorkersPerRound + 1 }, { name: 'cold-start' });
      const ids = new IdentityCheck();
      ctx.progress.begin(`cold-start ${variant.backend}/${variant.preset}`, (config.rounds + 1) * perRound);
      let seq = 0;
      const one = async (fn: string, expected: Temperature, round: number, warmup: boolean): Promise<InvocationRecord | undefined> => {
        const input = workload.generateInput(config.inputSize, ctx.seed + seq++);
        const call: CallResult = await adapter.invoke(deployment, fn, input);
        const record = call.platform?.records[0];
        ctx.record(variant, call, {
          expectedTemperature: expected,
          temperatureCheck: ids.check(expected, record),
          warmup,
          labels: { round, function: fn, workerOrigin: record?.workerOrigin ?? null },
        });
        ctx.progress.tick();
        return record;
      };
      // A platform that gives each function a sandbox of its own (per-function) has no cold-worker rung: in the
      // warm-up round, every cold-worker request then comes back in a new sandbox. The measured rounds skip the rung
      // there, rather than spend a sandbox start per round on a request that can only be a mismatch.
      let coldWorkerRung = true;
      for (let round = 0; round <= config.rounds; round++) {
        const warmup = round === 0;
        if (round > 0) await adapter.enforceColdStart(deployment);
        const first = await one('step1', 'cold-sandbox', round, warmup);
        await sleep(config.pauseMs);
        for (let k = 2; k <= config.coldWorkersPerRound + 1 && coldWorkerRung; k++) {
          const rec = await one(`step${k}`, 'cold-worker', round, warmup);
          if (warmup && rec !== undefined && first !== undefined && rec.sandboxId !== first.sandboxId) coldWorkerRung = false;
          await sleep(config.pauseMs);
        }
        if (warmup && !coldWorkerRung) {
          ctx.progress.note(`cold-start ${variant.backend}/${variant.preset}: a cold-worker request started a sandbox of its own, so the measured rounds skip the cold-worker rung`);
          ctx.progress.tick(config.rounds * config.coldWorkersPerRound);
        }
        for (let w = 0; w < config.warmPerRound; w++) await one('step1', 'warm', round, warmup);
      }
      ctx.progress.end();
      await adapter.remove(deployment);
    });
  }
}

/** The phases of one request, in ms; `other` is what the client waited beyond the platform's named phases. */
export function phasesOf(r: RawRecord): Record<(typeof PHASES)[number]['key'], number> | null {
  const rec = r.call.platform?.records[0];
  if (rec === undefined) return null;
  // sandboxStartMs covers the whole start; its first part, creating the process or container, is shown apart.
  const sandboxCreate = rec.coldStart.sandboxCreateMs ?? 0;
  const sandboxTotal = rec.coldStart.sandboxStartMs ?? 0;
  const sandboxStart = sandboxTotal - sandboxCreate;
  const runtimeBoot = rec.coldStart.runtimeBootMs ?? 0;
  const codeLoad = rec.coldStart.codeLoadMs ?? 0;
  // Worker start as the agent saw it (queued -> workerReady) holds runtime boot and code load; the rest is handing
  // the runtime over and waiting for it (one process's stamps, so no clock offset enters).
  const workerRest = rec.t.workerReady - rec.t.queued - runtimeBoot - codeLoad;
  const handler = rec.t.handlerEnd - rec.t.handlerStart;
  return { sandboxCreate, sandboxStart, runtimeBoot, codeLoad, workerRest, handler, other: e2eMs(r) - sandboxTotal - (rec.t.workerReady - rec.t.queued) - handler };
}

function process_(raw: readonly RawRecord[]): Processed {
  const metrics: MetricRecord[] = [];
  for (const r of raw) {
    const base = metricBase(r, variantLabels(r));
    metrics.push({ ...base, metric: 'client_latency_ms', value: round4(e2eMs(r)) });
    const ph = phasesOf(r);
    if (ph) for (const p of PHASES) metrics.push({ ...base, metric: `${p.metric}_ms`, value: round4(ph[p.key]) });
  }
  const kept = raw.filter((r) => exclusion(r) === null);
  const summary: Row[] = [];
  const phases: Row[] = [];
  const samples: Row[] = [];
  for (const [variant, rows] of groupBy(kept, (r) => r.variant)) {
    const byT = groupBy(rows, (r) => r.expectedTemperature ?? 'unknown');
    for (const t of TEMPERATURES) {
      const group = byT.get(t) ?? [];
      const all = raw.filter((r) => r.variant === variant && r.expectedTemperature === t && !r.warmup);
      const fromPool = group.filter((r) => r.call.platform?.records[0]?.workerOrigin === 'pool').length;
      const ph = group.map(phasesOf).filter((p): p is NonNullable<typeof p> => p !== null);
      const phaseMedians: Row = {};
      for (const p of PHASES) {
        const d = describe(ph.map((x) => x[p.key]));
        phaseMedians[`${p.metric}_ms_median`] = d.median;
        phases.push({ variant, temperature: t, phase: p.label, order: PHASES.indexOf(p), ms_median: d.median });
      }
      summary.push({
        variant,
        temperature: t,
        ...prefixed('e2e_ms', describe(group.map(e2eMs))),
        ...phaseMedians,
        from_pool: fromPool,
        excluded: all.length - group.length,
      });
      for (const r of group) samples.push({ variant, temperature: t, e2e_ms: round4(e2eMs(r)), origin: r.call.platform?.records[0]?.workerOrigin ?? null, round: r.labels.round ?? null });
    }
  }
  const notes = [exclusionNote('cold-start', raw)];
  for (const [variant, rows] of groupBy(raw, (r) => r.variant)) {
    const coldWorker = rows.filter((r) => r.expectedTemperature === 'cold-worker');
    if (coldWorker.length > 0 && coldWorker.every((r) => r.warmup)) {
      notes.push(`${variant}: no cold-worker rung: in the warm-up round a cold-worker request started a sandbox of its own (one function per sandbox), so the measured rounds skipped it.`);
    }
  }
  return { metrics, tables: { summary, phases, samples }, notes };
}

export const coldStart: Experiment<ColdStartConfig> = {
  name: 'cold-start',
  description: 'The temperature ladder (cold-sandbox, cold-worker, warm) with the cold-start phases from the records.',
  figure: {
    id: 'fig-cold-start',
    title: 'Cold-start ladder: latency by temperature and its phases',
    caption:
      'Left: median of each phase per temperature, stacked: sandbox create and start, runtime boot and code load from the records\' coldStart fields; ' +
      'rest of worker start = the agent\'s queued-to-workerReady minus boot and load; handler time from the worker\'s stamps; ' +
      'other = client latency minus all of these. Medians of phases do not add up to the median latency exactly. ' +
      'Right: every request\'s client latency (log scale), coloured by where its worker came from. ' +
      'Temperatures are confirmed by sandbox ids and worker pids.',
  },
  workloads: ['noop-chain'],
  sizes: {
    // Every rung gets the gate's 20 samples (headline below): more rounds, fewer requests per round.
    quick: { rounds: 20, coldWorkersPerRound: 1, warmPerRound: 5, pauseMs: 150, inputSize: 'small' },
    full: { rounds: 40, coldWorkersPerRound: 5, warmPerRound: 100, pauseMs: 250, inputSize: 'small' },
  },
  durations: { quick: '~90 s for both presets at load 14-16 (2 cores)', full: '~70 s' },
  run: measure,
  process: (raw) => process_(raw),
  // The cold-start ladder's medians. Under per-function a sandbox holds one worker, so its cold-worker rung has no
  // samples by design.
  headline: (c) => [
    { metric: 'client_latency_ms', temperature: 'cold-sandbox', samples: c.rounds },
    { metric: 'client_latency_ms', temperature: 'cold-worker', presets: ['grouped'], samples: c.rounds * c.coldWorkersPerRound },
    { metric: 'client_latency_ms', temperature: 'warm', samples: c.rounds * c.warmPerRound },
  ],
  chart: (processed) => coldStartSpec(processed.tables, coldStart.figure),
};
