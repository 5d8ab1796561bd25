/**
 * `mfbench compare <baseline-run> <new-run>`: the regression gate (docs/statistics.md#the-regression-gate). The table
 * (or, with --json, the JSON report) is the result, on stdout; a one-line verdict goes to stderr. Exit 1 only when
 * some series is slower beyond the threshold with statistical significance; 0 otherwise (including 'insufficient data'
 * and 'descriptive': a series its experiment did not size for a verdict, docs/statistics.md#headline-and-descriptive-series).
 */
import type { Argv } from 'yargs';
import { COMPARE_DEFAULTS, compareRuns, type ComparisonReport, type SeriesComparison } from '../../report/compare/compare.js';
import { MfError } from '../../platform/errors.js';
import type { GlobalOptions } from '../lib/args.js';
import { defineCommand } from '../lib/command.js';
import { EXIT, out, outJson, say } from '../lib/output.js';
import { formatNumber, formatTable } from '../lib/table.js';

function ci(s: SeriesComparison): string {
  return s.ci === null ? '-' : `[${s.ci.lower.toFixed(3)}, ${s.ci.upper.toFixed(3)}]`;
}

/** The comparison as a terminal table, one row per series. */
export function formatComparison(r: ComparisonReport): string {
  return formatTable(
    ['experiment', 'platform', 'metric', 'temperature', 'labels', 'n base', 'n new', 'fail base', 'fail new', 'median base', 'median new', 'ratio', `${r.options.level * 100}% CI`, 'verdict', 'note'],
    r.series.map((s) => [
      s.key.experiment,
      s.key.platform,
      s.key.metric,
      s.key.temperature || '-',
      s.key.labels || '-',
      s.baseline.n,
      s.candidate.n,
      s.baseline.failures,
      s.candidate.failures,
      s.baseline.median,
      s.candidate.median,
      s.ratio === null ? null : Number(s.ratio.toFixed(3)),
      ci(s),
      s.verdict,
      s.note,
    ]),
  );
}

/** Two stored runs were measured at different times: say so, and what it means for the verdict. */
export function notInterleaved(r: ComparisonReport): string {
  return (
    `note: the two runs were not interleaved (baseline started ${r.baseline.startedAt}, new ${r.candidate.startedAt}), so each met ` +
    `the machine as it was then: on a shared or busy machine a difference may be the load's as much as the code's. ` +
    `To compare two commits on the same machine at the same moments, use \`mfbench ab <ref-a> <ref-b>\` (docs/statistics.md#the-ab-gate).`
  );
}

function numberOption(describe: string, dflt: number) {
  return { type: 'number', default: dflt, describe } as const;
}

export const compareCommand = defineCommand({
  command: 'compare <baseline-run> <new-run>',
  describe: 'compare two run directories metric by metric; exit 1 on a significant slowdown beyond the threshold',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('baseline-run', { type: 'string', demandOption: true, describe: 'the baseline run directory (e.g. results/baseline/<name>)' })
      .positional('new-run', { type: 'string', demandOption: true, describe: 'the run directory to check' })
      .option('threshold', numberOption('relative slowdown that fails the gate (0.10 = 10%)', COMPARE_DEFAULTS.threshold))
      .option('level', numberOption('confidence level of the ratio interval', COMPARE_DEFAULTS.level))
      .option('resamples', numberOption('bootstrap resamples', COMPARE_DEFAULTS.resamples))
      .option('seed', numberOption('bootstrap seed', COMPARE_DEFAULTS.seed))
      .option('min-samples', numberOption('fewest ok samples per side for a verdict', COMPARE_DEFAULTS.minSamples))
      .option('json', { type: 'boolean', default: false, describe: 'print only the JSON report on stdout' }),
  handler: async (argv) => {
    const options = { threshold: argv.threshold, level: argv.level, resamples: argv.resamples, seed: argv.seed, minSamples: argv.minSamples };
    let report: ComparisonReport;
    try {
      report = await compareRuns(argv.baselineRun, argv.newRun, options);
    } catch (err) {
      if (err instanceof RangeError) throw new MfError('MF_CONFIG_INVALID', err.message, { options });
      throw err;
    }
    if (argv.json) outJson(report);
    else if (report.series.length === 0) say('no metric series in either run');
    else out(formatComparison(report));
    say(notInterleaved(report));
    const insufficient = report.series.filter((s) => s.verdict === 'insufficient data').length;
    const descriptive = report.series.filter((s) => s.verdict === 'descriptive').length;
    const headline = report.series.filter((s) => s.headline).length;
    const pct = formatNumber(report.options.threshold * 100);
    if (report.pass) {
      say(`compare: pass (no series slower by more than ${pct}% with ${report.options.level * 100}% confidence; ${report.series.length} series: ${headline} headline, ${insufficient} of them with insufficient data; ${descriptive} descriptive, too few samples for a verdict by design)`);
      return EXIT.ok;
    }
    say(`compare: FAIL: ${report.regressions} of ${report.series.length} series slower by more than ${pct}% with ${report.options.level * 100}% confidence`);
    return EXIT.failed;
  },
});
