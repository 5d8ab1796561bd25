/**
 * The host's process table for tests that kill platform processes by pid: the chaos experiment's reading of /proc
 * (experiments/chaos/processes.ts: the sandbox agents of one platform, the workers of an agent, every descendant), and
 * the tests' own kill of a process as it boots.
 */
export { agentsUnder, childrenOf, descendants } from '../../dist/experiments/chaos/processes.js';

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
