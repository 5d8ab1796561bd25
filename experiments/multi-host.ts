/**
 * multi-host: MicroFunctions as frontends and host agents on a NATS JetStream broker, with 1, 2 and 3 hosts on this
 * machine (issue 12 item 6; docs/experiments.md#multi-host). Produces Figure `fig-multi-host`.
 *
 * Each host count is a round of its own: a fresh `nats-server`, that many `mfbench host start` processes (each in its
 * own network namespace with a veth pair to a bridge made for the run, or on loopback where namespaces cannot be
 * made: the records' `network` label says which) and one `mfbench platform start --hosts remote` frontend. Per round:
 * - hops: a 2-Task chain (noop-chain), warm, one closed loop per host. The platform keeps every function of an
 *   execution on one host (docs/distributed.md, "The placement rule"), so the hop that crosses hosts is the placement:
 *   the frontend publishes the work to the host's topic on the broker, the host runs it and publishes the answer
 *   (the path an execution spills over when a host is full). From the stored records (`hopsOf`), each hop as half a
 *   round trip: the local one between the host's sandbox agent and a worker, the cross-host one between the frontend
 *   and the host's sandbox.
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

/** The hop series, as `hop` labels. */
export const HOPS = ['local', 'cross-host'] as const;
type Hop = (typeof HOPS)[number];
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
    for (const variant of variants) for (const hosts of config.hostCounts) await round(ctx, config, network, variant, hosts);
  } finally {
    await network.close();
  }
}

/** One host count: its own broker, hosts and frontend, all stopped by pid at the end. */
async function round(ctx: RunContext, config: MultiHostConfig, network: HostNetwork, variant: Variant, hosts: number): Promise<void> {
  const r = await Round.start(network, { preset: variant.preset, backend: variant.backend, capacity: config.capacity });
  try {
    const agents: HostProcess[] = [];
    for (let i = 0; i < hosts; i++) agents.push(await r.startHost(i, `h${i}`));
    const frontend = await r.startFrontend();
    const remote: Variant = { ...variant, url: frontend.url, token: frontend.token };
    await ctx.withAdapter(remote, async (adapter) => {
      const chain = await adapter.deploy(noopChain, { length: 2 }, { name: CHAIN_APP });
      const sleeper = await adapter.deploy(sleep, {}, { name: SLEEP_APP });
      const labels = { hosts, network: network.mode, ...(network.fallbackReason !== null ? { fallback: network.fallbackReason } : {}) };
      const record = (phase: Phase, call: CallResult, warmup: boolean, extra: Record<string, string | number | boolean> = {}): void => {
        const warm = call.platform?.records.every((x) => x.temperature === 'warm') ?? false;
        ctx.record(variant, call, { warmup, expectedTemperature: phase === 'hops' ? 'warm' : null, temperatureCheck: phase === 'hops' ? (warm ? 'ok' : 'mismatch') : 'unchecked', labels: { ...labels, phase, host: call.platform?.records[0]?.host ?? '', ...extra } });
        ctx.progress.tick();
      };
      await hopsPhase(ctx, config, adapter, chain, hosts, record);
      await throughputPhase(ctx, config, adapter, sleeper, hosts, record);
      await recoveryPhase(ctx, config, r, adapter, sleeper, agents, record);
      ctx.progress.end();
    });
  } finally {
    await r.close();
  }
}

type Recorder = (phase: Phase, call: CallResult, warmup: boolean, extra?: Record<string, string | number | boolean>) => void;

/** One closed loop per host, so that each host serves a share; warm-ups first in each loop. */
async function hopsPhase(ctx: RunContext, config: MultiHostConfig, adapter: PlatformAdapter, chain: Deployment, hosts: number, record: Recorder): Promise<void> {
  ctx.progress.begin(`multi-host ${hosts} host(s): hops`, hosts * config.warmup + config.hops);
  await Promise.all(
    Array.from({ length: hosts }, async (_, loop) => {
      for (let i = 0; i < config.warmup; i++) record('hops', await adapter.execute(chain, { n: loop * 1000 + i }), true);
      for (let i = loop; i < config.hops; i += hosts) record('hops', await adapter.execute(chain, { n: i }), false);
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
const hostsOf = (r: RawRecord): number => Number(r.labels.hosts);

/**
 * The two hops of one 2-Task execution, each as half a round trip whose two ends are read on one clock (null when a
 * timestamp is missing). One-way times between processes mix their clocks, which were seen to differ by a few
 * milliseconds on a busy machine (negative one-way hops, docs/records.md):
 * - local: the host's sandbox agent to the first Task's worker and back over the local bus (agent's `queued` to
 *   `published`), less the handler's own time (the worker's clock);
 * - cross-host: the frontend to the host and back through the broker (the frontend's `dispatched` to `completed`),
 *   less the time the host's sandbox agent had the execution (first Task `queued` to last `published`).
 */
export function hopsOf(r: RawRecord): Record<Hop, number | null> {
  const p = r.call.platform;
  const [a, b] = p?.records ?? [];
  if (!p?.t || p.t.completed === null || !a || !b) return { local: null, 'cross-host': null };
  return {
    local: round4((a.t.published - a.t.queued - (a.t.handlerEnd - a.t.handlerStart)) / 2),
    'cross-host': round4((p.t.completed - p.t.dispatched - (b.t.published - a.t.queued)) / 2),
  };
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
      for (const hop of HOPS) metrics.push({ ...base(r, { hop }), metric: 'hop_ms', value: ok ? hops[hop] : null });
    } else if (phaseOf(r) === 'recovery') {
      if (r.labels.recovered === true) metrics.push({ ...base(r), metric: 'recovery_ms', value: ok ? recoveryMs(r) : null });
    } else {
      metrics.push({ ...base(r), metric: 'client_latency_ms', value: ok ? round4(e2eMs(r)) : null });
    }
  }
  const hops: Row[] = [];
  const throughput: Row[] = [];
  const recovery: Row[] = [];
  for (const [variant, rows] of groupBy(raw, (r) => `${r.variant}|${String(r.labels.network)}`)) {
    const [name, network] = variant.split('|') as [string, string];
    for (const [hosts, inRound] of groupBy(rows, (r) => String(hostsOf(r)))) {
      const kept = inRound.filter((r) => phaseOf(r) === 'hops' && exclusion(r) === null);
      for (const hop of HOPS) {
        const d = describe(kept.map((r) => hopsOf(r)[hop]).filter((x): x is number => x !== null));
        hops.push({ variant: name, network, hosts: Number(hosts), hop, ...prefixed('ms', d) });
      }
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
  for (const t of recovery) notes.push(`${String(t.hosts)} host(s): ${String(t.recovered)} of ${String(t.executions)} executions were placed again after the kill, ${String(t.failed)} failed.`);
  return { metrics, tables: { summary, hops, throughput, recovery }, notes };
}

export const multiHost: Experiment<MultiHostConfig> = {
  name: 'multi-host',
  description: 'Frontend and 1-3 host agents on a JetStream broker, each host in its own network namespace where root allows: local vs cross-host hop, throughput, recovery after a host is killed.',
  figure: {
    id: 'fig-multi-host',
    title: 'Several hosts: hops, throughput and recovery',
    caption:
      'Left: warm one-way hop latency by host count (median, 95% interval of the median, p90): a local hop between two Tasks on one host, and the cross-host hop from the frontend through the broker to the host agent (and back). ' +
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
  headline: (c) => c.hostCounts.flatMap((hosts) => (['local', 'cross-host'] as const).map((hop) => ({ metric: 'hop_ms', temperature: 'warm', labels: { hop, hosts }, samples: c.hops }))),
  process: (raw, config) => process_(raw, config),
  chart: (processed) => multiHostSpec(processed.tables, multiHost.figure),
};
