/** `mfbench apps`, `mfbench apps delete <name>` (also `mfbench delete <name>`), `mfbench logs`, `mfbench executions`. */
import type { Argv } from 'yargs';
import { clientFrom, type GlobalOptions } from '../lib/args.js';
import { defineCommand } from '../lib/command.js';
import { describeExecution, formatLogLine } from '../lib/describe.js';
import { out, outJson, say } from '../lib/output.js';
import { formatTable } from '../lib/table.js';

const jsonOption = { type: 'boolean', default: false, describe: 'print only the result JSON on stdout' } as const;

export const deleteCommand = defineCommand({
  command: 'delete <name>',
  describe: "delete an app (stops its sandboxes)",
  builder: (y: Argv<GlobalOptions>) => y.positional('name', { type: 'string', demandOption: true }).option('json', jsonOption),
  handler: async (argv) => {
    const answer = await clientFrom(argv).deleteApp(argv.name);
    if (argv.json) outJson(answer);
    else say(`deleted ${answer.deleted}`);
  },
});

const list = defineCommand({
  command: '$0',
  describe: 'list the deployed apps',
  builder: (y: Argv<GlobalOptions>) => y.option('json', jsonOption),
  handler: async (argv) => {
    const apps = await clientFrom(argv).listApps();
    if (argv.json) {
      outJson({ apps });
      return;
    }
    if (apps.length === 0) {
      say('no apps deployed');
      return;
    }
    out(
      formatTable(
        ['app', 'functions', 'workflows', 'sandboxes', 'deployed'],
        apps.map((a) => [
          a.name,
          a.functions.length,
          a.workflows.join(','),
          a.sandboxes.map((s) => `${s.id} (${s.backend}, pid ${s.pid ?? s.agentPid ?? '?'})`).join(' ') || 'none',
          a.deployedAt,
        ]),
      ),
    );
  },
});

export const appsCommand = {
  command: 'apps',
  describe: 'list the deployed apps (apps delete <name> deletes one)',
  builder: (y: Argv<GlobalOptions>) => y.command(list).command(deleteCommand),
  handler: () => undefined,
};

export const logsCommand = defineCommand({
  command: 'logs <app>',
  describe: "an app's function log lines, oldest first",
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('app', { type: 'string', demandOption: true })
      .option('execution', { type: 'string', describe: 'only the lines of this execution' })
      .option('limit', { type: 'number', describe: 'only the newest N lines (platform default 1000)' })
      .option('json', jsonOption),
  handler: async (argv) => {
    const logs = await clientFrom(argv).logs(argv.app, {
      ...(argv.execution !== undefined ? { execution: argv.execution } : {}),
      ...(argv.limit !== undefined ? { limit: argv.limit } : {}),
    });
    if (argv.json) outJson({ logs });
    else if (logs.length === 0) say(`no log lines for ${argv.app}${argv.execution !== undefined ? ` execution ${argv.execution}` : ''}`);
    else for (const line of logs) out(formatLogLine(line));
  },
});

export const executionsCommand = defineCommand({
  command: 'executions <id>',
  describe: 'one execution (status, output, records), or its state transitions with --history',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('id', { type: 'string', demandOption: true })
      .option('history', { type: 'boolean', default: false, describe: 'print the state transitions instead' })
      .option('json', jsonOption),
  handler: async (argv) => {
    const client = clientFrom(argv);
    if (argv.history) {
      const history = await client.getHistory(argv.id);
      if (argv.json) outJson({ history });
      else for (const ev of history) out(`${new Date(ev.t).toISOString()} ${ev.type}${ev.state !== undefined ? ` ${ev.state}` : ''}`);
      return;
    }
    const execution = await client.getExecution(argv.id);
    if (argv.json) outJson(execution);
    else {
      say(describeExecution(execution, null));
      out(JSON.stringify(execution, null, 2));
    }
  },
});

export const stopCommand = defineCommand({
  command: 'stop <id>',
  describe: 'stop a running execution (StopExecution): it ends ABORTED, with an optional error and cause',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('id', { type: 'string', demandOption: true })
      .option('error', { type: 'string', describe: 'the error code to record (up to 256 characters)' })
      .option('cause', { type: 'string', describe: 'a longer explanation to record (up to 32,768 characters)' })
      .option('json', jsonOption),
  handler: async (argv) => {
    const execution = await clientFrom(argv).stopExecution(argv.id, {
      ...(argv.error !== undefined ? { error: argv.error } : {}),
      ...(argv.cause !== undefined ? { cause: argv.cause } : {}),
    });
    if (argv.json) outJson(execution);
    else say(describeExecution(execution, null));
  },
});
