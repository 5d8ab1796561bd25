/**
 * `mfbench cost-model [--from <spiky-run>]`: the cost model as a processing step. (a) The public-cloud comparison
 * of the NFV paper's Figure 4 from the dated, sourced price tables in experiments/data/prices; (b) with --from, the
 * self-hosted cost of each preset in a stored spiky run. Writes CSV, the figure and cost-model.json (which price
 * tables, by hash, and which run the numbers came from) into the run directory, or --out.
 */
import type { Argv } from 'yargs';
import type { GlobalOptions } from '../lib/args.js';
import { defineCommand } from '../lib/command.js';
import { out, outJson, say } from '../lib/output.js';

export const costModelCommand = defineCommand({
  command: 'cost-model',
  describe: 'price serverless against VMs (NFV paper, Fig. 4) and, with --from, each preset of a stored spiky run',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .option('from', { type: 'string', describe: 'a run directory holding a spiky run (for the self-hosted model)' })
      .option('out', { type: 'string', describe: 'where to write (default: the --from run directory, else results/cost-model-<time>)' })
      .option('json', { type: 'boolean', default: false, describe: 'print only the result JSON on stdout' }),
  handler: async (argv) => {
    const { runCostModel } = await import('../../experiments/cost-model.js'); // vega and sharp load only here
    const r = await runCostModel({ ...(argv.from !== undefined ? { from: argv.from } : {}), ...(argv.out !== undefined ? { out: argv.out } : {}) });
    if (argv.json) outJson(r);
    else {
      for (const n of r.notes) say(n);
      out(r.png);
    }
  },
});
