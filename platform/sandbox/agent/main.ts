/**
 * Entry point of a sandbox agent process. Connects to the frontend's Unix socket given on the command line,
 * announces itself, serves the app until told to shut down, and exits when the frontend goes away, so that no
 * sandbox outlives its platform.
 */
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { FrameChannel } from '../../bus/frames.js';
import type { AgentToFrontend, FrontendToAgent } from '../../protocol.js';
import { Agent } from './agent.js';

const { values } = parseArgs({
  options: { socket: { type: 'string' }, 'sandbox-id': { type: 'string' } },
});
const socketPath = values.socket;
const sandboxId = values['sandbox-id'];
if (!socketPath || !sandboxId) {
  process.stderr.write('usage: agent --socket <path> --sandbox-id <id>\n');
  process.exit(2);
}

let agent: Agent | null = null;
const socket = connect(socketPath);
const channel = new FrameChannel<FrontendToAgent, AgentToFrontend>(socket, ({ header, payload }) => agent?.handle(header, payload), {
  batch: true,
  onClose: () => void stop(0),
});
agent = new Agent(sandboxId, process.env.MFBENCH_SANDBOX_BACKEND ?? 'process', (m, payload) => void channel.send(m, payload), exit);
socket.once('connect', () => channel.send({ t: 'ready', sandboxId, pid: process.pid }));

let stopping = false;
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
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
