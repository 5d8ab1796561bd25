/**
 * The sandbox backends by name. The config's `backend` choices and the CLI's `--backend` choices come from this
 * registry's keys, so a new backend is one entry here.
 */
import type { SandboxBackend } from './backend.js';
import { BwrapBackend, bwrapUsable } from './bwrap-backend.js';
import { DockerBackend } from './docker/backend.js';
import { ProcessBackend } from './process-backend.js';

export const SANDBOX_BACKENDS = {
  process: (): SandboxBackend => new ProcessBackend(),
  bwrap: (): SandboxBackend => new BwrapBackend(),
  docker: (): SandboxBackend => new DockerBackend(),
} as const;

export type BackendName = keyof typeof SANDBOX_BACKENDS;

export function createBackend(name: BackendName): SandboxBackend {
  return SANDBOX_BACKENDS[name]();
}

/**
 * The backend a served platform uses when none is named: bwrap where it works (namespaces, no daemon), else the
 * process backend with `warning` set (one line for stderr). Docker is never picked unasked: it needs an image built.
 */
export function strongestBackend(): { backend: BackendName; warning: string | null } {
  const bwrap = bwrapUsable();
  if (bwrap.ok) return { backend: 'bwrap', warning: null };
  return { backend: 'process', warning: `mfbench: no isolating sandbox backend is available (${bwrap.detail}); functions run as plain processes (docs/security.md)` };
}
