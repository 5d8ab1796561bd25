/**
 * The embedded default backend: a sandbox is a plain process tree (the agent and its workers) with its own working
 * directory. It isolates nothing beyond what OS processes give, and needs nothing installed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MfError } from '../errors.js';
import { SandboxBackend, type Sandbox, type SandboxExit, type SandboxSpec } from './backend.js';

export const AGENT_MAIN = fileURLToPath(new URL('./agent/main.js', import.meta.url));

/** How long destroy() waits after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 2000;

export class ProcessBackend extends SandboxBackend {
  readonly name = 'process';

  protected async doCreate(spec: SandboxSpec): Promise<Sandbox> {
    const child = spawn(process.execPath, [AGENT_MAIN, '--socket', spec.socketPath, '--sandbox-id', spec.sandboxId], {
      cwd: spec.dir,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, MFBENCH_SANDBOX_BACKEND: this.name },
    });
    const exited = new Promise<SandboxExit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) =>
        reject(new MfError('MF_SANDBOX_START_FAILED', `could not start the sandbox agent: ${err.message}`, { sandboxId: spec.sandboxId })),
      );
    });
    let destroying: Promise<void> | null = null;
    return {
      id: spec.sandboxId,
      backend: this.name,
      pid: child.pid ?? null,
      exited,
      destroy() {
        destroying ??= (async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
          await exited;
          clearTimeout(timer);
        })();
        return destroying;
      },
    };
  }
}
