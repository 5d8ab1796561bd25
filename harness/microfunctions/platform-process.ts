/**
 * Starts an embedded platform in a process of its own (platform-main.ts) and stops it by pid. The child never outlives
 * this process: it closes when its stdin pipe ends, which happens when this process exits in any way, and an exit
 * hook signals it too. A start that fails rejects with the MfError the platform gave (MF_CONFIG_INVALID,
 * MF_BROKER_UNREACHABLE, ...), or MF_PLATFORM_START_FAILED when the process died without saying why.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { UserConfig } from '../../platform/config.js';
import { MfError } from '../../platform/errors.js';
import { onPlatformCpus, type CpuPlacement } from '../cpu-placement.js';

const PLATFORM_MAIN = fileURLToPath(new URL('./platform-main.js', import.meta.url));

/** How long a platform gets to close (its sandboxes, its journals) before it is killed. */
const CLOSE_GRACE_MS = 30_000;

export interface PlatformProcess {
  url: string;
  token: string;
  pid: number;
  /** Closes the platform (SIGTERM, then SIGKILL after a grace period) and waits for its exit. Idempotent. */
  close(): Promise<void>;
}

type Child = ChildProcessByStdio<Writable, Readable, null>;

export async function startPlatformProcess(user: UserConfig, placement: CpuPlacement): Promise<PlatformProcess> {
  const [command, ...args] = onPlatformCpus(placement, [process.execPath, PLATFORM_MAIN, JSON.stringify(user)]);
  // stderr is shared: what the platform says about itself (a fallback, a warning) reaches the user as it did in-process.
  const child: Child = spawn(command!, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  // 'error' alone when the process could not be spawned at all.
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()).once('error', () => resolve()));
  const killOnExit = (): void => signal(child, 'SIGTERM');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  child.stdin.on('error', () => undefined); // EPIPE once the child is gone: its exit is what counts

  const first = await firstLine(child);
  // Later lines, if any, are drained so that the child can never block on a full pipe.
  child.stdout.resume();
  const answer = first === null ? null : parse(first);
  if (answer === null || 'error' in answer) {
    signal(child, 'SIGKILL'); // a child that answered an error exits by itself; one that answered nonsense must not linger
    await exited;
    if (answer !== null) throw MfError.fromJSON(answer.error);
    throw new MfError('MF_PLATFORM_START_FAILED', `the embedded platform's process exited before it was listening (${exitText(child)})`, {
      exitCode: child.exitCode,
      signal: child.signalCode,
    });
  }
  let closing: Promise<void> | null = null;
  return {
    url: answer.url,
    token: answer.token,
    pid: child.pid!,
    close: () =>
      (closing ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        signal(child, 'SIGTERM');
        const timer = setTimeout(() => signal(child, 'SIGKILL'), CLOSE_GRACE_MS);
        await exited;
        clearTimeout(timer);
      })()),
  };
}

/** The first stdout line, or null when the child exits first. */
async function firstLine(child: Child): Promise<string | null> {
  const lines = createInterface({ input: child.stdout });
  try {
    for await (const line of lines) return line;
    return null;
  } finally {
    lines.close();
  }
}

function parse(line: string): { url: string; token: string } | { error: unknown } | null {
  try {
    const v = JSON.parse(line) as Record<string, unknown>;
    if ('error' in v) return { error: v.error };
    if (typeof v.url === 'string' && typeof v.token === 'string') return { url: v.url, token: v.token };
  } catch {
    // not JSON: the caller reports what the process did instead
  }
  return null;
}

/** Signals the child by its pid; a child already gone is fine. */
function signal(child: Child, sig: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, sig);
  } catch {
    // ESRCH: it exited meanwhile
  }
}

function exitText(child: Child): string {
  return child.signalCode !== null ? `killed by ${child.signalCode}` : `exit code ${String(child.exitCode)}`;
}
