/**
 * `mfbench ab <ref-a> <ref-b> [benchmark]`: the paired A/B gate (docs/statistics.md#the-ab-gate). Builds both commits
 * apart, runs them in randomized interleaved rounds, and exits 1 only when some metric of B is slower than A beyond
 * the threshold with the stated confidence. The table (or, with --json, the report) goes to stdout.
 */
import type { Argv } from 'yargs';
import { checkPairedOptions, defaultTarget, PAIRED_DEFAULTS } from '../../report/compare/paired.js';
import type { AbReport } from '../../experiments/ab/ab.js';
import type { GlobalOptions } from '../lib/args.js';
import { defineCommand } from '../lib/command.js';
import { EXIT, out, outJson, say, UsageError } from '../lib/output.js';
import { formatNumber, formatTable } from '../lib/table.js';

/** `KEY=VALUE` flags as an environment. */
export function envOf(pairs: readonly string[] | undefined, flag: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const p of pairs ?? []) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${flag} ${p}: expected NAME=VALUE`);
    env[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return env;
}

export function formatAb(r: AbReport, level: number): string {
  const round3 = (x: number) => Number(x.toFixed(3));
  return formatTable(
    ['metric', 'rounds', 'median A', 'median B', 'ratio B/A', `${level * 100}% CI`, 'verdict', 'detectable', 'rounds for target', 'note'],
    r.metrics.map((m) => {
      const c = m.comparison;
      const med = (xs: number[]) => round3([...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)] ?? NaN);
      const mde = c.mde === null ? '-' : `${formatNumber(Math.round((c.mde - 1) * 1000) / 10)}%`;
      return [m.metric, c.rounds, med(m.a), med(m.b), c.ratio === null ? null : round3(c.ratio), c.ci === null ? '-' : `[${c.ci.lower.toFixed(3)}, ${c.ci.upper.toFixed(3)}]`, c.verdict, mde, c.roundsForTarget ?? '-', c.note];
    }),
  );
}

export const abCommand = defineCommand({
  command: 'ab <ref-a> <ref-b> [benchmark]',
  describe: 'build two commits and compare them in randomized interleaved rounds; exit 1 when B is significantly slower beyond the threshold',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('ref-a', { type: 'string', demandOption: true, describe: 'the baseline commit (any git ref)' })
      .positional('ref-b', { type: 'string', demandOption: true, describe: 'the commit to check (may be the same as A, for an A/A run or with --env-b)' })
      .positional('benchmark', { type: 'string', default: 'hop', choices: ['hop'], describe: 'what each trial measures' })
      .option('rounds', { type: 'number', default: 8, describe: 'rounds; each starts A and B afresh and gives one pair per metric' })
      .option('blocks', { type: 'number', default: 4, describe: 'blocks per round; each measures A and B at the same time' })
      .option('samples', { type: 'number', default: 40, describe: 'measured requests of each kind per block' })
      .option('warmup', { type: 'number', default: 20, describe: 'warm-up requests of each kind per side and round' })
      .option('max-rounds', { type: 'number', describe: 'run more rounds, one at a time, until a --target slowdown of the main metric is detectable or this many rounds ran', defaultDescription: '--rounds (no extra rounds)' })
      .option('threshold', { type: 'number', default: PAIRED_DEFAULTS.threshold, describe: 'relative slowdown that fails the gate (0.05 = 5%)' })
      .option('target', { type: 'number', defaultDescription: '0.1, or twice --threshold when higher', describe: 'the slowdown the run should be able to see (0.1 = 10%): the report gives the rounds it needs; --max-rounds runs them' })
      .option('power', { type: 'number', default: PAIRED_DEFAULTS.power, describe: 'probability of detection behind the reported detectable slowdown' })
      .option('level', { type: 'number', default: PAIRED_DEFAULTS.level, describe: 'confidence level of the ratio interval' })
      .option('seed', { type: 'number', default: 1, describe: 'seed of the order within each round' })
      .option('env-a', { type: 'string', array: true, describe: 'NAME=VALUE added to the environment of A trials (repeatable)' })
      .option('env-b', { type: 'string', array: true, describe: 'NAME=VALUE added to the environment of B trials, e.g. MFBENCH_DEBUG_HOP_DELAY_US=80' })
      .option('out', { type: 'string', describe: 'run directory to create', defaultDescription: 'results/runs/<run-id>' })
      .option('json', { type: 'boolean', default: false, describe: 'print only {runDir, report} as JSON on stdout' }),
  handler: async (argv) => {
    const env = { a: envOf(argv.envA, 'env-a'), b: envOf(argv.envB, 'env-b') };
    const target = argv.target ?? defaultTarget(argv.threshold);
    const paired = { ...PAIRED_DEFAULTS, threshold: argv.threshold, level: argv.level, target, power: argv.power };
    try {
      checkPairedOptions(paired); // before minutes of measuring, not after
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    // Loaded here, not at the top: every CLI start loads this module for its help text.
    const { AB_BENCHMARKS, judgeAb, measureAb } = await import('../../experiments/ab/ab.js');
    const primary = AB_BENCHMARKS[argv.benchmark as 'hop'].primary;
    const m = await measureAb({
      refA: argv.refA,
      refB: argv.refB,
      benchmark: argv.benchmark as 'hop',
      rounds: argv.rounds,
      ...(argv.maxRounds !== undefined ? { maxRounds: argv.maxRounds } : {}),
      // The stopping rule reads only the spread (through the detectable slowdown), never the ratio itself.
      enough: (trials) => {
        const mde = judgeAb(argv.benchmark as 'hop', trials, paired).metrics.find((x) => x.metric === primary)?.comparison.mde ?? null;
        return mde !== null && mde <= 1 + target;
      },
      blocks: argv.blocks,
      samples: argv.samples,
      warmup: argv.warmup,
      seed: argv.seed,
      env,
      ...(argv.out !== undefined ? { out: argv.out } : {}),
      progress: (line) => say(`[ab] ${line}`),
    });
    say(`raw trials and manifest: ${m.runDir}`);
    const report = judgeAb(argv.benchmark as 'hop', m.trials, paired);
    if (argv.json) outJson({ runDir: m.runDir, report });
    else out(formatAb(report, argv.level));
    const pct = formatNumber(argv.threshold * 100);
    if (report.pass) {
      say(`ab: pass (no metric of B slower than A by more than ${pct}% with ${argv.level * 100}% confidence; ${report.rounds} rounds of ${report.blocks / report.rounds} side-by-side blocks, A asked first in ${report.aFirst})`);
      return EXIT.ok;
    }
    say(`ab: FAIL: ${report.regressions} of ${report.metrics.length} metrics of B slower than A by more than ${pct}% with ${argv.level * 100}% confidence`);
    return EXIT.failed;
  },
});
