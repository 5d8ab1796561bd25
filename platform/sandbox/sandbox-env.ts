/**
 * The environment a sandbox starts with, on every backend: an allowlist, never the platform's own `process.env`
 * (which may hold tokens, cloud credentials or paths). The worker adds the Lambda variables itself
 * (platform/runtime/load.ts) and the function's own `env` from its manifest; nothing else reaches function code.
 */
import { dirname } from 'node:path';
import { DEBUG_HOP_DELAY_VAR } from '../debug-hop-delay.js';

/** Variables copied from the platform when set: locale and time zone only, which change no behaviour of ours. */
export const PASSED_THROUGH = ['LANG', 'LC_ALL', 'TZ'] as const;

/** The whole environment of a sandbox agent (and so of its workers) on backend `backend`. */
export function sandboxEnv(backend: string, nodeDir: string = dirname(process.execPath)): Record<string, string> {
  const env: Record<string, string> = {
    PATH: [nodeDir, '/usr/local/bin', '/usr/bin', '/bin'].filter((p, i, all) => all.indexOf(p) === i).join(':'),
    HOME: '/tmp',
    MFBENCH_SANDBOX_BACKEND: backend,
  };
  // The debug switch reaches the agent, which applies it (platform/debug-hop-delay.ts); unset, it is not passed.
  for (const name of [...PASSED_THROUGH, DEBUG_HOP_DELAY_VAR]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}
