/**
 * The sandbox backends by name. The config's `backend` choices and the CLI's `--backend` choices come from this
 * registry's keys, so a new backend is one entry here.
 */
import type { SandboxBackend } from './backend.js';
import { DockerBackend } from './docker/backend.js';
import { ProcessBackend } from './process-backend.js';

export const SANDBOX_BACKENDS = {
  process: (): SandboxBackend => new ProcessBackend(),
  docker: (): SandboxBackend => new DockerBackend(),
} as const;

export type BackendName = keyof typeof SANDBOX_BACKENDS;

export function createBackend(name: BackendName): SandboxBackend {
  return SANDBOX_BACKENDS[name]();
}
