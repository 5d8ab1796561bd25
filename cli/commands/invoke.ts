/** `mfbench invoke <app> <workflow>` and `mfbench invoke-function <app> <fn>`. */
import { performance } from 'node:perf_hooks';
import type { Argv } from 'yargs';
import type { Execution, FunctionInvocation } from '../../platform/sdk/types.js';
import { clientFrom, readInput, type GlobalOptions } from '../lib/args.js';
import { defineCommand } from '../lib/command.js';
import { describeExecution } from '../lib/describe.js';
import { EXIT, out, outJson, say } from '../lib/output.js';

function withInputOptions<T>(y: Argv<T>) {
  return y
    .option('input', { type: 'string', describe: 'the input event as JSON text (default {})' })
    .option('input-file', { type: 'string', describe: 'read the input JSON from a file (- for stdin)' })
    .conflicts('input', 'input-file')
    .option('json', { type: 'boolean', default: false, describe: 'print only {executionId, status, output, error, cause[, records]} on stdout' })
    .option('records', { type: 'boolean', default: false, describe: 'include the invocation records in the --json output' });
}

/** The --json result: what scripts (and the ASL conformance kit) read. */
export function executionJson(e: Execution | FunctionInvocation, withRecords: boolean): Record<string, unknown> {
  const result: Record<string, unknown> = {
    executionId: e.executionId,
    status: e.status,
    output: e.status === 'SUCCEEDED' ? (e.output ?? null) : null,
    error: e.error ?? null,
    cause: e.cause ?? null,
  };
  if (withRecords) result.records = e.records ?? [];
  return result;
}

/** Prints an execution the way invoke and invoke-function do; returns the exit code (1 when FAILED). */
function report(e: Execution | FunctionInvocation, clientMs: number, argv: { json: boolean; records: boolean }): number {
  if (argv.json) {
    outJson(executionJson(e, argv.records));
  } else {
    say(describeExecution(e, clientMs));
    if (e.status === 'SUCCEEDED') out(JSON.stringify(e.output ?? null, null, 2));
  }
  return e.status === 'SUCCEEDED' ? EXIT.ok : EXIT.failed;
}

export const invokeCommand = defineCommand({
  command: 'invoke <app> <workflow>',
  describe: 'execute a workflow; exit 0 when it SUCCEEDED, 1 when it FAILED',
  builder: (y: Argv<GlobalOptions>) =>
    withInputOptions(
      y
        .positional('app', { type: 'string', demandOption: true })
        .positional('workflow', { type: 'string', demandOption: true })
        .option('async', { type: 'boolean', default: false, describe: 'start the execution and print its id at once' }),
    ),
  handler: async (argv) => {
    const input = readInput(argv);
    const client = clientFrom(argv);
    if (argv.async) {
      const started = await client.execute(argv.app, argv.workflow, input, { mode: 'async' });
      if (argv.json) outJson(started);
      else {
        say(`started execution ${started.executionId} of ${argv.app}/${argv.workflow}; see it with: mfbench executions ${started.executionId}`);
        out(started.executionId);
      }
      return EXIT.ok;
    }
    // Without --json the records feed the human summary (temperatures); with --json only --records asks for them.
    const records = argv.json ? argv.records : true;
    const t0 = performance.now();
    const execution = await client.execute(argv.app, argv.workflow, input, { records });
    return report(execution, performance.now() - t0, argv);
  },
});

export const invokeFunctionCommand = defineCommand({
  command: 'invoke-function <app> <fn>',
  describe: 'invoke one function of an app directly with the input as its event',
  builder: (y: Argv<GlobalOptions>) =>
    withInputOptions(y.positional('app', { type: 'string', demandOption: true }).positional('fn', { type: 'string', demandOption: true })),
  handler: async (argv) => {
    const input = readInput(argv);
    const t0 = performance.now();
    const answer = await clientFrom(argv).invokeFunction(argv.app, argv.fn, input);
    return report(answer, performance.now() - t0, argv);
  },
});
