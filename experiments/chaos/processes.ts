/**
 * The machine's process table, read from /proc (Linux), for the chaos experiment's kills by pid: the sandbox agents
 * of one host agent (found by their command line, which names the host's data folder, whatever backend started them),
 * the workers of an agent (its children) and every descendant of a process (what a SIGKILLed host agent leaves).
 * The tests that kill by pid use the same functions (test/helpers/processes.ts).
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

/** Pids of every descendant of `pid`. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  for (let level = childrenOf([pid]); level.length > 0; level = childrenOf(level)) out.push(...level);
  return out;
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
