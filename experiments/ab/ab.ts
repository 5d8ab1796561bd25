/**
 * `mfbench ab`: an A/B comparison of two commits in one session (docs/statistics.md#the-ab-gate). Both commits are
 * built apart (checkout.ts); then, in each of R rounds, one trial of each runs, in a random order, each a fresh child
 * process (trial.ts), so that A and B see the same machine, noise included (randomized multiple interleaved trials,
 * Abedi and Brecht, ICPE 2017). Each round gives one pair per metric; the pairs are judged by comparePaired.
 *
 * Measuring (`measureAb`) writes the raw samples of every trial before anything is computed; `judgeAb` is pure.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from 'simple-statistics';
import { MfError } from '../../platform/errors.js';
import { comparePaired, type PairedComparison, type PairedOptions } from '../../report/compare/paired.js';
import { seededRng } from '../../report/stats/random.js';
import type { RunManifest } from '../../report/types.js';
import { REPO } from '../bench/common.js';
import { runManifest } from '../manifest.js';
import { buildCommit, resolveCommit, type BuiltCommit } from './checkout.js';
import type { HopSamples } from './trial.js';

/** What a benchmark reduces one trial's samples to: one value per metric, smaller is better. */
export const AB_BENCHMARKS = {
  hop: {
    describe: 'warm 1-Task and 10-Task chains of noops (grouped preset, process backend), interleaved; per-hop = (median chain10 - median chain1) / 9',
    metrics: (s: HopSamples): Record<string, number> => ({
      warm_e2e_ms: median(s.chain1),
      hop_ms: (median(s.chain10) - median(s.chain1)) / 9,
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
  /** Measured requests per trial (after `warmup`). */
  samples: number;
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

/** One trial: one side's child process in one round; `position` 0 ran first in its round. */
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

const TRIAL = fileURLToPath(new URL('./trial.js', import.meta.url));

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
    design: 'randomized interleaved trials: each round runs one trial of each side, in a seeded random order, each in a fresh process',
  });
  const runDir = o.out ?? join(REPO, 'results', 'runs', manifest.runId);
  await mkdir(runDir, { recursive: true });
  await writeFile(join(runDir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  const tmp = await mkdtemp(join(tmpdir(), 'mfbench-ab-'));
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
    for (let round = 0; round < o.rounds; round++) {
      const order: Side[] = rng() < 0.5 ? ['a', 'b'] : ['b', 'a'];
      for (const [position, side] of order.entries()) {
        o.progress(`round ${round + 1}/${o.rounds}: ${side.toUpperCase()}`);
        const trial = await runTrial(built.get(commits[side])!.dir, o, side, round, position);
        trials.push(trial);
        await appendFile(join(runDir, 'trials.jsonl'), JSON.stringify(trial) + '\n');
      }
    }
    return { runDir, manifest, trials };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function runTrial(dir: string, o: AbOptions, side: Side, round: number, position: number): Promise<Trial> {
  const startedAt = new Date().toISOString();
  const loadAvg1 = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  const t0 = performance.now();
  const args = [TRIAL, '--platform-dist', join(dir, 'dist'), '--samples', String(o.samples), '--warmup', String(o.warmup)];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...o.env[side] }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || last === '') {
        reject(new MfError('MF_AB_FAILED', `the trial of side ${side.toUpperCase()} in round ${round + 1} exited ${code}: ${stderr.trim().split('\n').slice(-5).join('\n')}`, { side, round, step: 'trial' }));
        return;
      }
      resolve({ round, side, position, startedAt, durationMs: Math.round(performance.now() - t0), loadAvg1, samples: JSON.parse(last) as HopSamples });
    });
  });
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
