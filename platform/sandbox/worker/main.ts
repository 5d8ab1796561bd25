/**
 * The worker process: one OS process that runs one function's code (SAND's per-function process inside an
 * app's sandbox). Started by the sandbox agent with child_process.fork; its control messages (AgentToWorker /
 * WorkerToAgent, platform/protocol.ts) travel over Node's IPC channel, its invocations and results as frames on the
 * local bus's pipe (serve.ts).
 *
 * Boot is what a pre-booted pool entry pays, so this entry file imports nothing: it reports `booted` first and
 * only then pulls in the runtime (./serve.js), while the process waits in the pool. Messages that arrive before
 * that import finishes are queued, never lost.
 */
import type { AgentToWorker } from '../../protocol.js';

if (typeof process.send !== 'function') {
  process.stderr.write('mfbench worker: must be started by the sandbox agent with child_process.fork (no IPC channel)\n');
  process.exit(2);
}

let dispatch: ((m: AgentToWorker) => void) | undefined;
const early: AgentToWorker[] = [];

process.on('message', (m: AgentToWorker) => {
  if (dispatch !== undefined) dispatch(m);
  else early.push(m);
});
// The agent died or let go of us: leave no orphan workers behind.
process.on('disconnect', () => process.exit(0));

// The agent may already be gone (a sandbox torn down while its pool was booting): then just leave.
if (!process.connected) process.exit(0);
process.send({ t: 'booted' }, undefined, undefined, (err) => {
  if (err) process.exit(0);
});

import('./serve.js').then(
  (serve) => {
    const d = serve.startWorker();
    dispatch = d;
    for (const m of early.splice(0)) d(m);
  },
  (err: unknown) => {
    process.stderr.write(`mfbench worker: cannot load the runtime: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
