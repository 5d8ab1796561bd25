/**
 * multi-host: MicroFunctions as frontends and host agents on a NATS JetStream broker, with 1, 2 and 3 hosts on this
 * machine (issue 12 item 6; docs/experiments.md#multi-host). Produces Figure `fig-multi-host`.
 *
 * Each round is a fresh `nats-server`, a number of `mfbench host start` processes (each in its own network namespace
 * with a veth pair to a bridge made for the run, or on loopback where namespaces cannot be made: the records'
 * `network` label says which) and one `mfbench platform start --hosts remote` frontend, all of one preset. Per host
 * count, a round of each variant's preset measures throughput and recovery, and the hops are measured once each on
 * the grouped and the per-function preset (in the variant's round when it is one of them, else in a round of their
 * own):
 * - hops: a 2-Task chain (noop-chain), warm, one closed loop per host, the hop between its two Tasks as the records
 *   say it was (report/hops.ts: first handler's end to second handler's start; `hopsOf`), in three series:
 *   `local` (grouped: both Tasks in one sandbox, over its local bus), `broker` (per-function, `busMode: global`: the
 *   Tasks in two sandboxes of one host, the hop published to JetStream and consumed by that host's agent) and
 *   `cross-host` (per-function, the two Tasks on two hosts: with 2 or more hosts, host h<i> is started with
 *   `--hop-peer h<i+1>`, so the second Task of each execution it runs is dispatched by the next host; the last host
 *   has no peer, so its executions give broker hops; each record names its host, which decides the series). The
 *   per-function loops run until both series have `hops` samples (bounded). A fourth series, `frontend-host`, is the
 *   placement's path in the grouped round: the frontend publishes the work to the host's topic on the broker and the
 *   host publishes the answer, as half that round trip less the time the host's sandbox had the execution.
 * - throughput: bursts of `burst` sleep executions sent at once (open loop: one intended send time for the whole
 *   burst), `capacity` per host at a time; ok answers / (last answer − send). The sleep keeps it capacity-bound, not
 *   CPU-bound, so the hosts' slots are what is measured on a 2-core machine.
 * - recovery: hosts × capacity sleep executions of `recoveryMs`, then the first host is SIGKILLed by pid. An execution
 *   placed on it is placed again on a live host once its registry entry expires; its recovery time is its answer − the
 *   kill. With one host a replacement agent is started right after the kill (nothing else could take the work).
 */
import { now } from '../platform/clock.js';
import { MfError } from '../platform/errors.js';
import { multiHostSpec } from '../report/charts/specs/multi-host.js';
import { meanHopMs } from '../report/hops.js';
import type { MetricRecord, Processed, Row } from '../report/types.js';
import type { RawRecord } from '../report/run-dir.js';
import type { CallResult, Deployment, PlatformAdapter } from '../harness/types.js';
import { noopChain } from '../workloads/noop-chain/workload.js';
import { sleep } from '../workloads/sleep/workload.js';
import { natsServerVersion, Round, type HostProcess } from './multi-host/cluster.js';
import { hostNetwork, type HostNetwork } from './multi-host/netns.js';
import { describe, e2eMs, exclusion, exclusionNote, groupBy, metricBase, prefixed, round4 } from './runner/describe.js';
import type { Experiment, RunContext, Variant } from './runner/types.js';

export interface MultiHostConfig {
  /** Host counts, one round each. */
  hostCounts: number[];
  /** Executions each host runs at once. */
  capacity: number;
  /** Hops: warm-up executions per loop (one loop per host), then `hops` measured executions in all. */
  warmup: number;
  hops: number;
  /** Throughput: executions per burst, measured bursts (plus one warm-up burst), and each execution's sleep. */
  burst: number;
  bursts: number;
  sleepMs: number;
  /** Recovery: each execution's sleep; the kill comes halfway through it. */
  recoveryMs: number;
  /** `auto`: network namespaces where root allows, else loopback. */
  network: 'auto' | 'netns' | 'loopback';
}

/** The hop series, as `hop` labels (module comment). */
export const HOPS = ['local', 'broker', 'cross-host', 'frontend-host'] as const;
type Hop = (typeof HOPS)[number];
/** The preset each Task-to-Task series is measured on. */
const HOP_PRESETS = ['grouped', 'per-function'] as const;
/** Per-function hop loops stop after this many times `hops` executions even if a series is short. */
const HOP_LOOP_BOUND = 4;
const CHAIN_APP = 'multihost-chain';
const SLEEP_APP = 'multihost-sleep';

type Phase = 'hops' | 'throughput' | 'recovery';

async function measure(ctx: RunContext, config: MultiHostConfig): Promise<void> {
  const variants = ctx.variants.filter((v) => v.platform === 'microfunctions' && v.url === undefined);
  for (const v of ctx.variants) if (!variants.includes(v)) ctx.progress.note(`multi-host: ${v.platform}${v.url ? ` at ${v.url}` : ''} skipped (the experiment starts its own MicroFunctions hosts and frontends)`);
  if (variants.length === 0) throw new MfError('MF_CONFIG_INVALID', 'the multi-host experiment starts its own MicroFunctions processes: add --platform microfunctions (without --url)', { option: 'platform' });
  if (natsServerVersion() === null) throw new MfError('MF_CONFIG_INVALID', 'the multi-host experiment needs nats-server on the PATH (apt-get install nats-server)', { option: 'broker' });
  const network = await hostNetwork(config.network, Math.max(...config.hostCounts));
  try {
    if (network.fallbackReason !== null) ctx.progress.note(`multi-host: hosts on loopback (${network.fallbackReason})`);
    for (const hosts of config.hostCounts) {
      // The hop series of each backend are measured once per host count, whichever variant's round gets them.
      const hopsDone = new Set<string>();
      for (const variant of variants) {
        const measureHops = isHopPreset(variant.preset) && !hopsDone.has(`${variant.backend}|${variant.preset}`);
        if (measureHops) hopsDone.add(`${variant.backend}|${variant.preset}`);
        await round(ctx, config, network, variant, hosts, { hops: measureHops, rest: true });
      }
      for (const variant of variants) {
        for (const preset of HOP_PRESETS) {
          if (hopsDone.has(`${variant.backend}|${preset}`)) continue;
          hopsDone.add(`${variant.backend}|${preset}`);
          await round(ctx, config, network, { ...variant, preset }, hosts, { hops: true, rest: false });
        }
      }
    }
  } finally {
    await network.close();
  }
}

const isHopPreset = (preset: string): boolean => (HOP_PRESETS as readonly string[]).includes(preset);

/**
 * One host count and preset: its own broker, hosts and frontend, all stopped by pid at the end. `hops`: measure the
 * hop series of the preset; `rest`: throughput and recovery. Per-function hop rounds chain the hosts by hop peer.
 */
async function round(ctx: RunContext, config: MultiHostConfig, network: HostNetwork, variant: Variant, hosts: number, what: { hops: boolean; rest: boolean }): Promise<void> {
  const r = await Round.start(network, { preset: variant.preset, backend: variant.backend, capacity: config.capacity });
  // Hop peers change where Tasks run, so only a round that measures nothing else has them.
  const peers = variant.preset === 'per-function' && what.hops && !what.rest && hosts > 1;
  try {
    const agents: HostProcess[] = [];
    for (let i = 0; i < hosts; i++) agents.push(await r.startHost(i, `h${i}`, peers && i < hosts - 1 ? `h${i + 1}` : undefined));
    const frontend = await r.startFrontend();
    const remote: Variant = { ...variant, url: frontend.url, token: frontend.token };
    await ctx.withAdapter(remote, async (adapter) => {
      const labels = { hosts, network: network.mode, ...(network.fallbackReason !== null ? { fallback: network.fallbackReason } : {}), ...(peers ? { hop_peers: true } : {}) };
      const record = (phase: Phase, call: CallResult, warmup: boolean, extra: Record<string, string | number | boolean> = {}): void => {
        const warm = call.platform?.records.every((x) => x.temperature === 'warm') ?? false;
        ctx.record(variant, call, { warmup, expectedTemperature: phase === 'hops' ? 'warm' : null, temperatureCheck: phase === 'hops' ? (warm ? 'ok' : 'mismatch') : 'unchecked', labels: { ...labels, phase, host: call.platform?.records[0]?.host ?? '', ...extra } });
        ctx.progress.tick();
      };
      if (what.hops) await hopsPhase(ctx, config, adapter, await adapter.deploy(noopChain, { length: 2 }, { name: CHAIN_APP }), hosts, variant.preset, record);
      if (what.rest) {
        const sleeper = await adapter.deploy(sleep, {}, { name: SLEEP_APP });
        await throughputPhase(ctx, config, adapter, sleeper, hosts, record);
        await recoveryPhase(ctx, config, r, adapter, sleeper, agents, record);
      }
      ctx.progress.end();
    });
  } finally {
    await r.close();
  }
}

type Recorder = (phase: Phase, call: CallResult, warmup: boolean, extra?: Record<string, string | number | boolean>) => void;

/**
 * One closed loop per host, so that each host serves a share; every loop's warm-ups first. Grouped: `hops` executions
 * in all. Per-function: until the broker series and (with hop peers) the cross-host one each have `hops` samples that
 * the statistics keep (`counts`: the same test as process_), at most HOP_LOOP_BOUND × hops executions.
 */
async function hopsPhase(ctx: RunContext, config: MultiHostConfig, adapter: PlatformAdapter, chain: Deployment, hosts: number, preset: string, record: Recorder): Promise<void> {
  const perFunction = preset === 'per-function';
  const wanted: Hop[] = perFunction ? (hosts > 1 ? ['broker', 'cross-host'] : ['broker']) : ['local'];
  const got = new Map<Hop, number>(wanted.map((h) => [h, 0]));
  const enough = (): boolean => [...got.values()].every((n) => n >= config.hops);
  // Grouped sends exactly `hops` (its executions stay warm on one host); per-function runs until both series have theirs.
  const limit = perFunction ? HOP_LOOP_BOUND * config.hops : config.hops;
  let sent = 0;
  ctx.progress.begin(`multi-host ${hosts} host(s), ${preset}: hops`, hosts * config.warmup + config.hops * wanted.length);
  const loops = Array.from({ length: hosts }, (_, loop) => loop);
  await Promise.all(loops.map(async (loop) => {
    for (let i = 0; i < config.warmup; i++) record('hops', await adapter.execute(chain, { n: loop * 1000 + i }), true);
  }));
  // The measured loops start together, after every loop's warm-ups: a loop still warming up (a cold sandbox on its
  // host) would otherwise leave the others to send every execution, one at a time, all placed on the first host.
  await Promise.all(
    loops.map(async () => {
      while (sent < limit && !(perFunction && enough())) {
        const n = sent++;
        const call = await adapter.execute(chain, { n });
        record('hops', call, false);
        const series = counts(call) ? taskHopOf(preset, call.platform?.records ?? []) : null;
        if (series !== null) got.set(series, (got.get(series) ?? 0) + 1);
      }
    }),
  );
}

/** Bursts sent at once, each from one intended send time; the first is a warm-up. */
async function throughputPhase(ctx: RunContext, config: MultiHostConfig, adapter: PlatformAdapter, sleeper: Deployment, hosts: number, record: Recorder): Promise<void> {
  ctx.progress.begin(`multi-host ${hosts} host(s): throughput`, (config.bursts + 1) * config.burst);
  for (let b = 0; b <= config.bursts; b++) {
    const intendedSend = now();
    const calls = await Promise.all(Array.from({ length: config.burst }, (_, i) => adapter.execute(sleeper, { ms: config.sleepMs, n: i }, { intendedSend })));
    for (const call of calls) record('throughput', call, b === 0, { burst: b });
  }
}

/** Fills every host, SIGKILLs the first halfway through, and records which executions were placed again. */
async function recoveryPhase(ctx: RunContext, config: MultiHostConfig, r: Round, adapter: PlatformAdapter, sleeper: Deployment, agents: HostProcess[], record: Recorder): Promise<void> {
  const n = agents.length * config.capacity;
  ctx.progress.begin(`multi-host ${agents.length} host(s): recovery`, n);
  const intendedSend = now();
  const pending = Promise.all(Array.from({ length: n }, (_, i) => adapter.execute(sleeper, { ms: config.recoveryMs, n: i }, { intendedSend })));
  await new Promise((resolve) => setTimeout(resolve, config.recoveryMs / 2));
  const victim = agents[0]!;
  const killedAt = now();
  await r.kill(victim.child, 'SIGKILL');
  // One host: nothing else could take its work, so a replacement joins (under a new id: the old one is held until it expires).
  if (agents.length === 1) await r.startHost(0, `${victim.hostId}r`);
  const calls = await pending;
  const { MicroFunctionsAdapter } = await import('../harness/microfunctions/index.js');
  const client = adapter instanceof MicroFunctionsAdapter ? adapter.client : null;
  for (const call of calls) {
    const id = call.platform?.executionId;
    const history = client && id ? await client.getHistory(id).catch(() => []) : [];
    const recovered = history.some((e) => e.type === 'ExecutionRecovering');
    record('recovery', call, false, { killed_at: round4(killedAt), killed: victim.hostId, recovered });
  }
}

const phaseOf = (r: RawRecord): Phase => r.labels.phase as Phase;

/** Which Task-to-Task series an execution's records are: grouped, local; per-function, broker on one host, else cross-host. */
/**
 * Whether a hops-phase call gives a sample the statistics keep: ok, every record warm (else `exclusion` drops it as
 * wrong-temperature) and a hop that `meanHopMs` can read (not a step that ran twice). Counting anything less made a
 * series end one short of `hops` when one such execution slipped in.
 */
function counts(call: CallResult): boolean {
  const records = call.platform?.records ?? [];
  return call.outcome.state === 'ok' && records.every((x) => x.temperature === 'warm') && meanHopMs(records) !== null;
}

function taskHopOf(preset: string, records: readonly { host: string }[]): Exclude<Hop, 'frontend-host'> | null {
  const [a, b] = records;
  if (!a || !b) return null;
  if (preset === 'grouped') return 'local';
  if (preset === 'per-function') return a.host === b.host ? 'broker' : 'cross-host';
  return null;
}
const hostsOf = (r: RawRecord): number => Number(r.labels.hosts);

/**
 * The hops of one 2-Task execution (null where a series does not apply or a timestamp is missing):
 * - the Task-to-Task hop (`local`, `broker` or `cross-host`, as `taskHopOf` says): the one hop definition of every
 *   figure (report/hops.ts), the first handler's end to the second handler's start. Its two ends are two workers'
 *   clocks on this one machine (docs/records.md bounds their offset); null for a step that ran twice or failed;
 * - `frontend-host` (grouped rounds only): the frontend to the host and back through the broker (the frontend's
 *   `dispatched` to `completed`), less the time the host's sandbox agent had the execution (first Task `queued` to
 *   last `published`), halved: a round trip read on one clock, since the frontend and host are two processes.
 */
export function hopsOf(r: RawRecord): Record<Hop, number | null> {
  const out: Record<Hop, number | null> = { local: null, broker: null, 'cross-host': null, 'frontend-host': null };
  const p = r.call.platform;
  const records = p?.records ?? [];
  const series = taskHopOf(r.preset, records);
  const hop = meanHopMs(records);
  if (series !== null && hop !== null) out[series] = round4(hop);
  const [a, b] = records;
  if (r.preset === 'grouped' && p?.t && p.t.completed !== null && a && b) out['frontend-host'] = round4((p.t.completed - p.t.dispatched - (b.t.published - a.t.queued)) / 2);
  return out;
}

/** A burst's throughput: ok answers per second from its send to its last answer. */
function burstRate(rows: readonly RawRecord[]): number | null {
  const ok = rows.filter((r) => r.outcome === 'ok');
  if (ok.length === 0) return null;
  const span = Math.max(...ok.map((r) => r.call.client.receive)) - rows[0]!.call.client.intendedSend;
  return span > 0 ? round4(ok.length / (span / 1000)) : null;
}

const recoveryMs = (r: RawRecord): number => round4(r.call.client.receive - Number(r.labels.killed_at));

function process_(raw: readonly RawRecord[], config: MultiHostConfig): Processed {
  const metrics: MetricRecord[] = [];
  const base = (r: RawRecord, extra: Record<string, string | number | boolean> = {}) => metricBase(r, { hosts: hostsOf(r), network: String(r.labels.network), ...extra });
  for (const r of raw) {
    const ok = r.outcome === 'ok';
    if (phaseOf(r) === 'hops') {
      const hops = hopsOf(r);
      // A failed execution counts against the series its preset measures first (which one it was is unknown).
      if (!ok) metrics.push({ ...base(r, { hop: r.preset === 'grouped' ? 'local' : 'broker' }), metric: 'hop_ms', value: null });
      else for (const hop of HOPS) if (hops[hop] !== null) metrics.push({ ...base(r, { hop }), metric: 'hop_ms', value: hops[hop] });
    } else if (phaseOf(r) === 'recovery') {
      if (r.labels.recovered === true) metrics.push({ ...base(r), metric: 'recovery_ms', value: ok ? recoveryMs(r) : null });
    } else {
      metrics.push({ ...base(r), metric: 'client_latency_ms', value: ok ? round4(e2eMs(r)) : null });
    }
  }
  const hops: Row[] = [];
  const throughput: Row[] = [];
  const recovery: Row[] = [];
  // Each hop series comes from the round of its preset, whichever variant's round that was.
  for (const [key, rows] of groupBy(raw.filter((r) => phaseOf(r) === 'hops'), (r) => `${r.backend}|${String(r.labels.network)}|${String(hostsOf(r))}`)) {
    const [backend, network, hosts] = key.split('|') as [string, string, string];
    const kept = rows.filter((r) => exclusion(r) === null);
    for (const hop of HOPS) {
      const from = kept.filter((r) => hopsOf(r)[hop] !== null);
      if (from.length === 0) continue;
      const d = describe(from.map((r) => hopsOf(r)[hop]!));
      hops.push({ variant: [...new Set(from.map((r) => r.variant))].join(' + '), backend, network, hosts: Number(hosts), hop, ...prefixed('ms', d) });
    }
  }
  for (const [variant, rows] of groupBy(raw.filter((r) => phaseOf(r) !== 'hops'), (r) => `${r.variant}|${String(r.labels.network)}`)) {
    const [name, network] = variant.split('|') as [string, string];
    for (const [hosts, inRound] of groupBy(rows, (r) => String(hostsOf(r)))) {
      const bursts = [...groupBy(inRound.filter((r) => phaseOf(r) === 'throughput' && !r.warmup), (r) => String(r.labels.burst)).values()];
      const rates = bursts.map(burstRate).filter((x): x is number => x !== null);
      const d = describe(rates);
      // What the hosts' slots allow at most: hosts × capacity executions per sleep.
      const bound = round4((Number(hosts) * config.capacity * 1000) / config.sleepMs);
      throughput.push({ variant: name, network, hosts: Number(hosts), bursts: bursts.length, ...prefixed('per_s', d), slot_bound_per_s: bound, failed: bursts.flat().filter((r) => r.outcome !== 'ok').length });
      for (const b of bursts) {
        const rate = burstRate(b);
        if (rate !== null) metrics.push({ ...base(b[0]!), metric: 'throughput_per_s', value: rate });
      }
      const rec = inRound.filter((r) => phaseOf(r) === 'recovery');
      const recovered = rec.filter((r) => r.labels.recovered === true);
      const times = describe(recovered.filter((r) => r.outcome === 'ok').map(recoveryMs));
      recovery.push({ variant: name, network, hosts: Number(hosts), executions: rec.length, recovered: recovered.length, failed: rec.filter((r) => r.outcome !== 'ok').length, ...prefixed('ms', times) });
    }
  }
  const summary: Row[] = [
    ...hops.map((h) => ({ variant: h.variant!, network: h.network!, hosts: h.hosts!, measure: `${String(h.hop)} hop (ms)`, n: h.ms_n!, median: h.ms_median!, p90: h.ms_p90! })),
    ...throughput.map((t) => ({ variant: t.variant!, network: t.network!, hosts: t.hosts!, measure: 'throughput (executions/s)', n: t.bursts!, median: t.per_s_median!, p90: null })),
    ...recovery.map((t) => ({ variant: t.variant!, network: t.network!, hosts: t.hosts!, measure: 'recovery after a host kill (ms)', n: t.recovered!, median: t.ms_median!, p90: t.ms_p90! })),
  ];
  const notes = [exclusionNote('multi-host', raw)];
  for (const [network, rows] of groupBy(raw, (r) => String(r.labels.network))) {
    const fallback = rows.find((r) => typeof r.labels.fallback === 'string')?.labels.fallback;
    notes.push(network === 'netns'
      ? 'Each host agent ran in a network namespace of its own, with a veth pair to a bridge made for the run; the broker listened on the bridge.'
      : `The host agents ran on loopback${fallback !== undefined ? ` (no network namespaces: ${String(fallback)})` : ''}.`);
  }
  if (raw.some((r) => r.labels.hop_peers === true)) {
    notes.push('Per-function hop rounds with 2 or more hosts started host h<i> with --hop-peer h<i+1> (the last host with none): the second Task of each execution on h<i> ran on h<i+1> (cross-host), those on the last host ran both Tasks there (broker). Each record names its host.');
  }
  for (const t of recovery) notes.push(`${String(t.hosts)} host(s): ${String(t.recovered)} of ${String(t.executions)} executions were placed again after the kill, ${String(t.failed)} failed.`);
  return { metrics, tables: { summary, hops, throughput, recovery }, notes };
}

export const multiHost: Experiment<MultiHostConfig> = {
  name: 'multi-host',
  description:
    'Frontend and 1-3 host agents on a JetStream broker, each host in its own network namespace where root allows: the hop between two Tasks in one sandbox (local, grouped), in two sandboxes of one host through JetStream (broker, per-function) and on two hosts (cross-host, per-function with --hop-peer), the frontend-to-host placement hop, throughput, and recovery after a host is killed.',
  figure: {
    id: 'fig-multi-host',
    title: 'Several hosts: hops, throughput and recovery',
    caption:
      'Left: warm hop latency between two Tasks by host count (median, 95% interval of the median, p90; first handler end to second handler start): local, in one sandbox (grouped); broker, two sandboxes of one host through JetStream (per-function); cross-host, two hosts through JetStream (per-function, hop peers); and frontend-host, the placement\'s path from the frontend through the broker to the host agent, half its round trip. ' +
      'Middle: executions per second of sleep bursts as hosts are added. Right: time from SIGKILL of a host agent to the answer of each execution placed on it.',
  },
  workloads: ['noop-chain', 'sleep'],
  sizes: {
    quick: { hostCounts: [1, 2, 3], capacity: 4, warmup: 3, hops: 30, burst: 24, bursts: 2, sleepMs: 100, recoveryMs: 2000, network: 'auto' },
    full: { hostCounts: [1, 2, 3], capacity: 8, warmup: 10, hops: 300, burst: 96, bursts: 5, sleepMs: 100, recoveryMs: 3000, network: 'auto' },
  },
  durations: { quick: '~2 min', full: '~5 min (estimated)' },
  run: measure,
  // The hops of each host count: enough samples by construction. Throughput (a few bursts) and recovery (a few
  // executions per kill) are descriptive.
  headline: (c) =>
    c.hostCounts.flatMap((hosts) => (['local', 'broker', 'cross-host'] as const).filter((hop) => hop !== 'cross-host' || hosts > 1).map((hop) => ({ metric: 'hop_ms', temperature: 'warm', labels: { hop, hosts }, samples: c.hops }))),
  process: (raw, config) => process_(raw, config),
  chart: (processed) => multiHostSpec(processed.tables, multiHost.figure),
};
