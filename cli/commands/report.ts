/**
 * `mfbench report <run-dir>`: the processing step alone. Regenerates the flat metric stream, CSV, summaries, figures
 * (vega-lite spec, SVG, PNG) and the HTML report of a run from its stored raw records, without rerunning anything.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { DEFAULT_RESULTS } from '../../experiments/runner/runner.js';
import type { GlobalOptions } from '../lib/args.js';
import { defineCommand } from '../lib/command.js';
import { out, outJson, say } from '../lib/output.js';

export const reportCommand = defineCommand({
  command: 'report <run-dir>',
  describe: 'regenerate a run\'s CSV, summaries, figures and HTML report from its stored records',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('run-dir', { type: 'string', demandOption: true, describe: 'a run directory, or a run id under results/runs' })
      .option('json', { type: 'boolean', default: false, describe: 'print only {runDir, report, figures, csv, summaries} as JSON on stdout' }),
  handler: async (argv) => {
    const given = argv.runDir;
    const dir = existsSync(given) ? resolve(given) : existsSync(join(DEFAULT_RESULTS(), given)) ? join(DEFAULT_RESULTS(), given) : resolve(given);
    // vega and sharp load only here
    const [{ processRun }, { findExperiment, RUN_STEPS }] = await Promise.all([import('../../report/process.js'), import('../../experiments/runner/registry.js')]);
    const result = await processRun(dir, findExperiment, RUN_STEPS);
    if (argv.json) outJson({ runDir: dir, report: result.report, figures: result.figures, csv: result.csv, summaries: result.summaries });
    else {
      say(`${result.figures.length} figure(s), ${result.csv.length} CSV file(s) regenerated in ${dir}`);
      out(result.report);
    }
  },
});
