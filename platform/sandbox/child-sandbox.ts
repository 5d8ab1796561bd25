/**
 * A sandbox whose root is one child process of the platform (the process and bwrap backends). The child leads its
 * own process group, so destroy() reaches whatever the function started too, and its stdout and stderr are pipes
 * that the frontend reads into the app's logs: nothing a function prints reaches the platform's own streams.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { MfError } from '../errors.js';
import type { AppUser, Sandbox, SandboxExit, SandboxSpec } from './backend.js';

/** How long destroy() waits after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 2000;
/** The end of the sandbox's stderr kept for the error when it fails (bwrap says there why it could not start). */
const STDERR_TAIL_CHARS = 4096;

export interface ChildSandboxOptions {
  readonly backend: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Record<string, string>;
  /** Run the child as this user (the platform must be root). */
  readonly user?: AppUser | undefined;
}

export async function startChildSandbox(spec: SandboxSpec, o: ChildSandboxOptions): Promise<Sandbox> {
  const child = spawn(o.command, o.args, {
    cwd: spec.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: o.env,
    detached: true, // its own session and process group: the group is killed with the sandbox
    ...(o.user ? { uid: o.user.uid, gid: o.user.gid } : {}),
  });
  const pid = child.pid;
  let stderrTail = '';
  child.stderr.on('data', (chunk: Buffer | string) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-STDERR_TAIL_CHARS);
  });
  const exited = new Promise<SandboxExit>((resolve) => {
    child.once('exit', (code, signal) => {
      // The root is gone; whatever it left in its group goes with it.
      if (pid !== undefined) signalGroup(pid, 'SIGKILL');
      const failed = code !== 0 && stderrTail !== '';
      resolve(failed ? { code, signal, logTail: stderrTail.trimEnd().split('\n').slice(-20) } : { code, signal });
    });
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) =>
      reject(new MfError('MF_SANDBOX_START_FAILED', `could not start the sandbox (${o.command}): ${err.message}`, { sandboxId: spec.sandboxId, backend: o.backend })),
    );
  });
  let destroying: Promise<void> | null = null;
  return {
    id: spec.sandboxId,
    backend: o.backend,
    pid: pid ?? null,
    output: { stdout: child.stdout, stderr: child.stderr },
    exited,
    destroy() {
      destroying ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null || pid === undefined) return;
        signalGroup(pid, 'SIGTERM');
        const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), KILL_GRACE_MS);
        await exited;
        clearTimeout(timer);
      })();
      return destroying;
    },
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/**
 * Kills every process owned by one of `uids` (root only). A function's child that made itself a new session has
 * left its sandbox's process group, but not its app's user; this reaches it when the platform stops.
 */
export function killProcessesOf(uids: ReadonlySet<number>): number {
  if (uids.size === 0) return 0;
  let killed = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let status: string;
    try {
      status = readFileSync(`/proc/${entry}/status`, 'latin1');
    } catch {
      continue; // exited while we looked
    }
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    if (!uids.has(uid)) continue;
    try {
      process.kill(Number(entry), 'SIGKILL');
      killed++;
    } catch {
      // gone
    }
  }
  return killed;
}
