#!/usr/bin/env node
/**
 * mfbench: the command line of the MicroFunctions testbed (docs/cli.md). Results go to stdout (only JSON with
 * --json), everything for a person to stderr. Exit codes: 0 ok, 1 failure (or a FAILED execution), 2 usage error.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { abCommand } from './commands/ab.js';
import { appsCommand, deleteCommand, executionsCommand, logsCommand, stopCommand } from './commands/apps.js';
import { compareCommand } from './commands/compare.js';
import { costModelCommand } from './commands/cost-model.js';
import { demoCommand } from './commands/demo.js';
import { deployCommand } from './commands/deploy.js';
import { doctorCommand } from './commands/doctor.js';
import { historyCommand } from './commands/history.js';
import { hostCommand } from './commands/host.js';
import { imagesCommand } from './commands/images.js';
import { importSfnCommand } from './commands/import-sfn.js';
import { invokeCommand, invokeFunctionCommand } from './commands/invoke.js';
import { platformCommand } from './commands/platform.js';
import { reportCommand } from './commands/report.js';
import { runCommand } from './commands/run.js';
import { sessionsCommand } from './commands/sessions.js';
import { validateCommand } from './commands/validate.js';
import { DEFAULT_URL } from './lib/args.js';
import { EXIT, reportError, say, UsageError } from './lib/output.js';

/** Thrown by the fail handler once the usage error is printed. */
const USAGE_REPORTED = new Error('usage error reported');

export async function main(args: string[]): Promise<void> {
  const cli = yargs(args)
    .scriptName('mfbench')
    .usage('$0 <command> [options]')
    .option('url', {
      type: 'string',
      global: true,
      describe: 'platform URL (env MFBENCH_URL)',
      defaultDescription: `$MFBENCH_URL or ${DEFAULT_URL}`,
    })
    .option('token', {
      type: 'string',
      global: true,
      describe: 'bearer token (env MFBENCH_TOKEN); for platform start: the token to require',
      defaultDescription: '$MFBENCH_TOKEN',
    })
    .command(platformCommand)
    .command(hostCommand)
    .command(deployCommand)
    .command(importSfnCommand)
    .command(invokeCommand)
    .command(invokeFunctionCommand)
    .command(appsCommand)
    .command(deleteCommand)
    .command(logsCommand)
    .command(executionsCommand)
    .command(stopCommand)
    .command(sessionsCommand)
    .command(doctorCommand)
    .command(imagesCommand)
    .command(demoCommand)
    .command(runCommand)
    .command(reportCommand)
    .command(compareCommand)
    .command(abCommand)
    .command(costModelCommand)
    .command(historyCommand)
    .command(validateCommand)
    .demandCommand(1, 'name a command (mfbench --help lists them)')
    .strict()
    .help()
    .alias('help', 'h')
    .version()
    .wrap(Math.min(120, process.stderr.columns || 100))
    .fail((msg: string | null, err: Error | null, y) => {
      if (err) {
        // An error yargs itself caught (handlers catch their own): report it as such.
        process.exitCode = reportError(err);
        return;
      }
      y.showHelp((s: string) => say(s));
      say('');
      process.exitCode = reportError(new UsageError(msg ?? 'bad usage'));
      // Throwing stops yargs here: with exitProcess(false) it would otherwise go on and run the handler.
      throw USAGE_REPORTED;
    })
    .exitProcess(false);
  try {
    await cli.parseAsync();
  } catch (err) {
    if (err !== USAGE_REPORTED) process.exitCode = reportError(err);
  }
  if (process.exitCode === undefined) process.exitCode = EXIT.ok;
}

await main(hideBin(process.argv));
