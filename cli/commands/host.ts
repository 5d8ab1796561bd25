/**
 * `mfbench host start --broker nats://…`: a host agent in the foreground (docs/distributed.md, "Host agents and
 * frontends"). It owns sandboxes and runs the executions frontends (`platform start --hosts remote`) place on it.
 * The first stdout line is exactly the JSON {"hostId": "...", "pid": n}; human lines go to stderr. SIGINT / SIGTERM
 * leave the registry and close it cleanly (exit 0); a host id already alive on the broker exits 1 (MF_HOST_DUPLICATE).
 */
import type { Argv } from 'yargs';
import { resolveConfig } from '../../platform/config.js';
import type { GlobalOptions } from '../lib/args.js';
import { defineCommand } from '../lib/command.js';
import { EXIT, outJson, reportError, say } from '../lib/output.js';
import { SERVED_DEFAULTS, servedUserConfig, withConfigOptions } from './platform.js';

const start = defineCommand({
  command: 'start',
  describe: 'start a host agent in the foreground (first stdout line: {"hostId","pid"}); needs --broker',
  builder: (y: Argv<GlobalOptions>) =>
    withConfigOptions(y, SERVED_DEFAULTS)
      .option('host-id', { type: 'string', describe: "this host's id on the broker: letters, digits, '-'", defaultDescription: 'the machine name' })
      .option('capacity', { type: 'number', describe: 'executions this host runs at once (more wait on its work topic); a running session holds one', default: 16 })
      .option('hop-peer', { type: 'string', describe: "for experiments, busMode global: the host id that runs every second Task hop of this host's executions (docs/distributed.md#hops-across-hosts)" })
      .option('pipe-address', { type: 'string', describe: "the address this host takes pipes from other hosts' sessions on (TCP, advertised in the host registry)", default: '127.0.0.1' })
      .option('pipe-port', { type: 'number', describe: 'the port of that listener (0: any free port)', default: 0 }),
  handler: async (argv) => {
    const user = servedUserConfig(argv as unknown as Record<string, unknown>);
    const config = resolveConfig(user); // bad options fail before anything starts (exit 2)
    let wake: (() => void) | null = null;
    let why: string | null = null;
    const stop = (reason: string): void => {
      if (why !== null) process.exit(EXIT.failed); // a second signal: no clean close
      why = reason;
      wake?.();
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));

    const { startHostAgent } = await import('../../platform/frontend/hosts/agent.js');
    const a = argv as unknown as { hostId?: string; capacity: number; hopPeer?: string; pipeAddress: string; pipePort: number };
    const agent = await startHostAgent(user, {
      ...(a.hostId !== undefined ? { hostId: a.hostId } : {}),
      capacity: a.capacity,
      ...(a.hopPeer !== undefined ? { hopPeer: a.hopPeer } : {}),
      pipeAddress: a.pipeAddress,
      pipePort: a.pipePort,
    });
    outJson({ hostId: agent.hostId, pid: process.pid });
    say(`host agent "${agent.hostId}" on ${config.broker}: capacity ${agent.capacity}, backend ${config.backend}, data dir ${config.dataDir}`);
    let lost = false;
    void agent.lost.then((reason) => {
      lost = true;
      stop(`its registration was lost (${reason})`);
    });
    if (why === null) await new Promise<void>((resolve) => (wake = resolve));
    say(`${why}: stopping the host agent`);
    try {
      await agent.close();
    } catch (err) {
      process.exit(reportError(err));
    }
    process.exit(lost ? EXIT.failed : EXIT.ok);
  },
});

export const hostCommand = {
  command: 'host <action>',
  describe: 'run a host agent that owns sandboxes for frontends on a broker (host start)',
  builder: (y: Argv<GlobalOptions>) => y.command(start).demandCommand(1, 'name an action: start'),
  handler: () => undefined,
};
