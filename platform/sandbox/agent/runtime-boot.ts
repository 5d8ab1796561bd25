/**
 * Booting one runtime process (a worker not yet specialised to a function). Its own module, importing only what a
 * boot needs, so that the agent's entry can fork the sandbox's first runtime before it loads the rest of the agent:
 * the runtime's boot then overlaps the agent's own (docs/architecture.md#cold-path).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { now } from '../../clock.js';
import { MfError } from '../../errors.js';
import type { WorkerToAgent } from '../../protocol.js';

const WORKER_MAIN = fileURLToPath(new URL('../worker/main.js', import.meta.url));

/** A booted runtime process, specialised or not. */
export interface RuntimeProcess {
  child: ChildProcess;
  /** Milliseconds from fork to 'booted'. */
  bootMs: number;
}

/** Forks a runtime process in `cwd`; resolves when it reports 'booted', rejects (MF_WORKER_EXITED) if it exits first. */
export function bootRuntime(cwd: string): Promise<RuntimeProcess> {
  const started = now();
  const child = fork(WORKER_MAIN, [], {
    cwd,
    execArgv: [],
    serialization: 'json',
    // fd 3: Node's IPC channel (control messages); fd 4 (LOCAL_BUS_FD): the local bus's frames.
    stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'],
  });
  // A send to a process that has just died reports an error event; its 'exit' tells the story, so only keep the
  // agent alive here (an unhandled 'error' event would take the whole sandbox down).
  child.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const onMessage = (m: WorkerToAgent) => {
      if (m.t !== 'booted') return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve({ child, bootMs: now() - started });
    };
    const onExit = (code: number | null, signal: string | null) => {
      child.off('message', onMessage);
      reject(new MfError('MF_WORKER_EXITED', 'a runtime process exited while booting', { code, signal }));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
