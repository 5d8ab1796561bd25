/**
 * Which CPUs an embedded platform and the load generator (this process) run on (docs/load.md#the-loader-apart-from-the-platform).
 *
 * With two or more CPUs allowed and taskset (util-linux), the platform's whole process tree (frontend, agents,
 * workers inherit the mask) gets every allowed CPU but one, and this process the remaining one: the platform's work
 * can then never hold the generator's timers off a CPU. Anything else is left to the scheduler, and the placement
 * says why, so a manifest always tells which it was. Linux only: the allowed CPUs come from /proc/self/status.
 *
 * On an oversubscribed machine (1-minute load average at or above the CPUs allowed) `auto` does not pin: other
 * people's jobs then keep every CPU busy, and a loader tied to one CPU cannot move to whichever frees first. Measured
 * on 2 cores at load 14-16 (docs/load.md): send skew p99 at 25 req/s 35-215 ms pinned, 38-46 ms unpinned.
 */
import { loadavg } from 'node:os';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

export type CpuPlacement =
  | { pinned: true; tool: 'taskset'; platformCpus: number[]; loaderCpus: number[] }
  | { pinned: false; reason: string };

/** `split` pins as above where the machine allows; `auto` too unless it is oversubscribed; `shared` never pins. */
export type CpuPolicy = 'auto' | 'split' | 'shared';

export const CPU_POLICIES: readonly CpuPolicy[] = ['auto', 'split', 'shared'];

const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p)) ?? null;
const run = promisify(execFile);

/** This process's mask before any adapter pinned it, and how many adapters hold it pinned now. */
let original: number[] | null = null;
let holders = 0;

/** The CPUs this process may run on, from its Cpus_allowed_list ("0-3,6"); null off Linux. */
export function allowedCpus(): number[] | null {
  let text: string;
  try {
    text = readFileSync('/proc/self/status', 'latin1');
  } catch {
    return null;
  }
  const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(text);
  return m ? parseCpuList(m[1]!) : null;
}

/** "0-2,5" -> [0, 1, 2, 5]. */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const [lo, hi = lo] = part.split('-').map(Number);
    for (let c = lo!; c <= hi!; c++) cpus.push(c);
  }
  return cpus;
}

/** The placement this machine allows under `policy`, at this load; pure apart from reading the mask and finding taskset. */
export function planPlacement(policy: CpuPolicy, load1 = loadavg()[0]!): CpuPlacement {
  if (policy === 'shared') return { pinned: false, reason: 'asked for (cpus: shared)' };
  if (TASKSET === null) return { pinned: false, reason: 'taskset (util-linux) is not installed' };
  const cpus = original ?? allowedCpus();
  if (cpus === null) return { pinned: false, reason: 'the allowed CPUs cannot be read (/proc/self/status)' };
  if (cpus.length < 2) return { pinned: false, reason: `only ${cpus.length} CPU allowed` };
  if (policy === 'auto' && load1 >= cpus.length) {
    return { pinned: false, reason: `oversubscribed: load average ${load1.toFixed(1)} on ${cpus.length} CPUs, where a pinned loader could not move off a busy CPU` };
  }
  return { pinned: true, tool: 'taskset', platformCpus: cpus.slice(0, -1), loaderCpus: cpus.slice(-1) };
}

/** The command that starts `argv` on the platform's CPUs (argv itself when unpinned). */
export function onPlatformCpus(placement: CpuPlacement, argv: readonly string[]): string[] {
  return placement.pinned ? [TASKSET!, '-c', placement.platformCpus.join(','), ...argv] : [...argv];
}

/**
 * Pins this process (all its threads) to the loader's CPUs until `releaseLoader`. A failure (a container that
 * forbids sched_setaffinity) leaves it unpinned and returns the placement that says so.
 */
export async function pinLoader(placement: CpuPlacement): Promise<CpuPlacement> {
  if (!placement.pinned) return placement;
  // Taken before the first await, so that an adapter created meanwhile plans from the whole mask too.
  if (holders++ === 0) original = allowedCpus();
  try {
    await setAffinity(placement.loaderCpus);
  } catch (err) {
    if (--holders === 0) original = null;
    return { pinned: false, reason: `taskset could not pin this process: ${(err as Error).message.split('\n')[0]}` };
  }
  return placement;
}

/** Undoes one `pinLoader`; the last one gives this process its original CPUs back. */
export async function releaseLoader(placement: CpuPlacement): Promise<void> {
  if (!placement.pinned || holders === 0) return;
  if (--holders > 0 || original === null) return;
  const cpus = original;
  original = null;
  await setAffinity(cpus).catch(() => undefined); // nothing to do about it: the process keeps the loader's CPU
}

async function setAffinity(cpus: readonly number[]): Promise<void> {
  await run(TASKSET!, ['-a', '-p', '-c', cpus.join(','), String(process.pid)]);
}
