/**
 * spiky: an open-loop spike schedule against the spiky workload's ~100 ms function (`resize`), per preset, while the
 * platform is sampled every `sampleMs` (sandboxes and workers alive, PSS/RSS of its processes). Produces Figure
 * `fig-spiky`: latency percentiles per time window with the offered rate, sandboxes and workers alive over time, and
 * memory over time, one column per preset.
 *
 * Method. The schedule is a rate file of workloads/spiky/schedules (default `nfv-spike`: the NFV paper's constant
 * 1 request/s plus spikes), scaled to this machine in two ways, both recorded in the config: the time axis is
 * compressed by `timeScale` (our seconds per second of the file), and each rate above the file's baseline becomes
 * `baseline + (rate - baseline) * spikeScale` (the baseline is kept, as the file itself does). Arrivals are a seeded
 * Poisson process with that piecewise-constant rate; every request leaves at its intended time whatever the platform
 * does, and its latency counts from the intended time (no coordinated omission); the load generator's drift flag is
 * stored with every request. After the schedule, `tailMs` of idle sampling shows reclaiming.
 *
 * Keep-alive. Reclaiming must show within a quick run, so the platform runs with `keepAliveSeconds` from the config
 * (the presets' 600 s would hide it). It asks the adapter for it (`platformConfig`); the keep-alive the platform
 * resolved is in the manifest's adapter description and in every sample record. A remote variant (--url) keeps its
 * own keep-alive (recorded as null).
 *
 * Samples. The runner stores requests only (raw.jsonl), so each platform sample is stored there too, as a raw line
 * labelled `record: 'sample'` whose `call` is the collectMetrics call (target `collectMetrics`, client timestamps of
 * the sample, no platform records, `requestBytes` 0) and whose labels hold the counts and bytes. `process` keeps
 * samples and requests apart; the manifest's request count includes the samples (docs/experiments.md says so).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { now } from '../platform/clock.js';
import { MfError } from '../platform/errors.js';
import { pssBytes, rssBytes } from '../harness/proc.js';
import type { CallResult, PlatformAdapter, ResourceSnapshot } from '../harness/types.js';
import { exponential, seededRng } from '../report/stats/random.js';
import { windowSummaries } from '../report/stats/windows.js';
import { spikySpec } from '../report/charts/specs/spiky.js';
import { getWorkload } from '../workloads/index.js';
import { loadRateSchedule, type RATE_SCHEDULES } from '../workloads/spiky/schedules.js';
import { sendSkewLine } from './load/drift.js';
import { runOpenLoop } from './load/open-loop.js';
import { checkSchedule, SCHEDULE_FORMAT, type Schedule, type SchedulePhase } from './load/schedule.js';
import { describe, e2eMs, groupBy, metricBase, round4, sendSkewP99 } from './runner/describe.js';
import { scalingTimeline } from './runner/scaling.js';
import type { Experiment, RunContext, Variant } from './runner/types.js';
import type { Labels, RawRecord } from '../report/run-dir.js';
import type { MetricRecord, Processed, Row } from '../report/types.js';

export interface SpikyConfig {
  /** Rate file of workloads/spiky/schedules. */
  schedule: (typeof RATE_SCHEDULES)[number];
  /** The slice of the file to replay, seconds of the file: [fromS, toS). */
  fromS: number;
  toS: number;
  /** Our seconds per second of the file (0.05: 20x faster). */
  timeScale: number;
  /** Factor on each rate's excess over the file's baseline rate (the baseline is kept). */
  spikeScale: number;
  /** Platform keep-alive for the run, seconds (embedded variants). */
  keepAliveSeconds: number;
  /** Sequential requests before the schedule (the first is the cold start), labelled warm-up. */
  warmup: number;
  /** Idle sampling after the schedule, ms: reclaiming shows here. */
  tailMs: number;
  /** Platform sampling period, ms. */
  sampleMs: number;
  /** Width of a latency window, ms. */
  windowMs: number;
  inputSize: string;
  maxInFlight: number;
  /** Requests still unanswered this long after the schedule ends are recorded as timeouts, ms. */
  graceMs: number;
}

/** The schedule as this machine replays it: deterministic in the config and the seed. */
export function spikySchedule(config: SpikyConfig, seed: number): Schedule & { baseline: number } {
  const file = loadRateSchedule(config.schedule);
  const step = file.stepSeconds;
  if (!(config.fromS >= 0) || !(config.toS > config.fromS) || config.toS > file.rates.length * step) {
    throw new MfError('MF_CONFIG_INVALID', `spiky: the slice [${config.fromS}, ${config.toS}) s is not inside ${config.schedule} (${file.rates.length * step} s)`, { option: 'fromS' });
  }
  if (!(config.timeScale > 0) || !(config.spikeScale > 0)) throw new MfError('MF_CONFIG_INVALID', 'spiky: timeScale and spikeScale must be positive', { option: 'timeScale' });
  // The baseline: the file's most common non-zero rate (nfv-spike: 1 request/s).
  const counts = new Map<number, number>();
  for (const r of file.rates) if (r > 0) counts.set(r, (counts.get(r) ?? 0) + 1);
  const baseline = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? 0;
  const rng = seededRng(seed);
  const offsets: number[] = [];
  const phases: SchedulePhase[] = [];
  const segments: Array<{ startMs: number; endMs: number; rate: number }> = [];
  for (let i = Math.floor(config.fromS / step); i * step < config.toS; i++) {
    const fileRate = file.rates[i] ?? 0;
    const rate = fileRate > baseline ? baseline + (fileRate - baseline) * config.spikeScale : fileRate;
    const startMs = (Math.max(i * step, config.fromS) - config.fromS) * config.timeScale * 1000;
    const endMs = (Math.min((i + 1) * step, config.toS) - config.fromS) * config.timeScale * 1000;
    const last = segments[segments.length - 1];
    if (last !== undefined && last.rate === rate) last.endMs = endMs;
    else segments.push({ startMs, endMs, rate });
  }
  let spike = 0;
  for (const s of segments) {
    // A Poisson process is memoryless, so drawing each constant-rate segment on its own is exact.
    if (s.rate > 0) for (let t = s.startMs + exponential(rng, s.rate / 1000); t < s.endMs; t += exponential(rng, s.rate / 1000)) offsets.push(t);
    phases.push({ label: s.rate > baseline ? `spike ${++spike}: ${round4(s.rate)} req/s` : `base: ${round4(s.rate)} req/s`, startMs: s.startMs, endMs: s.endMs });
  }
  const durationMs = (config.toS - config.fromS) * config.timeScale * 1000;
  const schedule = {
    format: SCHEDULE_FORMAT,
    name: `${config.schedule}[${config.fromS}-${config.toS}s]x${config.timeScale}t-spikes${config.spikeScale}-seed${seed}`,
    kind: 'rate-file',
    seed,
    params: { file: config.schedule, fileScaleFactor: file.scaleFactor, fromS: config.fromS, toS: config.toS, timeScale: config.timeScale, spikeScale: config.spikeScale, baseline },
    durationMs,
    offsetsMs: offsets,
    phases,
  } satisfies Schedule;
  checkSchedule(schedule, 'spiky schedule');
  return { ...schedule, baseline };
}

/** The phase (and its nominal rate) an offset falls in. */
function phaseAt(phases: readonly SchedulePhase[], offsetMs: number): SchedulePhase | undefined {
  return phases.find((p) => offsetMs >= p.startMs && offsetMs < p.endMs);
}

/**
 * Runs `fn` with an adapter whose platform reclaims after `keepAliveSeconds` (an embedded platform; a remote one
 * is driven as it is configured, and `resolved` is then null). The resolved value comes from the adapter's
 * description, which is also what the manifest records.
 */
async function withKeepAlive<T>(
  ctx: RunContext,
  variant: Variant,
  keepAliveSeconds: number,
  fn: (adapter: PlatformAdapter, resolvedKeepAlive: number | null) => Promise<T>,
): Promise<T> {
  const embedded = variant.url === undefined && variant.platform === 'microfunctions';
  const asked: Variant = embedded ? { ...variant, platformConfig: { ...variant.platformConfig, keepAliveSeconds } } : variant;
  return ctx.withAdapter(asked, (a) => {
    const policy = (a.description as { policy?: { keepAliveSeconds?: number } | null }).policy;
    return fn(a, policy?.keepAliveSeconds ?? null);
  });
}

function sampleLabels(m: ResourceSnapshot, offsetMs: number, keepAlive: number | null): Labels {
  const inSandboxes = m.processes.filter((p) => p.role !== 'frontend');
  const sum = (xs: Array<number | null>): number => xs.reduce<number>((a, x) => a + (x ?? 0), 0);
  return {
    record: 'sample',
    offset_ms: round4(offsetMs),
    sandboxes: m.sandboxes.length,
    workers: inSandboxes.filter((p) => p.role.startsWith('worker:')).length,
    agents: inSandboxes.filter((p) => p.role === 'agent').length,
    runtimes: inSandboxes.filter((p) => p.role === 'runtime').length,
    processes: inSandboxes.length,
    pss_bytes: sum(inSandboxes.map((p) => p.pssBytes)),
    rss_bytes: sum(inSandboxes.map((p) => p.rssBytes)),
    unreadable: inSandboxes.filter((p) => p.pssBytes === null).length,
    frontend_pss_bytes: pssBytes(process.pid),
    frontend_rss_bytes: rssBytes(process.pid),
    keep_alive_s: keepAlive,
  };
}

async function measure(ctx: RunContext, config: SpikyConfig): Promise<void> {
  const workload = getWorkload('spiky');
  const schedule = spikySchedule(config, ctx.seed);
  let okRequests = 0;
  for (const variant of ctx.variants) {
    await withKeepAlive(ctx, variant, config.keepAliveSeconds, async (adapter, keepAlive) => {
      const d = await adapter.deploy(workload, {}, { name: 'spiky' });
      const input = workload.generateInput(config.inputSize, ctx.seed);
      const fn = d.functions[0] as string;
      ctx.progress.begin(`spiky ${variant.backend}/${variant.preset}: warm-up`, config.warmup);
      for (let i = 0; i < config.warmup; i++) {
        ctx.record(variant, await adapter.invoke(d, fn, input), { warmup: true, labels: { record: 'request', phase: 'warm-up', offered_rps: 0, offset_ms: null, drift: false } });
        ctx.progress.tick();
      }
      ctx.progress.end();

      // The sampler runs alongside the load; t0 is the load's, known once runOpenLoop returns, so samples keep their
      // epoch times here and get their offsets below.
      const samples: Array<{ call: CallResult; m: ResourceSnapshot }> = [];
      let sampling = true;
      const sampler = (async () => {
        for (let next = now(); sampling; ) {
          const sentAt = now();
          const m = await adapter.collectMetrics();
          samples.push({ call: { kind: 'invocation', target: 'collectMetrics', client: { intendedSend: next, actualSend: sentAt, receive: now() }, platform: null, outcome: { state: 'ok' }, requestBytes: 0 }, m });
          next += config.sampleMs;
          const wait = next - now();
          if (wait > 0) await sleep(wait);
          else next = now(); // a sample took longer than the period: no burst to catch up
        }
      })();
      ctx.progress.begin(`spiky ${variant.backend}/${variant.preset}: ${schedule.offsetsMs.length} requests in ${(schedule.durationMs / 1000).toFixed(1)} s`, schedule.offsetsMs.length);
      let result;
      try {
        result = await runOpenLoop<CallResult>(schedule, () => adapter.invoke(d, fn, input).finally(() => ctx.progress.tick()), {
          maxInFlight: config.maxInFlight,
          deadlineMs: schedule.durationMs + config.graceMs,
        });
        ctx.progress.end();
        await sleep(config.tailMs);
      } finally {
        sampling = false;
        await sampler;
      }
      ctx.progress.note(`spiky ${variant.preset}: ${sendSkewLine(result.driftReport)}`);
      for (const req of result.requests) {
        const phase = phaseAt(schedule.phases, req.offsetMs);
        const rate = phase === undefined ? 0 : Number(/([\d.]+) req\/s/.exec(phase.label)?.[1] ?? 0);
        const labels: Labels = { record: 'request', phase: phase?.label.split(':')[0] ?? 'none', offered_rps: rate, offset_ms: round4(req.offsetMs), drift: result.drift };
        let call: CallResult;
        if (req.value !== undefined) call = { ...req.value, client: { ...req.value.client, intendedSend: req.intendedAt } };
        else {
          call = {
            kind: 'invocation',
            target: fn,
            client: { intendedSend: req.intendedAt, actualSend: req.sentAt ?? Number.NaN, receive: req.receivedAt ?? Number.NaN },
            platform: null,
            outcome: { state: 'error', code: req.outcome.state === 'not-sent' ? 'NOT_SENT' : 'TIMEOUT', message: JSON.stringify(req.outcome) },
            requestBytes: Buffer.byteLength(JSON.stringify(input)),
          };
        }
        if (ctx.record(variant, call, { labels }).outcome === 'ok') okRequests++;
      }
      for (const s of samples) ctx.record(variant, s.call, { labels: sampleLabels(s.m, s.call.client.actualSend - result.t0, keepAlive) });
      await adapter.remove(d);
    });
  }
  // Samples are stored as ok lines, so the runner's "nothing succeeded" check cannot see failed requests: do it here.
  if (okRequests === 0) throw new MfError('MF_INTERNAL', 'spiky: no request of the schedule succeeded (see raw.jsonl)');
}

// ------------------------------------------------------------------ processing (pure)

export const isSample = (r: RawRecord): boolean => r.labels.record === 'sample';
const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);

/** The schedule's t0 of a variant's records (intended send minus its offset), or null without schedule requests. */
function scheduleT0(requests: readonly RawRecord[]): number | null {
  const r = requests.find((x) => typeof x.labels.offset_ms === 'number');
  return r === undefined ? null : r.call.client.intendedSend - num(r.labels.offset_ms);
}

/** The stretch of a spiky run the resource integrals cover: the schedule plus its idle tail, ms from its start. */
export function usageSpan(config: Pick<SpikyConfig, 'fromS' | 'toS' | 'timeScale' | 'tailMs'>): { fromMs: number; toMs: number } {
  return { fromMs: 0, toMs: (config.toS - config.fromS) * config.timeScale * 1000 + config.tailMs };
}

export interface Usage {
  variant: string;
  preset: string;
  /** Seconds covered by the samples (first to last). */
  spanS: number;
  /** Time with at least one sandbox alive, s: the time a node had to be up for this app. */
  nodeS: number;
  sandboxS: number;
  workerS: number;
  /** PSS of the sandboxes' processes integrated over time, GiB-s. */
  memoryGiBs: number;
  /** The part of memoryGiBs while no request was in flight: memory held idle (keep-alive, pools). */
  idleMemoryGiBs: number;
  peakPssMiB: number;
  /** Sample intervals that overlap the span. */
  samples: number;
}

const GiB = 1024 ** 3;

/**
 * Resource use of each variant over a spiky run, from its samples: each sample's value holds until the next sample
 * (left step integration), optionally only those whose offset from the schedule's start is within `span` (so that
 * presets are compared over the same stretch of time); `idle` intervals are those during which no request (from actual send to receive) was in
 * flight. Used by the spiky summary and by cost-model (b).
 */
export function usageFromRaw(raw: readonly RawRecord[], span?: { fromMs: number; toMs: number }): Usage[] {
  const out: Usage[] = [];
  for (const [variant, rows] of groupBy(raw, (r) => r.variant)) {
    const samples = rows.filter(isSample).sort((a, b) => a.call.client.actualSend - b.call.client.actualSend);
    if (samples.length < 2) continue;
    // Absolute bounds of the span (a sample's offset is from the schedule's t0); intervals are clipped to it.
    const t0 = samples[0]!.call.client.actualSend - num(samples[0]!.labels.offset_ms);
    const lo = span === undefined ? -Infinity : t0 + span.fromMs;
    const hi = span === undefined ? Infinity : t0 + span.toMs;
    const busy = rows
      .filter((r) => !isSample(r) && typeof r.call.client.actualSend === 'number' && typeof r.call.client.receive === 'number')
      .map((r) => [r.call.client.actualSend, r.call.client.receive] as const);
    const u: Usage = { variant, preset: samples[0]!.preset, spanS: 0, nodeS: 0, sandboxS: 0, workerS: 0, memoryGiBs: 0, idleMemoryGiBs: 0, peakPssMiB: 0, samples: 0 };
    for (let i = 0; i + 1 < samples.length; i++) {
      const s = samples[i]!;
      const a = Math.max(lo, s.call.client.actualSend);
      const b = Math.min(hi, samples[i + 1]!.call.client.actualSend);
      if (!(b > a)) continue;
      u.samples++;
      u.peakPssMiB = Math.max(u.peakPssMiB, num(s.labels.pss_bytes) / 1024 ** 2);
      const dt = (b - a) / 1000;
      const sandboxes = num(s.labels.sandboxes);
      u.spanS += dt;
      if (sandboxes > 0) u.nodeS += dt;
      u.sandboxS += sandboxes * dt;
      u.workerS += num(s.labels.workers) * dt;
      const gib = num(s.labels.pss_bytes) / GiB;
      u.memoryGiBs += gib * dt;
      if (!busy.some(([x, y]) => x < b && y > a)) u.idleMemoryGiBs += gib * dt;
    }
    out.push({ ...u, spanS: round4(u.spanS), nodeS: round4(u.nodeS), sandboxS: round4(u.sandboxS), workerS: round4(u.workerS), memoryGiBs: round4(u.memoryGiBs), idleMemoryGiBs: round4(u.idleMemoryGiBs), peakPssMiB: round4(u.peakPssMiB) });
  }
  return out;
}

function process_(raw: readonly RawRecord[], config: SpikyConfig): Processed {
  const metrics: MetricRecord[] = [];
  const summary: Row[] = [];
  const windows: Row[] = [];
  const samplesTable: Row[] = [];
  const phases: Row[] = [];
  const scaling: Row[] = [];
  const notes: string[] = [];
  const durationMs = (config.toS - config.fromS) * config.timeScale * 1000;
  const usage = new Map(usageFromRaw(raw, usageSpan(config)).map((u) => [u.variant, u]));
  for (const [variant, rows] of groupBy(raw, (r) => r.variant)) {
    const requests = rows.filter((r) => !isSample(r));
    const samples = rows.filter(isSample);
    const t0 = scheduleT0(requests);
    for (const r of requests) {
      const v = r.outcome === 'ok' ? e2eMs(r) : Number.NaN;
      metrics.push({ ...metricBase(r, { phase: String(r.labels.phase).startsWith('spike') ? 'spike' : String(r.labels.phase) }), metric: 'client_latency_ms', value: Number.isFinite(v) ? round4(v) : null });
    }
    for (const s of samples) {
      const base = { experiment: s.experiment, platform: `${s.platform}/${s.preset}`, outcome: 'ok', t: s.call.client.actualSend, labels: { backend: s.backend } };
      metrics.push({ ...base, metric: 'sandboxes_alive', value: num(s.labels.sandboxes) });
      metrics.push({ ...base, metric: 'workers_alive', value: num(s.labels.workers) });
      metrics.push({ ...base, metric: 'sandbox_pss_bytes', value: num(s.labels.pss_bytes) });
    }
    if (t0 === null) {
      notes.push(`${variant}: no schedule request recorded.`);
      continue;
    }
    // Cold starts and sandboxes in use from the records (warm-up included: the first cold start is there), on the
    // windows' time base.
    const timeline = scalingTimeline(requests, { windowMs: config.windowMs, t0 });
    for (const w of timeline) scaling.push({ variant, preset: rows[0]!.preset, ...w });
    const colds = (f: string): number => timeline.reduce((n, w) => n + Number(w[f]), 0);
    notes.push(`${variant}: ${colds('cold_sandbox')} cold-sandbox and ${colds('cold_worker')} cold-worker starts, from the records (docs/experiments.md#scaling-over-time).`);
    const sched = requests.filter((r) => !r.warmup);
    const tail = samples.length > 0 ? Math.max(...samples.map((s) => num(s.labels.offset_ms))) : durationMs;
    const span = Math.max(durationMs, tail + 1);
    const ws = windowSummaries(
      sched.map((r) => ({ t: r.call.client.intendedSend, value: r.outcome === 'ok' ? e2eMs(r) : null, outcome: r.outcome === 'ok' ? 'ok' : r.outcome, warmup: false })),
      { windowMs: config.windowMs, t0, t1: t0 + span },
    );
    for (const w of ws) {
      windows.push({ variant, preset: rows[0]!.preset, start_s: round4(w.offsetMs / 1000), end_s: round4((w.offsetMs + config.windowMs) / 1000), offered_per_s: round4((w.count * 1000) / config.windowMs), requests: w.count, ok: w.ok, errors: w.errors, p50_ms: w.p50 === null ? null : round4(w.p50), p99_ms: w.p99 === null ? null : round4(w.p99), max_ms: w.max === null ? null : round4(w.max) });
    }
    for (const s of samples) {
      samplesTable.push({
        variant,
        preset: s.preset,
        t_s: round4(num(s.labels.offset_ms) / 1000),
        sandboxes: num(s.labels.sandboxes),
        workers: num(s.labels.workers),
        runtimes: num(s.labels.runtimes),
        processes: num(s.labels.processes),
        pss_mib: round4(num(s.labels.pss_bytes) / 1024 ** 2),
        rss_mib: round4(num(s.labels.rss_bytes) / 1024 ** 2),
        frontend_pss_mib: s.labels.frontend_pss_bytes === null ? null : round4(num(s.labels.frontend_pss_bytes) / 1024 ** 2),
        unreadable: num(s.labels.unreadable),
        keep_alive_s: s.labels.keep_alive_s ?? null,
      });
    }
    for (const [label, group] of groupBy(sched.filter((r) => String(r.labels.phase).startsWith('spike')), (r) => String(r.labels.phase))) {
      const offs = group.map((r) => num(r.labels.offset_ms));
      phases.push({ variant, preset: rows[0]!.preset, phase: label, offered_rps: num(group[0]!.labels.offered_rps), start_s: round4(Math.min(...offs) / 1000), end_s: round4(Math.max(...offs) / 1000) });
    }
    const ok = sched.filter((r) => r.outcome === 'ok');
    const lat = describe(ok.map(e2eMs));
    const spike = describe(ok.filter((r) => String(r.labels.phase).startsWith('spike')).map(e2eMs));
    const base = describe(ok.filter((r) => String(r.labels.phase).startsWith('base')).map(e2eMs));
    const drift = sched.some((r) => r.labels.drift === true);
    const u = usage.get(variant);
    const keepAlive = samples[0]?.labels.keep_alive_s ?? null;
    summary.push({
      variant,
      preset: rows[0]!.preset,
      keep_alive_s: keepAlive,
      requests: sched.length,
      failed: sched.length - ok.length,
      warmup: requests.length - sched.length,
      drift,
      send_skew_ms_p99: sendSkewP99(sched),
      latency_ms_median: lat.median,
      latency_ms_p99: lat.p99,
      base_ms_median: base.median,
      spike_ms_median: spike.median,
      spike_ms_p99: spike.p99,
      max_sandboxes: samples.length > 0 ? Math.max(...samples.map((s) => num(s.labels.sandboxes))) : null,
      max_workers: samples.length > 0 ? Math.max(...samples.map((s) => num(s.labels.workers))) : null,
      sandboxes_at_end: samples.length > 0 ? num(samples[samples.length - 1]!.labels.sandboxes) : null,
      peak_pss_mib: u?.peakPssMiB ?? null,
      sandbox_s: u?.sandboxS ?? null,
      memory_gib_s: u?.memoryGiBs ?? null,
      idle_memory_gib_s: u?.idleMemoryGiBs ?? null,
      samples: samples.length,
    });
    notes.push(
      `${variant}: ${sched.length} scheduled requests (${sched.length - ok.length} failed), ${requests.length - sched.length} warm-up requests kept and left out; ${samples.length} platform samples (stored as raw lines labelled record=sample); keep-alive ${keepAlive === null ? "the platform's own" : `${String(keepAlive)} s`}.`,
    );
    if (drift) notes.push(`${variant}: the load generator drifted from its schedule; read the latencies with care.`);
    if (samples.some((s) => num(s.labels.unreadable) > 0)) notes.push(`${variant}: some processes' PSS could not be read (exited between listing and reading); they count as 0 in that sample.`);
  }
  const s0 = raw.find((r) => !isSample(r) && String(r.labels.phase).startsWith('spike'));
  notes.push(
    `Schedule: ${config.schedule} seconds ${config.fromS}-${config.toS}, time compressed x${config.timeScale} (${(durationMs / 1000).toFixed(1)} s), spike excess over the baseline x${config.spikeScale}` +
      (s0 ? ` (spikes at ${String(s0.labels.offered_rps)} req/s)` : '') +
      `; Poisson arrivals; windows of ${config.windowMs} ms; samples every ${config.sampleMs} ms. Memory is the PSS of the sandboxes' processes (agents, workers, pooled runtimes); the frontend shares this process with the load generator and is listed apart.`,
  );
  return { metrics, tables: { summary, windows, samples: samplesTable, phases, scaling }, notes };
}

export const spiky: Experiment<SpikyConfig> = {
  name: 'spiky',
  description: 'Open-loop spike schedule against a ~100 ms function: latency per window, sandboxes/workers and memory over time, per preset.',
  figure: {
    id: 'fig-spiky',
    title: 'Spiky load: latency, scaling and memory over time',
    caption:
      'One column per preset. Top: p50 and p99 client latency (from the intended send time) per time window, log scale, over the offered rate (grey bars, right axis); spikes shaded. ' +
      'Second: sandboxes and worker processes alive, sampled every 250 ms, and the sandboxes in use according to the records (from creation to last invocation). ' +
      'Third: cold starts begun per window, from the records (a new sandbox, or a new worker in one). Bottom: PSS of the sandboxes\u2019 processes (agents, workers, pooled runtimes). The platform runs with a short keep-alive so that reclaiming shows.',
  },
  workloads: ['spiky'],
  sizes: {
    quick: { schedule: 'nfv-spike', fromS: 100, toS: 440, timeScale: 0.05, spikeScale: 0.05, keepAliveSeconds: 2, warmup: 3, tailMs: 4000, sampleMs: 250, windowMs: 1000, inputSize: 'medium', maxInFlight: 500, graceMs: 8000 },
    full: { schedule: 'nfv-spike', fromS: 0, toS: 600, timeScale: 0.5, spikeScale: 0.1, keepAliveSeconds: 20, warmup: 10, tailMs: 30_000, sampleMs: 250, windowMs: 2000, inputSize: 'medium', maxInFlight: 2000, graceMs: 30_000 },
  },
  durations: { quick: '~25 s per preset', full: '~6 min per preset' },
  run: measure,
  process: (raw, config) => process_(raw, config),
  // None: arrivals are Poisson and the temperatures are what the figure studies, so no series is warm, or of a fixed
  // size, by construction. Every series is descriptive.
  headline: () => [],
  chart: (processed) => spikySpec(processed.tables, spiky.figure),
};
