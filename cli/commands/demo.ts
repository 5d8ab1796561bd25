/**
 * `mfbench demo` (what `npm start` runs): starts MicroFunctions in this process on a free port, deploys hello and
 * noop-chain through the SDK, executes each once (the first, cold execution) and then many times warm, checks every
 * output, prints a latency table on stderr and one JSON summary line on stdout, and closes the platform.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Argv } from 'yargs';
import { MicroFunctionsClient } from '../../platform/sdk/client.js';
import { getWorkload, type AnyWorkload, type WorkloadParams } from '../../workloads/index.js';
import type { GlobalOptions } from '../lib/args.js';
import { defineCommand } from '../lib/command.js';
import { EXIT, outJson, say } from '../lib/output.js';
import { formatDemo } from '../demo/format.js';
import { measureWorkload, type DemoSample } from '../demo/measure.js';
import { summarize } from '../demo/summary.js';
import { userConfigFromArgv, withConfigOptions } from './platform.js';

export const demoCommand = defineCommand({
  command: 'demo',
  describe: 'start the platform in-process, deploy and run hello and noop-chain, print a latency table (npm start)',
  builder: (y: Argv<GlobalOptions>) =>
    withConfigOptions(
      y
        .option('executions', { type: 'number', default: 200, describe: 'warm executions per workload (after the first)' })
        .option('length', { type: 'number', default: 5, describe: 'noop-chain length' })
        .option('size', { type: 'string', default: 'small', describe: 'input size of every workload' })
        .option('seed', { type: 'number', default: 1, describe: 'seed of the input generators' }),
      { port: 0 },
    ),
  handler: async (argv) => {
    const started = performance.now();
    const dataDir = mkdtempSync(join(tmpdir(), 'mfbench-demo-'));
    const user = userConfigFromArgv(argv as unknown as Record<string, unknown>, { port: 0, dataDir });
    // Loaded here, not at the top: the client commands should not pay for (or depend on) loading the platform.
    const { startPlatform } = await import('../../platform/frontend/index.js');
    const platform = await startPlatform(user);
    const samples: DemoSample[] = [];
    try {
      say(`MicroFunctions running in-process at ${platform.url} (data dir ${platform.dataDir})`);
      const client = new MicroFunctionsClient({ url: platform.url, token: platform.token });
      const plan: Array<{ workload: AnyWorkload; params: WorkloadParams }> = [
        { workload: getWorkload('hello'), params: {} },
        { workload: getWorkload('noop-chain'), params: { length: argv.length } },
      ];
      for (const { workload, params } of plan) {
        const manifest = workload.app(params);
        await client.deploy(manifest);
        say(`deployed ${manifest.name} (${manifest.functions.length} function${manifest.functions.length === 1 ? '' : 's'}); running 1 + ${argv.executions} executions`);
        samples.push(...(await measureWorkload(client, workload, { app: manifest.name, size: argv.size, seed: argv.seed, warm: argv.executions })));
      }
    } finally {
      await platform.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
    const summaries = summarize(samples);
    const ok = summaries.every((s) => s.failed === 0 && s.errors === 0 && s.invalid === 0);
    say('');
    say(formatDemo(summaries));
    say('');
    say(ok ? 'every output was checked and valid' : 'SOME EXECUTIONS FAILED OR GAVE WRONG OUTPUTS (see above)');
    outJson({ ok, elapsedMs: Math.round(performance.now() - started), workloads: Object.fromEntries(summaries.map((s) => [s.workload, s])) });
    return ok ? EXIT.ok : EXIT.failed;
  },
});
