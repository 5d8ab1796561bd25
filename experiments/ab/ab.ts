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
import { appendFile, chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MfError } from '../../platform/errors.js';
import { comparePaired, type PairedComparison, type PairedOptions } from '../../report/compare/paired.js';
import { exactPercentile as percentile } from '../../report/stats/percentiles.js';
import { seededRng } from '../../report/stats/random.js';
import type { RunManifest } from '../../report/types.js';
import { REPO } from '../bench/common.js';
import { runManifest } from '../manifest.js';
import { buildCommit, resolveCommit, type BuiltCommit } from './checkout.js';
import type { HopSamples } from './side.js';

/** What a benchmark reduces one trial's samples to: one value per metric, smaller is better. */
export const AB_BENCHMARKS = {
  hop: {
    describe:
      'warm 1-Task and 10-Task chains of noops (grouped preset, process backend), interleaved; per block, the 10th percentile of the 1-Task latency and of the per-hop overhead from the platform records',
    metrics: (s: HopSamples): Record<string, number> => ({
      // The low percentile, not the median: on a shared machine noise only ever adds time, so the fast end of a
      // block is the cost without interference, while a fixed added cost moves it as much as any (docs/statistics.md).
      warm_e2e_p10_ms: percentile(s.chain1, 10),
      hop_p10_ms: percentile(s.hops, 10),
    }),
  },
} as const;
export type AbBenchmark = keyof typeof AB_BENCHMARKS;

export type Side = 'a' | 'b';

export interface AbOptions {
  refA: string;
  refB: string;
  benchmark: AbBenchmark;
  rounds: number;
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

/** One trial: one block of one side in one round; `position` 0 ran first in its round. */
export interface Trial {
  round: number;
  side: Side;
  position: number;
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
    samples: o.samples,
    warmup: o.warmup,
    seed: o.seed,
    design: 'randomized interleaved trials: both sides run side by side in processes of their own; each round measures one block of each, in a seeded random order',
  });
  const runDir = o.out ?? join(REPO, 'results', 'runs', manifest.runId);
  await mkdir(runDir, { recursive: true });
  await writeFile(join(runDir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  const tmp = await mkdtemp(join(tmpdir(), 'mfbench-ab-'));
  // mkdtemp makes it 0700; on a root platform each app's sandbox runs as its own OS user and must reach dist/ in here.
  await chmod(tmp, 0o755);
  try {
    // The same commit on both sides (an A/A run, or A/B of an environment switch) is built once.
    const built = new Map<string, BuiltCommit>();
    for (const side of ['a', 'b'] as const) {
      if (built.has(commits[side])) continue;
      o.progress(`building ${side.toUpperCase()} = ${commits[side].slice(0, 12)} in ${tmp}`);
      built.set(commits[side], await buildCommit(repo, commits[side], join(tmp, commits[side].slice(0, 12))));
    }
    const sides: Partial<Record<Side, SideProcess>> = {};
    try {
      for (const side of ['a', 'b'] as const) {
        o.progress(`starting ${side.toUpperCase()}'s platform and warming it up`);
        sides[side] = await SideProcess.start(built.get(commits[side])!.dir, o.env[side], o.warmup, side);
      }
      const rng = seededRng(o.seed);
      const trials: Trial[] = [];
      for (let round = 0; round < o.rounds; round++) {
        const order: Side[] = rng() < 0.5 ? ['a', 'b'] : ['b', 'a'];
        if (round % 5 === 0) o.progress(`round ${round + 1}/${o.rounds}`);
        // Duet: both blocks run at once, so that both sides meet the same noise at the same moments; the random
        // order decides only who is asked first.
        const startedAt = new Date().toISOString();
        const loadAvg1 = Math.round((loadavg()[0] ?? 0) * 100) / 100;
        const t0 = performance.now();
        const blocks = await Promise.all(order.map((side) => sides[side]!.block(o.samples).then((samples) => ({ side, samples, ms: performance.now() - t0 }))));
        for (const [position, { side, samples, ms }] of blocks.entries()) {
          const trial: Trial = { round, side, position, startedAt, durationMs: Math.round(ms), loadAvg1, samples };
          trials.push(trial);
          await appendFile(join(runDir, 'trials.jsonl'), JSON.stringify(trial) + '\n');
        }
      }
      return { runDir, manifest, trials };
    } finally {
      await Promise.all(Object.values(sides).map((p) => p.close()));
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
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

  static async start(dir: string, env: Record<string, string>, warmup: number, side: Side): Promise<SideProcess> {
    const child = spawn(process.execPath, [SIDE, '--platform-dist', join(dir, 'dist'), '--warmup', String(warmup)], {
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
  /** How many rounds ran A first (the order is random; a lopsided order would show here). */
  aFirst: number;
  metrics: MetricVerdict[];
  regressions: number;
  pass: boolean;
}

/** The paired verdict of each metric of the benchmark. Pure: reads only the trials. */
export function judgeAb(benchmark: AbBenchmark, trials: readonly Trial[], options: Partial<PairedOptions> = {}): AbReport {
  const rounds = [...new Set(trials.map((t) => t.round))].sort((x, y) => x - y);
  const perRound = rounds.map((round) => {
    const of = (side: Side) => trials.find((t) => t.round === round && t.side === side);
    const a = of('a');
    const b = of('b');
    if (!a || !b) throw new MfError('MF_INTERNAL', `round ${round + 1} lacks a trial of side ${a ? 'B' : 'A'}`, { round });
    return { a: AB_BENCHMARKS[benchmark].metrics(a.samples), b: AB_BENCHMARKS[benchmark].metrics(b.samples), aFirst: a.position === 0 };
  });
  const names = Object.keys(perRound[0]?.a ?? {});
  const metrics = names.map((metric): MetricVerdict => {
    const a = perRound.map((r) => r.a[metric]!);
    const b = perRound.map((r) => r.b[metric]!);
    return { metric, a, b, comparison: comparePaired(a.map((x, i) => ({ a: x, b: b[i]! })), options) };
  });
  const regressions = metrics.filter((m) => m.comparison.regression).length;
  return { benchmark, rounds: rounds.length, aFirst: perRound.filter((r) => r.aFirst).length, metrics, regressions, pass: regressions === 0 };
}
