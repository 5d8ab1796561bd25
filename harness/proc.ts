/**
 * Memory of processes on this host, as the kernel accounts it (/proc). Used by adapters whose platform runs on the
 * same host; a remote platform's processes are not visible and give no samples.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Resident set size in bytes (VmRSS of /proc/<pid>/status), or null when the process is gone or unreadable. */
export function rssBytes(pid: number): number | null {
  return statusField(pid, 'VmRSS');
}

/** Proportional set size in bytes (Pss of /proc/<pid>/smaps_rollup): shared pages divided among the processes sharing them. */
export function pssBytes(pid: number): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
    const m = /^Pss:\s+(\d+) kB/m.exec(text);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function statusField(pid: number, field: string): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'latin1');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Every live descendant of `root` (children, grandchildren, ...), found from the parent pids in /proc/<pid>/stat. */
export function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      // The command name (field 2) is in parentheses and may hold spaces; the parent pid is the 2nd field after it.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(name), Number(rest[1]));
    } catch {
      // the process exited while we looked
    }
  }
  const out: number[] = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const p = frontier.pop()!;
    for (const [pid, ppid] of parentOf) {
      if (ppid === p) {
        out.push(pid);
        frontier.push(pid);
      }
    }
  }
  return out.sort((a, b) => a - b);
}
