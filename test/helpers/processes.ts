/**
 * The host's process table, read from /proc (Linux), for tests that kill platform processes by pid: the sandbox
 * agents of one platform (found by their command line, which names the platform's data folder, whatever backend
 * started them) and the workers of an agent (its child processes).
 */
import { readdirSync, readFileSync } from 'node:fs';

interface ProcEntry {
  pid: number;
  ppid: number;
}

/** Every process's pid and parent pid; processes that vanish while being read are left out. */
function table(): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      // The command name is in parentheses and may hold spaces: the fields after it start at the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid, ppid: Number(fields[1]) });
    } catch {
      // gone already
    }
  }
  return out;
}

/** Pids of the direct children of any of `parents`. */
export function childrenOf(parents: Iterable<number>): number[] {
  const set = new Set(parents);
  return table()
    .filter((p) => set.has(p.ppid))
    .map((p) => p.pid);
}

/** Pids of the sandbox agents of the platform whose data folder is `dataDir` (their socket lives under it). */
export function agentsUnder(dataDir: string): number[] {
  const out: number[] = [];
  for (const { pid } of table()) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
      if (argv.some((a) => a.endsWith('agent/main.js')) && argv.some((a) => a.startsWith(dataDir))) out.push(pid);
    } catch {
      // gone already
    }
  }
  return out;
}

/**
 * Waits for a process that `candidates()` lists and `known` does not (a process that has just started), kills it with
 * SIGKILL at once and returns its pid. Polls every few milliseconds: Node takes tens of milliseconds to boot, so the
 * process is killed while it boots.
 */
export async function killNewcomer(candidates: () => number[], known: Set<number>, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    for (const pid of candidates()) {
      if (known.has(pid)) continue;
      known.add(pid);
      try {
        process.kill(pid, 'SIGKILL');
        return pid;
      } catch {
        // it died on its own before we got to it: wait for the next one
      }
    }
    if (Date.now() > end) throw new Error(`no new process started within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 3));
  }
}
