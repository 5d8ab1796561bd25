/**
 * `npm run bench`: the core latency figures of the platform, measured side by side in one run on the process
 * backend. It measures warm end-to-end latency of a 1-Task workflow over HTTP, per-hop overhead
 * ((chain of 10 - chain of 1) / 9) with and without execution history, cold-worker start with the pool on and off, and the physical floors (a Unix
 * socket and a Node IPC round trip between two processes).
 *
 * Measuring (this file's `measure*`) only collects samples; `summarize` computes; `summaryTable` formats. The raw
 * samples and the run manifest are written to results/runs/<run-id>/ before anything is printed. The human table
 * goes to stderr, and one JSON object is the last line on stdout.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, quantileSorted } from 'simple-statistics';
import { startPlatform, type PlatformHandle } from '../../platform/frontend/index.js';
import type { InvocationRecord } from '../../platform/records.js';
import { formatTable } from '../../report/table.js';
import { runManifest } from '../manifest.js';
import { chainDefinition, freshDataDir, recordAndReport, removeDataDirs, REPO, runIfMain, sleep, timedPost } from './common.js';
import { KeepAliveClient } from './http-client.js';
import { ipcRtt, unixSocketRtt } from './rtt.js';
import type { LoaderAnswer, LoaderJob } from './loader.js';
import { procStat } from './proc-stat.js';

const NOOP_DIR = join(REPO, 'experiments', 'bench', 'functions', 'noop');
const LOADER = fileURLToPath(new URL('./loader.js', import.meta.url));

interface Sizes {
  warmup: number;
  warm: number;
  cold: number;
  rtt: number;
  /** Executions of the 5-step pass-through chain per payload size, for the agent's CPU time. */
  cpu: { small: number; large: number };
  /** Offered rates of the throughput sweep (executions per second) and the length of each step. */
  rates: number[];
  stepS: number;
}
const SIZES: Record<'full' | 'quick', Sizes> = {
  full: { warmup: 200, warm: 1000, cold: 30, rtt: 5000, cpu: { small: 1000, large: 100 }, rates: [100, 250, 500, 1000, 1500, 2000, 2500, 3000, 4000], stepS: 4 },
  quick: { warmup: 50, warm: 200, cold: 10, rtt: 1000, cpu: { small: 300, large: 30 }, rates: [100, 250, 500, 1000, 1500, 2000, 3000], stepS: 2 },
};
/** Concurrent connections of the load generator: enough that the offered rate, not the connections, sets the pace. */
const LOAD_CONNECTIONS = 100;
/** Payloads of the CPU measurement: 1 KiB and 512 KiB of JSON text. */
const PAYLOAD_BYTES = { small: 1024, large: 512 * 1024 };

/** Raw samples in milliseconds, plus the records that prove each cold sample's temperature. */
interface Samples {
  chain1: number[];
  chain10: number[];
  /** The same two chains on a platform that keeps no execution history (keepHistory: false). */
  chain1NoHistory: number[];
  chain10NoHistory: number[];
  coldPool: number[];
  coldNoPool: number[];
  coldPoolRecords: InvocationRecord[];
  coldNoPoolRecords: InvocationRecord[];
  unixSocketRtt: number[];
  ipcRtt: number[];
  /** IPC round trips to 10 processes in turn: the floor for a hop between distinct worker processes. */
  ipcRtt10: number[];
  /** The sandbox agent's CPU time over `executions` runs of a 5-step pass-through chain, per payload size. */
  agentCpu: { small: CpuBatch; large: CpuBatch };
  /**
   * What checkpoints cost: the 512 KiB chain on a platform with checkpoints (recoveryAttempts > 0, the default) and
   * one without (recoveryAttempts 0), in alternating batches; the `large` batches of agentCpu are the former's.
   */
  checkpointCost: { on: CpuBatch; off: CpuBatch };
  /** One step per offered rate of a 1-Task noop workflow, open-loop load from a process of its own (bench/loader.ts). */
  throughput: Array<{ ratePerSec: number; durationS: number } & LoaderAnswer>;
}

/** A batch of executions of the 5-step chain: the agent's CPU time, the bench process's (frontend and HTTP client), and each execution's latency. */
interface CpuBatch {
  cpuMs: number;
  /** CPU time of this process (the in-process frontend and the HTTP client) over the same executions. */
  benchProcessCpuMs: number;
  executions: number;
  latencyMs: number[];
}

function noopFunctions(names: string[]) {
  return names.map((name) => ({ name, handler: 'index.handler', code: { dir: NOOP_DIR } }));
}

async function deploy(p: PlatformHandle, manifest: unknown): Promise<void> {
  await p.platform.deploy(manifest);
}

/**
 * Warm samples of a 1-Task and a 10-Task chain, on a platform with history (the default) and one without,
 * all four interleaved so that they see the same machine conditions.
 */
async function measureWarm(
  withHistory: PlatformHandle,
  noHistory: PlatformHandle,
  sizes: Sizes,
  progress: (s: string) => void,
): Promise<Pick<Samples, 'chain1' | 'chain10' | 'chain1NoHistory' | 'chain10NoHistory'>> {
  const fns = Array.from({ length: 10 }, (_, i) => `f${i + 1}`);
  const manifest = { name: 'bench-warm', functions: noopFunctions(fns), workflows: { chain1: chainDefinition(fns.slice(0, 1)), chain10: chainDefinition(fns) } };
  await deploy(withHistory, manifest);
  await deploy(noHistory, manifest);
  const clients = [new KeepAliveClient(withHistory.url, withHistory.token), new KeepAliveClient(noHistory.url, noHistory.token)] as const;
  const sample = async (client: KeepAliveClient, chain: string, n: number) =>
    (await timedPost(client, `/apps/bench-warm/workflows/${chain}/executions?records=false`, { n })).ms;
  try {
    progress(`warm-up: ${sizes.warmup} executions of each chain`);
    for (let i = 0; i < sizes.warmup; i++) {
      for (const client of clients) {
        await sample(client, 'chain1', i);
        await sample(client, 'chain10', i);
      }
    }
    progress(`warm: ${sizes.warm} samples of each chain, with and without history, interleaved`);
    const out = { chain1: [] as number[], chain10: [] as number[], chain1NoHistory: [] as number[], chain10NoHistory: [] as number[] };
    for (let i = 0; i < sizes.warm; i++) {
      out.chain1.push(await sample(clients[0], 'chain1', i));
      out.chain10.push(await sample(clients[0], 'chain10', i));
      out.chain1NoHistory.push(await sample(clients[1], 'chain1', i));
      out.chain10NoHistory.push(await sample(clients[1], 'chain10', i));
    }
    return out;
  } finally {
    for (const c of clients) c.close();
  }
}

/**
 * Cold-worker samples: each sample invokes a function of a running sandbox for the first time. Pool and no-pool
 * platforms are sampled alternately so that both see the same machine conditions.
 */
async function measureCold(pool: PlatformHandle, noPool: PlatformHandle, sizes: Sizes, progress: (s: string) => void) {
  const fns = Array.from({ length: sizes.cold }, (_, i) => `c${i + 1}`);
  const manifest = { name: 'bench-cold', functions: noopFunctions(['c0', ...fns]), workflows: {} };
  const targets = [pool, noPool];
  const clients = targets.map((p) => new KeepAliveClient(p.url, p.token));
  const out = { coldPool: [] as number[], coldNoPool: [] as number[], coldPoolRecords: [] as InvocationRecord[], coldNoPoolRecords: [] as InvocationRecord[] };
  try {
    for (const [i, p] of targets.entries()) {
      await deploy(p, manifest);
      await timedPost(clients[i]!, '/apps/bench-cold/functions/c0/invocations', {}); // creates the sandbox
    }
    await sleep(1000); // let the pool boot
    progress(`cold-worker: ${sizes.cold} samples with the pool, ${sizes.cold} without, alternating`);
    for (const fn of fns) {
      for (const [i, key] of (['coldPool', 'coldNoPool'] as const).entries()) {
        const { ms, answer } = await timedPost(clients[i]!, `/apps/bench-cold/functions/${fn}/invocations`, {});
        out[key].push(ms);
        out[key === 'coldPool' ? 'coldPoolRecords' : 'coldNoPoolRecords'].push(answer.records[0]);
        await sleep(200); // room for the pool to refill, as between sporadic requests
      }
    }
    return out;
  } finally {
    for (const c of clients) c.close();
  }
}

/**
 * The sandbox agent's CPU time per execution of a 5-step chain whose functions return their input, with a 1 KiB and
 * a 512 KiB payload, in alternating batches; and the same 512 KiB chain on a platform without checkpoints, in the
 * same rotation, for what checkpoints cost. The agent is the parent of the workers the records name (process backend).
 */
async function measureAgentCpu(
  p: PlatformHandle,
  noCheckpoints: PlatformHandle,
  sizes: Sizes,
  progress: (s: string) => void,
): Promise<Pick<Samples, 'agentCpu' | 'checkpointCost'>> {
  const fns = Array.from({ length: 5 }, (_, i) => `p${i + 1}`);
  const manifest = { name: 'bench-cpu', functions: noopFunctions(fns), workflows: { chain5: chainDefinition(fns) } };
  const inputs = { small: { data: 'x'.repeat(PAYLOAD_BYTES.small - 11) }, large: { data: 'x'.repeat(PAYLOAD_BYTES.large - 11) } };
  const path = '/apps/bench-cpu/workflows/chain5/executions?records=false';
  const targets = [p, noCheckpoints];
  const clients = targets.map((t) => new KeepAliveClient(t.url, t.token));
  try {
    const agentPids: number[] = [];
    for (const [i, t] of targets.entries()) {
      await deploy(t, manifest);
      const first = await timedPost(clients[i]!, '/apps/bench-cpu/workflows/chain5/executions', inputs.small);
      agentPids.push((await procStat(first.answer.records[0].workerPid)).ppid);
      for (let w = 0; w < 20; w++) for (const input of Object.values(inputs)) await timedPost(clients[i]!, path, input);
    }
    progress(`agent CPU: ${sizes.cpu.small} executions with 1 KiB, ${sizes.cpu.large} with 512 KiB, ${sizes.cpu.large} with 512 KiB and no checkpoints, in alternating batches`);
    const batch = (): CpuBatch => ({ cpuMs: 0, benchProcessCpuMs: 0, executions: 0, latencyMs: [] });
    const out = { small: batch(), large: batch(), off: batch() };
    const plan = [
      { key: 'small', target: 0, input: inputs.small, n: sizes.cpu.small },
      { key: 'large', target: 0, input: inputs.large, n: sizes.cpu.large },
      { key: 'off', target: 1, input: inputs.large, n: sizes.cpu.large },
    ] as const;
    const ROUNDS = 10;
    for (let round = 0; round < ROUNDS; round++) {
      for (const { key, target, input, n: total } of plan) {
        const n = Math.ceil(total / ROUNDS);
        const into = out[key];
        const before = (await procStat(agentPids[target]!)).cpuMs;
        const ownBefore = process.cpuUsage();
        for (let i = 0; i < n; i++) into.latencyMs.push((await timedPost(clients[target]!, path, input)).ms);
        const own = process.cpuUsage(ownBefore);
        into.cpuMs += (await procStat(agentPids[target]!)).cpuMs - before;
        into.benchProcessCpuMs += (own.user + own.system) / 1000;
        into.executions += n;
      }
    }
    return { agentCpu: { small: out.small, large: out.large }, checkpointCost: { on: out.large, off: out.off } };
  } finally {
    for (const c of clients) c.close();
  }
}

/** One step of open-loop-paced load at `ratePerSec`, sent open loop by a process of its own (bench/loader.ts). */
function loadStep(job: LoaderJob): Promise<LoaderAnswer> {
  const child = fork(LOADER, [JSON.stringify(job)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as LoaderAnswer));
    child.once('exit', (code) => reject(new Error(`the load generator exited (code ${code}) without an answer`)));
  });
}

/**
 * Throughput sweep of a warm 1-Task noop workflow: one step per offered rate, ascending, until a step misses
 * (p99 over THROUGHPUT_P99_FACTOR x the unloaded p99, or failures): the steps after it would only queue.
 */
async function measureThroughput(p: PlatformHandle, unloadedP99: number, sizes: Sizes, progress: (s: string) => void): Promise<Samples['throughput']> {
  const steps: Samples['throughput'] = [];
  const url = `${p.url}/apps/bench-warm/workflows/chain1/executions?records=false`;
  progress(`throughput: warm-up, ${sizes.rates[0]} executions/s for ${sizes.stepS} s (not counted)`);
  await loadStep({ url, token: p.token, body: '{"n":1}', ratePerSec: sizes.rates[0]!, durationS: sizes.stepS, connections: LOAD_CONNECTIONS });
  await sleep(1000);
  for (const ratePerSec of sizes.rates) {
    progress(`throughput: ${ratePerSec} executions/s for ${sizes.stepS} s`);
    const answer = await loadStep({ url, token: p.token, body: '{"n":1}', ratePerSec, durationS: sizes.stepS, connections: LOAD_CONNECTIONS });
    steps.push({ ratePerSec, durationS: sizes.stepS, ...answer });
    if (!stepHolds(steps.at(-1)!, unloadedP99)) break;
    await sleep(1000); // let the previous step's backlog drain
  }
  return steps;
}

export async function measure(sizes: Sizes, progress: (s: string) => void): Promise<Samples> {
  const dirs = await Promise.all(['bench-pool', 'bench-nopool', 'bench-nohistory', 'bench-nocheckpoints'].map(freshDataDir));
  const withPool = await startPlatform({ port: 0, dataDir: dirs[0]! });
  const withoutPool = await startPlatform({ port: 0, dataDir: dirs[1]!, poolSize: 0 });
  const noHistory = await startPlatform({ port: 0, dataDir: dirs[2]!, keepHistory: false });
  // Checkpoints are sent while a sandbox may be recovered from them: recoveryAttempts 0 is the platform without.
  const noCheckpoints = await startPlatform({ port: 0, dataDir: dirs[3]!, keepHistory: false, recoveryAttempts: 0 });
  try {
    const warm = await measureWarm(withPool, noHistory, sizes, progress);
    const cold = await measureCold(withPool, withoutPool, sizes, progress);
    const cpu = await measureAgentCpu(noHistory, noCheckpoints, sizes, progress);
    await noCheckpoints.close();
    const throughput = await measureThroughput(noHistory, p(warm.chain1NoHistory, 0.99), sizes, progress);
    progress(`floors: ${sizes.rtt} Unix-socket and IPC round trips`);
    const unix = await unixSocketRtt(sizes.rtt);
    const ipc = await ipcRtt(sizes.rtt);
    const ipc10 = await ipcRtt(sizes.rtt, 10);
    return { ...warm, ...cold, ...cpu, throughput, unixSocketRtt: unix, ipcRtt: ipc, ipcRtt10: ipc10 };
  } finally {
    await withPool.close();
    await withoutPool.close();
    await noHistory.close();
    await noCheckpoints.close();
    await removeDataDirs(dirs);
  }
}

// ------------------------------------------------------------------ statistics (pure)

export interface Summary {
  warm_e2e_ms_p50: number;
  warm_e2e_ms_p99: number;
  chain10_e2e_ms_p50: number;
  hop_ms_p50: number;
  warm_e2e_nohistory_ms_p50: number;
  hop_nohistory_ms_p50: number;
  cold_worker_ms_p50: number;
  cold_worker_nopool_ms_p50: number;
  cold_worker_start_ms_p50: number;
  cold_worker_nopool_start_ms_p50: number;
  cold_worker_from_pool: number;
  unix_socket_rtt_ms_p50: number;
  ipc_rtt_ms_p50: number;
  ipc_rtt_10_processes_ms_p50: number;
  /** Per-hop overhead (hop_ms_p50) over the floor of a hop between distinct processes (ipc_rtt_10_processes_ms_p50). */
  hop_to_ipc10_ratio: number;
  /** The highest offered rate whose p99 stayed within THROUGHPUT_P99_FACTOR x the unloaded p99, without failures; 0 if none. */
  throughput_noop_per_s: number;
  agent_cpu_ms_per_exec_1k: number;
  agent_cpu_ms_per_exec_512k: number;
  /** The same 512 KiB chain without checkpoints (recoveryAttempts 0), from the same rotation. */
  agent_cpu_ms_per_exec_512k_nocheckpoints: number;
  /** Warm latency of the 512 KiB chain over HTTP, with and without checkpoints. */
  chain5_512k_ms_p50: number;
  chain5_512k_nocheckpoints_ms_p50: number;
  /** CPU of the bench process (the in-process frontend and the HTTP client) per 512 KiB execution, with and without. */
  bench_process_cpu_ms_per_exec_512k: number;
  bench_process_cpu_ms_per_exec_512k_nocheckpoints: number;
  samples: { warm: number; cold: number; rtt: number };
}

const p = (xs: number[], q: number) => quantileSorted([...xs].sort((a, b) => a - b), q);
const round = (x: number) => Math.round(x * 1000) / 1000;

/** A loaded step holds while its p99 is at most this many times the unloaded p99 (the knee). */
export const THROUGHPUT_P99_FACTOR = 10;

/** Whether a throughput step held: every request answered 200, and p99 within the factor of the unloaded p99. */
export function stepHolds(step: LoaderAnswer, unloadedP99: number): boolean {
  return step.failed === 0 && step.latencies.length > 0 && p(step.latencies, 0.99) <= THROUGHPUT_P99_FACTOR * unloadedP99;
}

export function summarize(s: Samples): Summary {
  const startOf = (r: InvocationRecord) => r.t.workerReady - r.t.queued;
  const allCold = [...s.coldPoolRecords, ...s.coldNoPoolRecords].every((r) => r.temperature === 'cold-worker');
  if (!allCold) throw new Error('a cold-worker sample was not cold-worker by its record; the measurement is invalid');
  const unloadedP99 = p(s.chain1NoHistory, 0.99);
  return {
    warm_e2e_ms_p50: round(median(s.chain1)),
    warm_e2e_ms_p99: round(p(s.chain1, 0.99)),
    chain10_e2e_ms_p50: round(median(s.chain10)),
    hop_ms_p50: round((median(s.chain10) - median(s.chain1)) / 9),
    warm_e2e_nohistory_ms_p50: round(median(s.chain1NoHistory)),
    hop_nohistory_ms_p50: round((median(s.chain10NoHistory) - median(s.chain1NoHistory)) / 9),
    cold_worker_ms_p50: round(median(s.coldPool)),
    cold_worker_nopool_ms_p50: round(median(s.coldNoPool)),
    cold_worker_start_ms_p50: round(median(s.coldPoolRecords.map(startOf))),
    cold_worker_nopool_start_ms_p50: round(median(s.coldNoPoolRecords.map(startOf))),
    cold_worker_from_pool: s.coldPoolRecords.filter((r) => r.workerOrigin === 'pool').length,
    unix_socket_rtt_ms_p50: round(median(s.unixSocketRtt)),
    ipc_rtt_ms_p50: round(median(s.ipcRtt)),
    ipc_rtt_10_processes_ms_p50: round(median(s.ipcRtt10)),
    hop_to_ipc10_ratio: round((median(s.chain10) - median(s.chain1)) / 9 / median(s.ipcRtt10)),
    throughput_noop_per_s: Math.max(0, ...s.throughput.filter((step) => stepHolds(step, unloadedP99)).map((step) => step.ratePerSec)),
    agent_cpu_ms_per_exec_1k: round(s.agentCpu.small.cpuMs / s.agentCpu.small.executions),
    agent_cpu_ms_per_exec_512k: round(s.agentCpu.large.cpuMs / s.agentCpu.large.executions),
    agent_cpu_ms_per_exec_512k_nocheckpoints: round(s.checkpointCost.off.cpuMs / s.checkpointCost.off.executions),
    chain5_512k_ms_p50: round(median(s.checkpointCost.on.latencyMs)),
    chain5_512k_nocheckpoints_ms_p50: round(median(s.checkpointCost.off.latencyMs)),
    bench_process_cpu_ms_per_exec_512k: round(s.checkpointCost.on.benchProcessCpuMs / s.checkpointCost.on.executions),
    bench_process_cpu_ms_per_exec_512k_nocheckpoints: round(s.checkpointCost.off.benchProcessCpuMs / s.checkpointCost.off.executions),
    samples: { warm: s.chain1.length, cold: s.coldPool.length, rtt: s.unixSocketRtt.length },
  };
}

// ------------------------------------------------------------------ formatting

export function summaryTable(s: Summary): string {
  const rows: Array<[string, string, string]> = [
    ['warm 1-Task workflow over HTTP, p50', `${s.warm_e2e_ms_p50} ms`, 'target <= 2 ms'],
    ['warm 1-Task workflow over HTTP, p99', `${s.warm_e2e_ms_p99} ms`, ''],
    ['warm 10-Task chain over HTTP, p50', `${s.chain10_e2e_ms_p50} ms`, ''],
    ['per-hop overhead (chain10 - chain1) / 9', `${s.hop_ms_p50} ms`, 'target <= 0.3 ms; KNIX: 4-5 ms'],
    ['  the same without execution history', `${s.hop_nohistory_ms_p50} ms`, `1-Task p50 ${s.warm_e2e_nohistory_ms_p50} ms`],
    ['cold-worker invocation, pool on, p50', `${s.cold_worker_ms_p50} ms`, `target <= 25 ms; ${s.cold_worker_from_pool}/${s.samples.cold} from the pool`],
    ['cold-worker invocation, pool off, p50', `${s.cold_worker_nopool_ms_p50} ms`, ''],
    ['  of which worker start, pool on / off', `${s.cold_worker_start_ms_p50} / ${s.cold_worker_nopool_start_ms_p50} ms`, 'queued -> worker ready'],
    ['Unix-socket round trip, p50 (floor)', `${s.unix_socket_rtt_ms_p50} ms`, ''],
    ['Node IPC round trip, p50 (floor)', `${s.ipc_rtt_ms_p50} ms`, 'the local bus, one hot peer'],
    ['Node IPC round trip, 10 processes in turn', `${s.ipc_rtt_10_processes_ms_p50} ms`, 'floor of a hop between distinct workers'],
    ['  per-hop overhead / that floor', `${s.hop_to_ipc10_ratio}`, 'target <= 1.0; goal 0.6'],
    ['throughput, 1-Task noop, no history', `${s.throughput_noop_per_s} /s`, `p99 <= ${THROUGHPUT_P99_FACTOR}x unloaded; target >= 2000`],
    ['agent CPU per 5-step execution, 1 KiB', `${s.agent_cpu_ms_per_exec_1k} ms`, 'pass-through chain, no history'],
    ['agent CPU per 5-step execution, 512 KiB', `${s.agent_cpu_ms_per_exec_512k} ms`, `${s.agent_cpu_ms_per_exec_512k_nocheckpoints} ms without checkpoints`],
    ['  warm latency of that chain, p50', `${s.chain5_512k_ms_p50} ms`, `${s.chain5_512k_nocheckpoints_ms_p50} ms without checkpoints`],
    ['  bench process CPU (frontend + client)', `${s.bench_process_cpu_ms_per_exec_512k} ms`, `${s.bench_process_cpu_ms_per_exec_512k_nocheckpoints} ms without checkpoints`],
  ];
  return formatTable(null, rows, { align: ['left', 'right', 'left'] });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } } });
  const sizes = values.quick ? SIZES.quick : SIZES.full;
  const manifest = runManifest('bench-core', { sizes, backend: 'process', poolSizes: [2, 0] });
  const progress = (s: string) => process.stderr.write(`[bench] ${s}\n`);
  const samples = await measure(sizes, progress);
  await recordAndReport(manifest, samples, values.out, summarize, summaryTable);
}


runIfMain(import.meta.url, 'bench', main);
