/**
 * Who owns a container: the labels the docker backend puts on every container, and the orphan rule. Pure apart from
 * the liveness probe, which is passed in, so the rule is tested on fixed inputs.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export const LABEL = {
  /** Every container (and image) the testbed makes. */
  testbed: 'mfbench.testbed',
  /** `<hostname>:<pid>` of the platform process that created the container. */
  owner: 'mfbench.owner',
  /** Start time (clock ticks since boot, /proc/<pid>/stat field 22) of that process: tells a reused pid apart. */
  ownerStarted: 'mfbench.owner-started',
  /** One DockerBackend instance (a platform can have several backends in one process, e.g. in tests). */
  instance: 'mfbench.instance',
  sandbox: 'mfbench.sandbox',
  app: 'mfbench.app',
} as const;

export interface Owner {
  host: string;
  pid: number;
}

/** `<hostname>:<pid>`; hostnames have no ':', so the last ':' splits. */
export function formatOwner(owner: Owner): string {
  return `${owner.host}:${owner.pid}`;
}

export function parseOwner(label: string | undefined): Owner | null {
  if (!label) return null;
  const cut = label.lastIndexOf(':');
  if (cut <= 0) return null;
  const pid = Number(label.slice(cut + 1));
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return { host: label.slice(0, cut), pid };
}

/** Start time of a process in clock ticks since boot, or null (no such process, or no /proc). */
export function processStartTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may hold spaces and parentheses: fields after it start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null; // field 22 is the 20th after the ')'
  } catch {
    return null;
  }
}

export interface Liveness {
  host: string;
  /** null when no process has this pid; its start ticks otherwise ('' when unknown). */
  startTicks(pid: number): string | null;
}

export const thisHost: Liveness = {
  host: hostname(),
  startTicks(pid) {
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return null;
      // EPERM: it exists, owned by someone else.
    }
    return processStartTicks(pid) ?? '';
  },
};

/**
 * A container is an orphan when its owner ran on this host and is gone: no process has the pid, or the process that
 * has it started at another time (the pid was reused). Containers of other hosts and of live owners are never
 * orphans: other test runs may share the engine.
 */
export function isOrphan(labels: Record<string, string> | undefined, live: Liveness): boolean {
  const owner = parseOwner(labels?.[LABEL.owner]);
  if (!owner || owner.host !== live.host) return false;
  const ticks = live.startTicks(owner.pid);
  if (ticks === null) return true;
  const recorded = labels?.[LABEL.ownerStarted];
  return recorded !== undefined && recorded !== '' && ticks !== '' && recorded !== ticks;
}
