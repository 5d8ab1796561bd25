/**
 * A debug switch that makes the platform slower on purpose, so that a regression gate can be shown to catch a known
 * slowdown (docs/statistics.md#the-ab-gate). `MFBENCH_DEBUG_HOP_DELAY_US=<µs>` adds that fixed delay to every hop,
 * spent by whoever carries it: the sandbox agent before the hop takes a worker, or the worker that hands its result
 * straight to the next one, before it forwards; the platform validates it once at start and passes it to its
 * sandboxes. Unset (the default) it costs nothing: the agent's hook is a no-op function.
 */
import { MfError } from './errors.js';

export const DEBUG_HOP_DELAY_VAR = 'MFBENCH_DEBUG_HOP_DELAY_US';
const MAX_US = 1_000_000;

/** The delay asked for by the environment, in µs (0 when unset); a bad value is MF_CONFIG_INVALID. */
export function debugHopDelayUs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[DEBUG_HOP_DELAY_VAR];
  if (raw === undefined || raw === '') return 0;
  const us = Number(raw);
  if (!Number.isInteger(us) || us < 0 || us > MAX_US) {
    throw new MfError('MF_CONFIG_INVALID', `${DEBUG_HOP_DELAY_VAR}="${raw}": must be a whole number of microseconds from 0 to ${MAX_US}`, {
      option: DEBUG_HOP_DELAY_VAR,
      value: raw,
    });
  }
  return us;
}

/**
 * The hook the agent calls once per hop. It spins rather than sleeps: a timer cannot wait a fixed number of µs
 * (its granularity is 1 ms, and on a busy machine it fires late), and the point is a known, fixed cost.
 */
export function hopDelay(us: number): () => void {
  if (us === 0) return () => {};
  const ms = us / 1000;
  return () => {
    const end = performance.now() + ms;
    while (performance.now() < end);
  };
}
