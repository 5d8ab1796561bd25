/**
 * On-CPU time of a process tree, in ns, from the scheduler's own accounting (Linux): the first field of
 * /proc/<pid>/task/<tid>/schedstat, summed over every thread. Unlike utime/stime in /proc/<pid>/stat (10 ms ticks,
 * proc-stat.ts) it resolves a single request, and unlike wall time it does not count the time a process waits for a
 * CPU that other jobs hold (docs/statistics.md#the-ab-gate).
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';

/** Every live descendant of `root` (not `root` itself), found by the parent field of /proc/<pid>/stat. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    } catch {
      continue; // exited since readdir
    }
    // The command name (field 2) may hold spaces and parentheses: the fields after it start past the last ')'.
    const ppid = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const pid of children.get(p) ?? []) (out.push(pid), walk(pid));
  };
  walk(root);
  return out;
}

/**
 * A meter of the on-CPU time of fixed processes: opens every thread's schedstat once, then each `read()` re-reads
 * them in place (a seq_file read at offset 0 regenerates it), one pread each, synchronously so that a reading is
 * taken at the moment it is asked for and not when the thread pool gets to it. A thread that starts after `open`
 * is not counted, and one that exits stops counting: measure windows in which the processes stay as they are.
 */
export class CpuMeter {
  readonly #buf = Buffer.alloc(128);
  private constructor(private readonly fds: number[]) {}

  static open(pids: readonly number[]): CpuMeter {
    const fds: number[] = [];
    for (const pid of pids) {
      let tids: string[];
      try {
        tids = readdirSync(`/proc/${pid}/task`);
      } catch {
        continue; // exited since it was found
      }
      for (const tid of tids) {
        try {
          fds.push(openSync(`/proc/${pid}/task/${tid}/schedstat`, 'r'));
        } catch {
          // the thread exited since readdir
        }
      }
    }
    return new CpuMeter(fds);
  }

  /** On-CPU time so far of the threads opened, ns. */
  read(): number {
    let ns = 0;
    for (const fd of this.fds) {
      try {
        const n = readSync(fd, this.#buf, 0, this.#buf.length, 0);
        ns += Number(this.#buf.toString('latin1', 0, this.#buf.indexOf(32) === -1 ? n : this.#buf.indexOf(32)));
      } catch {
        // the thread exited: it counts no more (ESRCH)
      }
    }
    return ns;
  }

  close(): void {
    for (const fd of this.fds.splice(0)) closeSync(fd);
  }
}
