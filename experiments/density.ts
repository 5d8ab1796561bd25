/**
 * density: memory per deployed idle function and per concurrent execution, per platform variant, measured from the
 * processes' own accounting (PSS and RSS from /proc, through the adapter's collectMetrics) and, on the docker backend
 * when the adapter names the containers, from the containers' own (cgroup memory via the Docker engine's stats).
 * Produces Figure `fig-density`.
 *
 * Method, per variant and round:
 * 1. Idle functions. Deploy noop-chain with max(k) functions (each its own function); for each k in `functionCounts`
 *    (ascending), invoke the functions not yet invoked up to step k once (k functions are now warm, the rest hold no
 *    process), wait `idleMs` (the pool refills), sample memory. With workers started at deploy, one app per k instead.
 * 2. Concurrent executions. Deploy `sleep`; for each c in `concurrency` (ascending): a warm-up batch of c concurrent
 *    executions (it starts what c executions need: under per-function, c sandboxes), then a measured batch of c
 *    concurrent executions of `sleepMs`, sampled `sleepMs / 2` after they were sent. The sample counts only when every
 *    execution of the batch was in its handler at the sample's time, by the workers' own stamps; otherwise it is kept
 *    and labelled `not-in-flight`, and the batch is measured again (up to 3 attempts, label `attempt`).
 * Memory is the sum over the app's processes (its sandboxes' agents, workers and pooled runtimes); the frontend (this
 * process, in embedded mode, holding the harness too) is left out. PSS (shared pages divided among their sharers) is
 * the figure's number; RSS counts shared pages (the node binary, shared libraries) once per process and overstates.
 *
 * Storage. A memory sample is not a request, and raw records are one per request: the sample is stored, as taken
 * (every process), in the `memory` label (JSON text) of the request it follows (idle: the k-th function's warming invocation) or
 * it was taken during (concurrent: the batch's first execution). `process` derives everything from it.
 */
import { linearRegression } from 'simple-statistics';
import type { PlatformAdapter, ResourceSnapshot } from '../harness/types.js';
import { now } from '../platform/clock.js';
import { getWorkload } from '../workloads/index.js';
import { densitySpec } from '../report/charts/specs/density.js';
import { studentTQuantile } from '../report/stats/distributions.js';
import { exclusionNote, groupBy, metricBase, round4, variantLabels } from './runner/describe.js';
import type { Experiment, RunContext, Variant } from './runner/types.js';
import type { MetricRecord, Processed, Row } from '../report/types.js';
import type { RawRecord } from '../report/run-dir.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface DensityConfig {
  /** Functions per app for the idle measurement (k). */
  functionCounts: number[];
  /** Concurrent executions of `sleep` (c), ascending. */
  concurrency: number[];
  /** Repetitions of both ladders. */
  rounds: number;
  /** Pause between warming an app's functions and sampling its memory. */
  idleMs: number;
  /** How long each concurrent execution sleeps; memory is sampled half way through. */
  sleepMs: number;
}

/** One process as stored in a sample (bytes; null: not readable). */
export interface StoredProcess {
  pid: number;
  role: string;
  app: string | null;
  rss: number | null;
  pss: number | null;
}

/** One container's own memory accounting (Docker engine stats, cgroup), bytes. */
export interface StoredContainer {
  sandbox: string;
  app: string;
  containerId: string;
  /** memory_stats.usage: the cgroup's usage, page cache included. */
  usage: number | null;
  /** Page cache in the cgroup (cgroup v1 `stats.cache`, v2 `stats.file`), so that usage - cache is the docker CLI's number. */
  cache: number | null;
  limit: number | null;
}

/** A memory sample as stored in a record's `memory` label. */
export interface StoredSample {
  at: number;
  sandboxes: Array<{ app: string; id: string }>;
  processes: StoredProcess[];
  /** Per sandbox container, or null with the reason in `containersNote`. */
  containers: StoredContainer[] | null;
  containersNote: string | null;
}


/** The containers' own memory accounting, when the adapter names the sandboxes' containers. */
async function containerMemory(variant: Variant, metrics: ResourceSnapshot): Promise<Pick<StoredSample, 'containers' | 'containersNote'>> {
  if (variant.backend !== 'docker') return { containers: null, containersNote: 'not the docker backend' };
  // The adapter's metrics do not name containers yet (docs/experiments.md#density); read them when they do.
  const named = metrics.sandboxes.map((s) => ({ ...s, containerId: (s as { containerId?: unknown }).containerId })).filter((s): s is typeof s & { containerId: string } => typeof s.containerId === 'string');
  if (named.length === 0) return { containers: null, containersNote: 'the adapter does not expose container ids' };
  const { dockerClient } = await import('../platform/sandbox/docker/engine.js');
  const docker = await dockerClient();
  const containers: StoredContainer[] = [];
  for (const s of named) {
    try {
      const st = (await docker.getContainer(s.containerId).stats({ stream: false })) as unknown as { memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> } };
      const m = st.memory_stats ?? {};
      containers.push({ sandbox: s.id, app: s.app, containerId: s.containerId, usage: m.usage ?? null, cache: m.stats?.cache ?? m.stats?.file ?? null, limit: m.limit ?? null });
    } catch {
      containers.push({ sandbox: s.id, app: s.app, containerId: s.containerId, usage: null, cache: null, limit: null });
    }
  }
  return { containers, containersNote: null };
}

async function sample(adapter: PlatformAdapter, variant: Variant): Promise<string> {
  const m = await adapter.collectMetrics();
  const stored: StoredSample = {
    at: m.at,
    sandboxes: m.sandboxes.map((s) => ({ app: s.app, id: s.id })),
    processes: m.processes.map((p) => ({ pid: p.pid, role: p.role, app: p.app, rss: p.rssBytes, pss: p.pssBytes })),
    ...(await containerMemory(variant, m)),
  };
  return JSON.stringify(stored);
}

async function measure(ctx: RunContext, config: DensityConfig): Promise<void> {
  const chain = getWorkload('noop-chain');
  const sleeper = getWorkload('sleep');
  let seed = ctx.seed;
  for (const variant of ctx.variants) {
    await ctx.withAdapter(variant, async (adapter) => {
      const steps = config.rounds * (Math.max(...config.functionCounts) + 2 * config.concurrency.reduce((a, b) => a + b, 0));
      ctx.progress.begin(`density ${variant.backend}/${variant.preset}`, steps);
      for (let round = 0; round < config.rounds; round++) {
        // One app with max(k) functions, warmed one function at a time and sampled at each k: deployed functions
        // that were never invoked hold no process (workers start on first use), so this is k idle functions at a
        // fraction of the sandbox starts. With workers started at deploy, that is not so: one app per k.
        const perK = variant.workerStart === 'deploy';
        const ks = [...config.functionCounts].sort((a, b) => a - b);
        const maxK = ks[ks.length - 1] ?? 1;
        let d = perK ? null : await adapter.deploy(chain, { length: maxK }, { name: 'density-idle' });
        let warm = 0;
        for (const k of ks) {
          if (perK) {
            d = await adapter.deploy(chain, { length: k }, { name: `density-k${k}` });
            warm = 0;
          }
          const dep = d as NonNullable<typeof d>;
          for (let i = warm + 1; i <= k; i++) {
            const call = await adapter.invoke(dep, `step${i}`, chain.generateInput('small', seed++));
            const labels: Record<string, string | number> = { phase: 'idle', round, k, app: dep.app, function: `step${i}` };
            if (i === k) {
              await sleep(config.idleMs);
              labels.memory = await sample(adapter, variant);
              labels.sampledAfterMs = config.idleMs;
            }
            ctx.record(variant, call, { labels });
            ctx.progress.tick();
          }
          warm = k;
          if (perK) await adapter.remove(dep);
        }
        if (!perK && d !== null) await adapter.remove(d);
        const app = 'density-sleep';
        const sd = await adapter.deploy(sleeper, {}, { name: app });
        for (const c of config.concurrency) {
          // A warm-up batch, then measured attempts until one sample falls inside every execution's handler (a busy
          // machine can start a batch late); the attempts left out stay in the records, labelled with their number.
          for (let attempt = -1; attempt < MEASURE_ATTEMPTS; attempt++) {
            const warmup = attempt < 0;
            const inputs = Array.from({ length: c }, () => ({ ms: config.sleepMs, n: seed++ }));
            const sentAt = now();
            const calls = Promise.all(inputs.map((input) => adapter.execute(sd, input)));
            let memory: string | null = null;
            let at = 0;
            if (!warmup) {
              await sleep(config.sleepMs / 2);
              memory = await sample(adapter, variant);
              at = (JSON.parse(memory) as StoredSample).at;
            }
            const results = await calls;
            results.forEach((call, i) => {
              const labels: Record<string, string | number> = { phase: 'concurrent', round, c, app, index: i, sentAt: round4(sentAt) };
              if (!warmup) labels.attempt = attempt;
              if (i === 0 && memory !== null) labels.memory = memory;
              ctx.record(variant, call, { warmup, labels });
              if (attempt <= 0) ctx.progress.tick();
            });
            if (warmup) continue;
            if (results.every((call) => call.outcome.state === 'ok' && inHandlerAt(call.platform?.records ?? [], at))) break;
            if (attempt + 1 < MEASURE_ATTEMPTS) ctx.progress.note(`density ${variant.preset} c=${c}: the sample missed an execution's handler; measuring again`);
          }
        }
        await adapter.remove(sd);
      }
      ctx.progress.end();
    });
  }
}

const MB = 1024 * 1024;

/** What a sample's processes of one app add up to (MB), by role. */
export function appMemory(sample: StoredSample, app: string): { pss: number; rss: number; agent: number; workers: number; runtimes: number; other: number; processes: number; workers_n: number; runtimes_n: number; unreadable: number } {
  const ps = sample.processes.filter((p) => p.app === app);
  const pss = (f: (p: StoredProcess) => boolean) => ps.filter(f).reduce((s, p) => s + (p.pss ?? 0), 0) / MB;
  return {
    pss: pss(() => true),
    rss: ps.reduce((s, p) => s + (p.rss ?? 0), 0) / MB,
    agent: pss((p) => p.role === 'agent'),
    workers: pss((p) => p.role.startsWith('worker:')),
    runtimes: pss((p) => p.role === 'runtime'),
    other: pss((p) => p.role !== 'agent' && p.role !== 'runtime' && !p.role.startsWith('worker:')),
    processes: ps.length,
    workers_n: ps.filter((p) => p.role.startsWith('worker:')).length,
    runtimes_n: ps.filter((p) => p.role === 'runtime').length,
    unreadable: ps.filter((p) => p.pss === null).length,
  };
}

/** Least-squares slope with its Student-t 95% interval (null bounds with fewer than 3 points or no spread). */
export function slopeCI(points: ReadonlyArray<[number, number]>): { slope: number | null; intercept: number | null; lo: number | null; hi: number | null; n: number } {
  const n = points.length;
  if (n < 2 || new Set(points.map((p) => p[0])).size < 2) return { slope: null, intercept: null, lo: null, hi: null, n };
  const { m, b } = linearRegression(points as Array<[number, number]>);
  if (n < 3) return { slope: m, intercept: b, lo: null, hi: null, n };
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const sxx = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  const ssr = points.reduce((s, p) => s + (p[1] - (m * p[0] + b)) ** 2, 0);
  const se = Math.sqrt(ssr / (n - 2) / sxx);
  const t = studentTQuantile(0.975, n - 2);
  return { slope: m, intercept: b, lo: m - t * se, hi: m + t * se, n };
}

interface Point {
  r: RawRecord;
  phase: 'idle' | 'concurrent';
  x: number;
  sample: StoredSample;
  valid: boolean;
  why: string | null;
}

/** How many measured batches per concurrency level, at most, to get one sample taken while all were in flight. */
const MEASURE_ATTEMPTS = 3;

/** Whether some invocation of an execution was in its handler at `at` (the workers' own stamps). */
function inHandlerAt(records: readonly { t: { handlerStart: number; handlerEnd: number } }[], at: number): boolean {
  return records.some((rec) => rec.t.handlerStart <= at && at <= rec.t.handlerEnd);
}

function pointsOf(raw: readonly RawRecord[]): Point[] {
  const out: Point[] = [];
  for (const r of raw) {
    if (typeof r.labels.memory !== 'string') continue;
    const sample = JSON.parse(r.labels.memory) as StoredSample;
    const phase = r.labels.phase === 'idle' ? 'idle' : 'concurrent';
    const x = Number(phase === 'idle' ? r.labels.k : r.labels.c);
    const app = String(r.labels.app);
    let why: string | null = null;
    if (phase === 'idle') {
      const warming = raw.filter((q) => q.variant === r.variant && q.labels.phase === 'idle' && q.labels.round === r.labels.round && Number(q.labels.k) <= x);
      if (warming.some((q) => q.outcome !== 'ok')) why = 'a warming invocation failed';
      else if (sample.processes.length === 0) why = 'no process visible';
      else if (appMemory(sample, app).workers_n < x) why = 'fewer live workers than functions';
    } else {
      const batch = raw.filter((q) => q.variant === r.variant && q.labels.phase === 'concurrent' && !q.warmup && q.labels.round === r.labels.round && q.labels.c === r.labels.c && q.labels.attempt === r.labels.attempt);
      if (batch.some((q) => q.outcome !== 'ok')) why = 'an execution of the batch failed';
      else if (sample.processes.length === 0) why = 'no process visible';
      else if (!batch.every((q) => inHandlerAt(q.call.platform?.records ?? [], sample.at))) why = 'not-in-flight';
    }
    out.push({ r, phase, x, sample, valid: why === null, why });
  }
  return out;
}

function process_(raw: readonly RawRecord[]): Processed {
  const metrics: MetricRecord[] = [];
  const points = pointsOf(raw);
  for (const r of raw) {
    if (r.labels.phase === 'concurrent') metrics.push({ ...metricBase(r, { ...variantLabels(r), c: Number(r.labels.c) }), metric: 'client_latency_ms', value: round4(r.call.client.receive - r.call.client.intendedSend) });
  }
  const samples: Row[] = [];
  for (const p of points) {
    const app = String(p.r.labels.app);
    const mem = appMemory(p.sample, app);
    const containers = p.sample.containers?.filter((c) => c.app === app) ?? null;
    const containerMb = containers && containers.length > 0 && containers.every((c) => c.usage !== null) ? containers.reduce((s, c) => s + (c.usage ?? 0) - (c.cache ?? 0), 0) / MB : null;
    const labels = { ...variantLabels(p.r), phase: p.phase, [p.phase === 'idle' ? 'k' : 'c']: p.x };
    const { temperature: _temperature, ...common } = metricBase(p.r, labels); // a memory sample has no temperature
    const base = { ...common, outcome: p.valid ? ('ok' as const) : p.r.outcome === 'ok' ? ('invalid' as const) : p.r.outcome, warmup: false };
    // No process of the app visible on this host (a remote platform): nothing was measured, which is not 0 MB.
    const mb = (v: number): number | null => (mem.processes === 0 ? null : round4(v));
    if (mem.processes > 0) {
      metrics.push({ ...base, metric: 'memory_pss_mb', value: round4(mem.pss) });
      metrics.push({ ...base, metric: 'memory_rss_mb', value: round4(mem.rss) });
    }
    samples.push({
      variant: p.r.variant,
      preset: p.r.preset,
      backend: p.r.backend,
      phase: p.phase,
      x: p.x,
      round: Number(p.r.labels.round),
      pss_mb: mb(mem.pss),
      rss_mb: mb(mem.rss),
      agent_pss_mb: mb(mem.agent),
      workers_pss_mb: mb(mem.workers),
      runtimes_pss_mb: mb(mem.runtimes),
      other_pss_mb: mb(mem.other),
      container_mb: containerMb === null ? null : round4(containerMb),
      sandboxes: p.sample.sandboxes.filter((s) => s.app === app).length,
      processes: mem.processes,
      workers: mem.workers_n,
      pooled_runtimes: mem.runtimes_n,
      unreadable: mem.unreadable,
      valid: p.valid,
      why: p.why,
    });
  }
  const summary: Row[] = [];
  const notes = [exclusionNote('density', raw)];
  for (const [key, group] of groupBy(points, (p) => `${p.r.variant}|${p.phase}`)) {
    const [variant = '', phase = ''] = key.split('|');
    const valid = group.filter((p) => p.valid);
    const pick = (f: (m: ReturnType<typeof appMemory>) => number) => valid.map((p) => [p.x, f(appMemory(p.sample, String(p.r.labels.app)))] as [number, number]);
    const pss = slopeCI(pick((m) => m.pss));
    const rss = slopeCI(pick((m) => m.rss));
    const cont = valid.map((p) => samples.find((s) => s.variant === variant && s.phase === phase && s.x === p.x && s.round === Number(p.r.labels.round))?.container_mb ?? null);
    const contFit = cont.every((v) => typeof v === 'number') && cont.length > 0 ? slopeCI(valid.map((p, i) => [p.x, cont[i] as number])) : null;
    const first = group[0] as Point;
    summary.push({
      variant,
      preset: first.r.preset,
      backend: first.r.backend,
      per: phase === 'idle' ? 'idle function' : 'concurrent execution',
      pss_mb_slope: pss.slope === null ? null : round4(pss.slope),
      pss_mb_slope_lo: pss.lo === null ? null : round4(pss.lo),
      pss_mb_slope_hi: pss.hi === null ? null : round4(pss.hi),
      pss_mb_intercept: pss.intercept === null ? null : round4(pss.intercept),
      rss_mb_slope: rss.slope === null ? null : round4(rss.slope),
      container_mb_slope: contFit?.slope == null ? null : round4(contFit.slope),
      samples: valid.length,
      left_out: group.length - valid.length,
    });
    const bad = group.filter((p) => !p.valid);
    notes.push(
      `${variant}: ${phase === 'idle' ? 'per idle function' : 'per concurrent execution'}: PSS slope ${pss.slope === null ? 'n/a' : pss.slope.toFixed(2)} MB` +
        (pss.lo !== null && pss.hi !== null ? ` (95% CI ${pss.lo.toFixed(2)} to ${pss.hi.toFixed(2)})` : '') +
        `, RSS slope ${rss.slope === null ? 'n/a' : rss.slope.toFixed(2)} MB, intercept ${pss.intercept === null ? 'n/a' : pss.intercept.toFixed(1)} MB PSS, from ${valid.length} samples` +
        (bad.length > 0 ? `; ${bad.length} sample(s) left out (${[...new Set(bad.map((b) => b.why))].join(', ')})` : '') +
        '.',
    );
    const docker = group.find((p) => p.r.backend === 'docker');
    if (docker && docker.sample.containers === null) notes.push(`${variant}: no container accounting: ${docker.sample.containersNote ?? 'unknown'}.`);
  }
  notes.push('Memory is the sum over each app\'s sandbox processes (agent, workers, pooled runtimes); the frontend process (in embedded mode the platform\'s own process) is left out. The figure shows PSS.');
  summary.sort((a, b) => String(a.per).localeCompare(String(b.per)) || String(a.variant).localeCompare(String(b.variant)));
  return { metrics, tables: { summary, samples }, notes };
}

export const density: Experiment<DensityConfig> = {
  name: 'density',
  description: 'Memory per deployed idle function and per concurrent execution, from the processes\' own accounting (PSS/RSS) and the containers\' (docker).',
  figure: {
    id: 'fig-density',
    title: 'Density: memory per idle function and per concurrent execution',
    caption:
      'Proportional set size (PSS: shared pages divided among the processes sharing them) summed over each app\'s sandbox processes, from /proc. ' +
      'Left: after deploying an app of k functions and invoking each once, idle. Right: during c concurrent executions of a sleeping function ' +
      '(every one confirmed in its handler at the sample time). Lines: least-squares fits; their slopes, with 95% intervals, are the memory per idle function and per concurrent execution.',
  },
  workloads: ['noop-chain', 'sleep'],
  sizes: {
    quick: { functionCounts: [1, 2, 4, 8], concurrency: [1, 2, 4, 8], rounds: 1, idleMs: 400, sleepMs: 500 },
    full: { functionCounts: [1, 2, 4, 8, 16], concurrency: [1, 2, 4, 8, 16], rounds: 5, idleMs: 2000, sleepMs: 2000 },
  },
  durations: { quick: '~8 s grouped, ~16 s per-function (load 11 on 2 cores)', full: '~3-4 min per preset (estimated)' },
  run: measure,
  process: (raw) => process_(raw),
  // None: one memory sample per point and c latencies at concurrency c, by design a figure to read, not to gate.
  headline: () => [],
  chart: (processed) => densitySpec(processed.tables, density.figure),
};
