/**
 * `mfbench sessions …`: start a session, list an app's sessions, send to one and read what its functions sent back,
 * its state and records, and stop it (docs/sessions.md, docs/cli.md).
 */
import type { Argv } from 'yargs';
import type { SessionStartRequest, SessionState, SessionTarget } from '../../platform/sdk/types.js';
import { clientFrom, parseJson, readInput, type GlobalOptions } from '../lib/args.js';
import { defineCommand } from '../lib/command.js';
import { out, outJson, say } from '../lib/output.js';
import { formatTable } from '../lib/table.js';

const jsonOption = { type: 'boolean', default: false, describe: 'print only the result JSON on stdout' } as const;

function appAndId<T>(y: Argv<T>) {
  return y.positional('app', { type: 'string', demandOption: true }).positional('id', { type: 'string', demandOption: true }).option('json', jsonOption);
}

function describeSession(s: SessionState): string {
  const why = s.reason ? ` (${s.reason})` : '';
  return `session ${s.sessionId} of ${s.app}: ${s.status}${why}; ${s.messages.sent} messages sent, ${s.messages.delivered} read`;
}

function instancesTable(s: SessionState): string {
  return formatTable(
    ['instance', 'alias', 'status', 'pid', 'restarts'],
    s.instances.map((i) => [i.id, i.alias ?? '', i.status, i.pid ?? '', i.restarts]),
  );
}

const start = defineCommand({
  command: 'start <app>',
  describe: 'start a session: --input is {"functions": [{"function", "alias"?, "input"?, "count"?}], "policy"?: {...}}',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('app', { type: 'string', demandOption: true })
      .option('input', { type: 'string', describe: 'the start request as JSON text' })
      .option('input-file', { type: 'string', describe: 'read the start request from a file (- for stdin)' })
      .conflicts('input', 'input-file')
      .option('json', jsonOption),
  handler: async (argv) => {
    const state = await clientFrom(argv).startSession(argv.app, readInput(argv) as SessionStartRequest);
    if (argv.json) outJson(state);
    else {
      say(describeSession(state));
      out(instancesTable(state));
    }
  },
});

const list = defineCommand({
  command: 'list <app>',
  describe: "an app's sessions, running and ended",
  builder: (y: Argv<GlobalOptions>) => y.positional('app', { type: 'string', demandOption: true }).option('json', jsonOption),
  handler: async (argv) => {
    const sessions = await clientFrom(argv).listSessions(argv.app);
    if (argv.json) outJson({ sessions });
    else if (sessions.length === 0) say(`no sessions in ${argv.app}`);
    else out(formatTable(['session', 'status', 'instances', 'started', 'reason'], sessions.map((s) => [s.sessionId, s.status, s.instances.length, s.startedAt, s.reason ?? ''])));
  },
});

const state = defineCommand({
  command: 'state <app> <id>',
  describe: "a session's state and its instances",
  builder: (y: Argv<GlobalOptions>) => appAndId(y),
  handler: async (argv) => {
    const s = await clientFrom(argv).getSession(argv.app, argv.id);
    if (argv.json) outJson(s);
    else {
      say(describeSession(s));
      out(instancesTable(s));
    }
  },
});

const send = defineCommand({
  command: 'send <app> <id> <message>',
  describe: 'send a JSON message to one instance (--to id or alias), a function (--to-function), or the whole session',
  builder: (y: Argv<GlobalOptions>) =>
    appAndId(y)
      .positional('message', { type: 'string', demandOption: true, describe: 'the message as JSON text' })
      .option('to', { type: 'string', describe: 'an instance id or alias' })
      .option('to-function', { type: 'string', describe: 'every instance of this function' })
      .conflicts('to', 'to-function'),
  handler: async (argv) => {
    const target: SessionTarget | undefined = argv.to !== undefined ? argv.to : argv.toFunction !== undefined ? { function: argv.toFunction } : undefined;
    await clientFrom(argv).sendToSession(argv.app, argv.id, parseJson(argv.message, 'the message'), target);
    if (argv.json) outJson({ accepted: true });
    else say('sent');
  },
});

const receive = defineCommand({
  command: 'receive <app> <id>',
  describe: 'print the messages the session\'s functions sent to "client" (one JSON line each)',
  builder: (y: Argv<GlobalOptions>) =>
    appAndId(y)
      .option('count', { type: 'number', default: 100, describe: 'at most this many' })
      .option('timeout-ms', { type: 'number', default: 0, describe: 'wait this long for one when none is waiting' }),
  handler: async (argv) => {
    const messages = await clientFrom(argv).receiveFromSession(argv.app, argv.id, { count: argv.count, timeoutMs: argv.timeoutMs });
    if (argv.json) outJson({ messages });
    else if (messages.length === 0) say('no messages');
    else for (const m of messages) out(JSON.stringify(m));
  },
});

const records = defineCommand({
  command: 'records <app> <id>',
  describe: "a session's records: messages, pipes, instances started, failed, restarted",
  builder: (y: Argv<GlobalOptions>) => appAndId(y),
  handler: async (argv) => {
    const items = await clientFrom(argv).sessionRecords(argv.app, argv.id);
    if (argv.json) outJson({ records: items });
    else for (const r of items) out(JSON.stringify(r));
  },
});

const stop = defineCommand({
  command: 'stop <app> <id>',
  describe: 'stop a session: its instances are told, then killed after a grace period',
  builder: (y: Argv<GlobalOptions>) => appAndId(y),
  handler: async (argv) => {
    const s = await clientFrom(argv).stopSession(argv.app, argv.id);
    if (argv.json) outJson(s);
    else say(describeSession(s));
  },
});

export const sessionsCommand = {
  command: 'sessions',
  describe: 'long-running session functions: start, list, state, send, receive, records, stop',
  builder: (y: Argv<GlobalOptions>) => y.command(start).command(list).command(state).command(send).command(receive).command(records).command(stop).demandCommand(1, 'name a sessions command (mfbench sessions --help)'),
  handler: () => undefined,
};
