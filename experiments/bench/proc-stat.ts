/**
 * CPU time and parent of a process from /proc/<pid>/stat (Linux). The bench reads the sandbox agent's CPU time
 * before and after a batch of executions; the agent is found as the parent of a worker named by a record.
 */
import { readFile } from 'node:fs/promises';

/** clock ticks per second of utime/stime in /proc/<pid>/stat (USER_HZ, 100 on every Linux Node supports). */
const USER_HZ = 100;

interface Stat {
  ppid: number;
  /** User plus system CPU time, ms. */
  cpuMs: number;
}

export async function procStat(pid: number): Promise<Stat> {
  const text = await readFile(`/proc/${pid}/stat`, 'latin1');
  // The command name (field 2) may hold spaces and parentheses: the fields after it start past the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
  return { ppid: Number(fields[1]), cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ };
}
