/**
 * `mfbench history <runs-dir> --metric …`: a metric's median per stored run, oldest first, with each run's commit.
 * The table (or --json) is the result, on stdout; skipped directories are listed on stderr. `--out file.svg|png`
 * also draws the chart (report/charts/specs/history.ts), rendered like every other figure.
 */
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Argv } from 'yargs';
import { historyOf, type History } from '../../report/compare/history.js';
import type { GlobalOptions } from '../lib/args.js';
import { defineCommand } from '../lib/command.js';
import { MfError } from '../../platform/errors.js';
import { out, outJson, say, UsageError } from '../lib/output.js';
import { formatTable } from '../lib/table.js';

export function formatHistory(h: History): string {
  return formatTable(
    ['started', 'run', 'commit', 'experiment', 'platform', 'temperature', 'labels', 'n', 'failures', 'median', 'CI low', 'CI high'],
    h.points.map((p) => [
      p.startedAt,
      p.runId,
      p.commit === null ? '-' : `${p.commit.slice(0, 10)}${p.dirty === true ? '+dirty' : ''}`,
      p.key.experiment,
      p.key.platform,
      p.key.temperature || '-',
      p.key.labels || '-',
      p.n,
      p.failures,
      p.median,
      p.ci?.lower ?? null,
      p.ci?.upper ?? null,
    ]),
  );
}

/** Renders the history chart to `file` (.svg or .png, by its extension). */
export async function writeHistoryChart(h: History, file: string): Promise<void> {
  // Charting loads vega and sharp: only when a chart is asked for.
  const [{ renderSpec }, { historySpec }] = await Promise.all([import('../../report/charts/render.js'), import('../../report/charts/specs/history.js')]);
  const rendered = await renderSpec(historySpec(h));
  await writeFile(file, extname(file).toLowerCase() === '.png' ? rendered.png : rendered.svg);
}

export const historyCommand = defineCommand({
  command: 'history <runs-dir>',
  describe: "a metric's median in every stored run, by run start time, with the git commit",
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('runs-dir', { type: 'string', demandOption: true, describe: 'a folder of run directories (e.g. results/runs)' })
      .option('metric', { type: 'string', demandOption: true, describe: 'the metric, e.g. client_latency_ms' })
      .option('experiment', { type: 'string', describe: 'only this experiment' })
      .option('platform', { type: 'string', describe: 'only this platform' })
      .option('temperature', { type: 'string', describe: 'only this temperature' })
      .option('out', { type: 'string', describe: 'also write the chart: file.svg or file.png (the PNG at 2x the SVG size)' })
      .option('json', { type: 'boolean', default: false, describe: 'print only the JSON result on stdout' }),
  handler: async (argv) => {
    if (argv.out !== undefined && !['.svg', '.png'].includes(extname(argv.out).toLowerCase())) {
      throw new UsageError(`--out must name a .svg or .png file, got "${argv.out}"`, { option: 'out' });
    }
    const h = await historyOf(argv.runsDir, {
      metric: argv.metric,
      ...(argv.experiment !== undefined ? { experiment: argv.experiment } : {}),
      ...(argv.platform !== undefined ? { platform: argv.platform } : {}),
      ...(argv.temperature !== undefined ? { temperature: argv.temperature } : {}),
    });
    if (argv.json) outJson(h);
    else if (h.points.length === 0) say(`no samples of ${argv.metric} in the runs under ${argv.runsDir}`);
    else out(formatHistory(h));
    if (argv.out !== undefined) {
      if (h.points.every((p) => p.median === null)) throw new MfError('MF_BAD_REQUEST', `nothing to chart: no run under ${argv.runsDir} has a sample of ${argv.metric}`, { metric: argv.metric });
      await writeHistoryChart(h, argv.out);
      say(`chart: ${argv.out}`);
    }
    if (!argv.json && h.skipped.length > 0) {
      say(`skipped ${h.skipped.length} director${h.skipped.length === 1 ? 'y' : 'ies'} that are not runs with a metric stream:`);
      for (const s of h.skipped) say(`  ${s.dir}: ${s.reason}`);
    }
  },
});
