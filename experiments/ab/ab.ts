/**
 * `mfbench ab`: an A/B comparison of two commits in one session (docs/statistics.md#the-ab-gate). Both commits are
 * built apart (checkout.ts), and each side's platform runs in a child process of its own (side.ts), both alive for the
 * whole session. In each of R rounds, one short block of each side is measured, in a seeded random order, so that A
 * and B see the same machine, noise included, within a second of each other (randomized multiple interleaved
 * trials, Abedi and Brecht, ICPE 2017). Each round gives one pair per metric; the pairs are judged by comparePaired.
 *
 * Measuring (`measureAb`) writes the raw samples of every trial before anything is computed; `judgeAb` is pure.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { appendFile, chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MfError } from '../../platform/errors.js';
import { comparePaired, type PairedComparison, type PairedOptions } from '../../report/compare/paired.js';
import { mean, median } from 'simple-statistics';
import { exactPercentile as percentile } from '../../report/stats/percentiles.js';
import { seededRng } from '../../report/stats/random.js';
import type { RunManifest } from '../../report/types.js';
import { freshDataDir, REPO } from '../bench/common.js';
import { runManifest } from '../manifest.js';
import { buildCommit, resolveCommit, type BuiltCommit } from './checkout.js';
import type { HopSamples } from './side.js';

/** What a benchmark reduces one trial's samples to: one value per metric, smaller is better. */
export const AB_BENCHMARKS = {
  hop: {
    /** The metric the gate is about: extra rounds (--max-rounds) run until its slowdown of --target is detectable. */
    primary: 'cpu_hop_ms',
    describe:
      'warm 1-Task and 10-Task chains of noops (grouped preset, process backend), interleaved; per round, the on-CPU time of the sandbox\'s processes per hop ((mean CPU of a 10-Task execution - mean CPU of a 1-Task execution) / 9, from /proc schedstat), the 10th percentile of the 1-Task latency and of the mean hop of each 10-Task execution from the platform records (first handler start to last handler end, less the handlers, over 9), and the per-hop figure of npm run bench ((median chain10 - median chain1) / 9)',
    metrics: (s: HopSamples): Record<string, number> => ({
      // The main metric: CPU time, which another job's use of the cores barely moves (a process waiting for a CPU is
      // not charged for the wait), and the mean, because CPU time adds up: a fixed cost per hop moves it by exactly
      // that cost, and the mean of a window is its total over the executions (docs/statistics.md#the-ab-gate).
      cpu_hop_ms: (meanOf(s.cpu10) - meanOf(s.cpu1)) / 9,
      // The low percentile, not the median: on a shared machine noise only ever adds time, so the fast end of a
      // block is the cost without interference, while a fixed added cost moves it as much as any (docs/statistics.md).
      warm_e2e_p10_ms: percentile(s.chain1, 10),
      hop_p10_ms: percentile(s.hops, 10),
      // The per-hop figure of `npm run bench`, for reference: the median's difference is what papers quote.
      client_hop_ms: (median(s.chain10) - median(s.chain1)) / 9,
    }),
  },
} as const;
export type AbBenchmark = keyof typeof AB_BENCHMARKS;

/** The mean, or NaN for no samples (trials recorded before the CPU was read): comparePaired then says the round gave no value. */
function meanOf(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : mean(xs as number[]);
}

export type Side = 'a' | 'b';

export interface AbOptions {
  refA: string;
  refB: string;
  benchmark: AbBenchmark;
  /** Rounds: each starts both sides afresh and measures `blocks` blocks of each, side by side. */
  rounds: number;
  /**
   * Up to this many rounds (default `rounds`): past `rounds`, one more round at a time until `enough` says the trials
   * so far suffice. `enough` may read only the spread, never the difference (docs/statistics.md#what-a-run-can-tell-apart).
   */
  maxRounds?: number;
  enough?: (trials: readonly Trial[]) => boolean;
  blocks: number;
  /** Measured requests of each kind per block. */
  samples: number;
  /** Warm-up requests of each kind per side, once, before the first round. */
  warmup: number;
  /** Seed of the order of each round. */
  seed: number;
  /** Extra environment of each side's trials (e.g. the debug hop delay on one side). */
  env: Record<Side, Record<string, string>>;
  /** The repository the refs are in (default: this checkout). */
  repo?: string;
  /** Run directory to write (default results/runs/<run id>). */
  out?: string;
  progress: (line: string) => void;
}

/** One block of one side in one round; `position` 0 was asked first. */
export interface Trial {
  round: number;
  block: number;
  side: Side;
  position: number;
  /** The CPU the side's processes were pinned to, null when not pinned. */
  cpu: number | null;
  startedAt: string;
  durationMs: number;
  loadAvg1: number;
  samples: HopSamples;
}

export interface AbMeasurement {
  runDir: string;
  manifest: RunManifest;
  trials: Trial[];
}

const SIDE = fileURLToPath(new URL('./side.js', import.meta.url));

function checkOptions(o: AbOptions): void {
  const whole = (name: string, v: number, min: number) => {
    if (!(Number.isInteger(v) && v >= min)) throw new MfError('MF_CONFIG_INVALID', `--${name} must be a whole number >= ${min}, got ${v}`, { option: name, value: v });
  };
  whole('rounds', o.rounds, 2);
  if (o.maxRounds !== undefined) whole('max-rounds', o.maxRounds, o.rounds);
  whole('blocks', o.blocks, 1);
  whole('samples', o.samples, 1);
  whole('warmup', o.warmup, 0);
  if (!Object.hasOwn(AB_BENCHMARKS, o.benchmark)) throw new MfError('MF_CONFIG_INVALID', `unknown A/B benchmark "${o.benchmark}" (known: ${Object.keys(AB_BENCHMARKS).join(', ')})`, { option: 'benchmark', value: o.benchmark });
}

/** Builds both commits, runs the interleaved rounds and writes every trial's raw samples; computes nothing. */
export async function measureAb(o: AbOptions): Promise<AbMeasurement> {
  checkOptions(o);
  const repo = o.repo ?? REPO;
  const commits: Record<Side, string> = { a: await resolveCommit(repo, o.refA), b: await resolveCommit(repo, o.refB) };
  const manifest = runManifest('ab', {
    benchmark: o.benchmark,
    describe: AB_BENCHMARKS[o.benchmark].describe,
    refs: { a: o.refA, b: o.refB },
    commits,
    env: o.env,
    rounds: o.rounds,
    maxRounds: o.maxRounds ?? o.rounds,
    blocks: o.blocks,
    samples: o.samples,
    warmup: o.warmup,
    seed: o.seed,
    design: 'randomized interleaved trials: each round starts both sides afresh, in a seeded random order, and measures blocks of both at the same time (duet)',
  });
  const runDir = o.out ?? join(REPO, 'results', 'runs', manifest.runId);
  await mkdir(runDir, { recursive: true });
  await writeFile(join(runDir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  // Under .mfbench/ as the benches' data folders are, not the OS tmpdir: on a root platform each app's sandbox runs
  // as its own OS user and must reach dist/ in here, and a tmpdir may be a private folder (the test runner's is).
  const tmp = await freshDataDir('ab-build');
  await chmod(tmp, 0o755);
  try {
    // The same commit on both sides (an A/A run, or A/B of an environment switch) is built once.
    const built = new Map<string, BuiltCommit>();
    for (const side of ['a', 'b'] as const) {
      if (built.has(commits[side])) continue;
      o.progress(`building ${side.toUpperCase()} = ${commits[side].slice(0, 12)} in ${tmp}`);
      built.set(commits[side], await buildCommit(repo, commits[side], join(tmp, commits[side].slice(0, 12))));
    }
    const rng = seededRng(o.seed);
    const trials: Trial[] = [];
    const maxRounds = o.maxRounds ?? o.rounds;
    for (let round = 0; round < maxRounds && (round < o.rounds || !(o.enough?.(trials) ?? true)); round++) {
      o.progress(`round ${round + 1}/${round < o.rounds ? o.rounds : `${maxRounds} at most`}: starting both platforms, ${o.blocks} blocks`);
      // Fresh processes every round, started in a random order, so that whatever one process happens to get (its
      // CPU, its memory layout, the moment it started) is drawn again each round rather than kept by one side.
      const first: Side[] = rng() < 0.5 ? ['a', 'b'] : ['b', 'a'];
      const cpu = placement(rng);
      const sides = await startBoth(first, (side) => ({ dir: built.get(commits[side])!.dir, env: o.env[side], warmup: o.warmup, cpu }));
      try {
        for (let block = 0; block < o.blocks; block++) {
          // Duet: both blocks run at once, so that both sides meet the same noise at the same moments.
          const order: Side[] = rng() < 0.5 ? ['a', 'b'] : ['b', 'a'];
          const startedAt = new Date().toISOString();
          const loadAvg1 = Math.round((loadavg()[0] ?? 0) * 100) / 100;
          const t0 = performance.now();
          const done = await Promise.all(order.map((side) => sides[side].block(o.samples).then((samples) => ({ side, samples, ms: performance.now() - t0 }))));
          for (const [position, { side, samples, ms }] of done.entries()) {
            const trial: Trial = { round, block, side, position, cpu, startedAt, durationMs: Math.round(ms), loadAvg1, samples };
            trials.push(trial);
            await appendFile(join(runDir, 'trials.jsonl'), JSON.stringify(trial) + '\n');
          }
        }
      } finally {
        await Promise.all(Object.values(sides).map((p) => p.close()));
      }
    }
    return { runDir, manifest, trials };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** taskset, when the machine has it: pinning needs it. */
const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p)) ?? null;

/**
 * Where both sides run this round: with taskset, both whole process trees on ONE CPU, drawn each round. A hop is an
 * IPC wake-up between the agent and a worker. Left to the scheduler, whether those two shared a CPU moved a side's
 * 10th-percentile hop by half from round to round; one side per CPU made it depend on which CPU the others' jobs
 * used more. On one shared CPU both sides meet the same interference, and the draw spreads the CPUs over rounds.
 */
function placement(rng: () => number): number | null {
  const cpus = availableParallelism();
  return TASKSET === null ? null : Math.min(cpus - 1, Math.floor(rng() * cpus));
}

/** Starts both sides' processes (the first in `order` first), and closes whichever started if the other fails. */
async function startBoth(order: Side[], spec: (side: Side) => { dir: string; env: Record<string, string>; warmup: number; cpu: number | null }): Promise<Record<Side, SideProcess>> {
  const started: Partial<Record<Side, SideProcess>> = {};
  try {
    for (const side of order) {
      const { dir, env, warmup, cpu } = spec(side);
      started[side] = await SideProcess.start(dir, env, warmup, side, cpu);
    }
    return started as Record<Side, SideProcess>;
  } catch (err) {
    await Promise.all(Object.values(started).map((p) => p.close()));
    throw err;
  }
}

/** A side's child process (side.ts): one JSON line each way per block. */
class SideProcess {
  readonly #lines: AsyncIterator<string>;
  #stderr = '';

  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, Readable>,
    private readonly side: Side,
  ) {
    child.stderr.on('data', (d: Buffer) => (this.#stderr += d.toString()));
    this.#lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  static async start(dir: string, env: Record<string, string>, warmup: number, side: Side, cpu: number | null): Promise<SideProcess> {
    const node = [process.execPath, SIDE, '--platform-dist', join(dir, 'dist'), '--warmup', String(warmup)];
    // Pinned, the side's whole process tree (platform, agent, workers inherit the mask) shares one CPU.
    const [command, ...args] = cpu === null ? node : [TASKSET!, '-c', String(cpu), ...node];
    const child = spawn(command!, args, {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const p = new SideProcess(child, side);
    await p.#next('start');
    return p;
  }

  async block(samples: number): Promise<HopSamples> {
    this.child.stdin.write(JSON.stringify({ samples }) + '\n');
    return JSON.parse(await this.#next('measure')) as HopSamples;
  }

  async #next(step: string): Promise<string> {
    const r = await this.#lines.next();
    if (!r.done) return r.value;
    await new Promise((resolve) => (this.child.exitCode !== null ? resolve(null) : this.child.once('close', resolve)));
    // The side prints "ab side failed: <message>" and then the stack: the message says why.
    const why = this.#stderr.split('\n').find((l) => l.includes('failed:')) ?? this.#stderr.trim().split('\n').slice(-3).join('\n');
    throw new MfError('MF_AB_FAILED', `side ${this.side.toUpperCase()} exited ${String(this.child.exitCode)} at ${step}: ${why}`, { side: this.side, step });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const closed = new Promise((resolve) => this.child.once('close', resolve));
    this.child.stdin.end();
    await closed;
  }
}

export interface MetricVerdict {
  metric: string;
  /** The metric's value per round, for each side. */
  a: number[];
  b: number[];
  comparison: PairedComparison;
}

export interface AbReport {
  benchmark: AbBenchmark;
  rounds: number;
  blocks: number;
  /** How many blocks asked A first (the order is random; a lopsided order would show here). */
  aFirst: number;
  metrics: MetricVerdict[];
  regressions: number;
  pass: boolean;
}

/** The paired verdict of each metric of the benchmark. Pure: reads only the trials. */
export function judgeAb(benchmark: AbBenchmark, trials: readonly Trial[], options: Partial<PairedOptions> = {}): AbReport {
  const rounds = [...new Set(trials.map((t) => t.round))].sort((x, y) => x - y);
  const perRound = rounds.map((round) => {
    const of = (side: Side) => pool(trials.filter((t) => t.round === round && t.side === side).map((t) => t.samples));
    const a = of('a');
    const b = of('b');
    if (!a || !b) throw new MfError('MF_INTERNAL', `round ${round + 1} lacks the blocks of side ${a ? 'B' : 'A'}`, { round });
    return { a: AB_BENCHMARKS[benchmark].metrics(a), b: AB_BENCHMARKS[benchmark].metrics(b) };
  });
  const names = Object.keys(perRound[0]?.a ?? {});
  const metrics = names.map((metric): MetricVerdict => {
    const a = perRound.map((r) => r.a[metric]!);
    const b = perRound.map((r) => r.b[metric]!);
    return { metric, a, b, comparison: comparePaired(a.map((x, i) => ({ a: x, b: b[i]! })), options) };
  });
  const regressions = metrics.filter((m) => m.comparison.regression).length;
  const aFirst = trials.filter((t) => t.side === 'a' && t.position === 0).length;
  return { benchmark, rounds: rounds.length, blocks: trials.length / 2, aFirst, metrics, regressions, pass: regressions === 0 };
}

/** A round's blocks of one side as one sample set (null when there are none). */
function pool(blocks: readonly HopSamples[]): HopSamples | null {
  if (blocks.length === 0) return null;
  const all = (k: keyof HopSamples) => blocks.flatMap((b) => b[k] ?? []);
  return { chain1: all('chain1'), chain10: all('chain10'), hops: all('hops'), cpu1: all('cpu1'), cpu10: all('cpu10') };
}
