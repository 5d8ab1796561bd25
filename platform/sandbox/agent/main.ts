/**
 * Entry point of a sandbox agent process. Connects to the frontend's Unix socket given on the command line,
 * announces itself, serves the app until told to shut down, and exits when the frontend goes away, so that no
 * sandbox outlives its platform.
 *
 * The cold path (docs/architecture.md#cold-path): the frontend leaves the app's spec in the sandbox folder
 * (SANDBOX_APP_FILE) before it creates the sandbox, so this entry knows the app as it starts. It dials back and
 * forks the pool's first runtime before it loads the rest of the agent (agent.js and the ASL engine, bundled into one
 * file by bundle.ts), deploys without waiting to be asked, and says `deployed` as soon as it has: runtime boot,
 * dial-back and agent load overlap, and no deploy round trip is left on the path. Without the file it waits for a
 * `deploy` message as before.
 */
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FrameChannel } from '../../bus/frames.js';
import { SANDBOX_APP_FILE, type AgentToFrontend, type FrontendToAgent, type SandboxAppSpec } from '../../protocol.js';
import type { RuntimeProcess } from './runtime-boot.js';
import type { Agent } from './agent.js';

const { values } = parseArgs({
  options: { socket: { type: 'string' }, 'sandbox-id': { type: 'string' } },
});
const socketPath = values.socket;
const sandboxId = values['sandbox-id'];
if (!socketPath || !sandboxId) {
  process.stderr.write('usage: agent --socket <path> --sandbox-id <id>\n');
  process.exit(2);
}

/** The app handed over at create time; read once, at boot (not on the bus's event loop), and removed at once. */
function appAtCreate(): SandboxAppSpec | null {
  const path = join(process.cwd(), SANDBOX_APP_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null; // none left: the frontend sends `deploy`
  }
  unlinkSync(path);
  return JSON.parse(text) as SandboxAppSpec;
}

/** esbuild's bundle of the agent (bundle.ts, made by `npm run build`) when there is one, else tsc's modules. */
const BUNDLED = existsSync(new URL('./agent.bundle.js', import.meta.url));

const app = appAtCreate();

let agent: Agent | null = null;
/** Messages that arrive while the agent module is still loading; none is lost. */
const beforeAgent: Array<{ header: FrontendToAgent; payload: Buffer | null }> = [];
let stopping = false;
const socket = connect(socketPath);
const channel = new FrameChannel<FrontendToAgent, AgentToFrontend>(
  socket,
  (frame) => (agent ? agent.handle(frame.header, frame.payload) : beforeAgent.push(frame)),
  { batch: true, onClose: () => void stop(0) },
);
// Sent now, written once connected: `ready` always precedes `deployed`.
channel.send({ t: 'ready', sandboxId, pid: process.pid });
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));

const { bootRuntime } = (await import(BUNDLED ? './runtime-boot.bundle.js' : './runtime-boot.js')) as typeof import('./runtime-boot.js');
// Forked first: its boot runs while this process loads the agent. Only when the app has a pool at all, so that a
// pool-less policy still boots every runtime for the invocation that needs it (the ablation stays honest).
const early: Promise<RuntimeProcess> | null = app && app.policy.poolSize > 0 ? bootRuntime(process.cwd()) : null;
early?.catch(() => undefined); // a failure is the pool's to report, once it adopts the boot

const { Agent: AgentClass } = (await import(BUNDLED ? './agent.bundle.js' : './agent.js')) as typeof import('./agent.js');
agent = new AgentClass(sandboxId, process.env.MFBENCH_SANDBOX_BACKEND ?? 'process', (m, payload) => void channel.send(m, payload), exit);
if (app) agent.deployAtCreate(app, early);
for (const frame of beforeAgent.splice(0)) agent.handle(frame.header, frame.payload);

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await agent?.shutdown();
  exit(code);
}

/** Sends what is batched (channel sends leave once per event-loop turn), then ends the process. */
function exit(code: number): void {
  channel.flush();
  process.exit(code);
}
