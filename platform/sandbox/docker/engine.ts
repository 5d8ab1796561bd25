/**
 * The connection to the Docker engine, shared by the docker backend, the image builder and the CLI. dockerode is
 * imported lazily: the registry lists every backend, and a platform on the process backend should not pay for
 * loading a Docker client it never uses.
 */
import { existsSync } from 'node:fs';
import type Docker from 'dockerode';
import { MfError } from '../../errors.js';

export type { Docker };

/** How long a ping may take before the engine counts as not answering. */
const PING_TIMEOUT_MS = 3000;

/** The engine's Unix socket: DOCKER_HOST when it names one, else the default. */
export function dockerSocketPath(): string {
  const host = process.env.DOCKER_HOST;
  return host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
}

const START_HINT =
  'run `mfbench doctor` to see what is missing; to start an engine: `apt-get install -y docker.io` (once), then `dockerd > /tmp/dockerd.log 2>&1 &` as root';

/** A dockerode client for the engine on this host. Does not contact the engine. */
export async function dockerClient(): Promise<Docker> {
  const { default: Dockerode } = await import('dockerode');
  return new Dockerode({ socketPath: dockerSocketPath() });
}

/** A dockerode client whose engine has answered a ping, or MF_DOCKER_UNAVAILABLE naming the socket and how to fix it. */
export async function connectDocker(): Promise<Docker> {
  const socket = dockerSocketPath();
  if (!existsSync(socket)) {
    throw new MfError('MF_DOCKER_UNAVAILABLE', `no Docker engine: there is no socket at ${socket}`, { socket, hint: START_HINT });
  }
  const docker = await dockerClient();
  try {
    await withTimeout(docker.ping(), PING_TIMEOUT_MS, `no answer within ${PING_TIMEOUT_MS} ms`);
  } catch (err) {
    throw new MfError('MF_DOCKER_UNAVAILABLE', `the Docker engine at ${socket} does not answer: ${errorText(err)}`, { socket, hint: START_HINT }, { cause: err });
  }
  return docker;
}

/** The engine's version, or null when it does not answer. Never throws. */
export async function engineVersion(docker: Docker): Promise<string | null> {
  try {
    const v = await withTimeout(docker.version(), PING_TIMEOUT_MS, 'timeout');
    return v.Version ?? null;
  } catch {
    return null;
  }
}

/** The HTTP status of a failed engine call (dockerode puts it on `statusCode`), or null. */
export function statusOf(err: unknown): number | null {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : null;
}

/** The engine's own message for a failed call (dockerode keeps the JSON body in `json`). */
export function errorText(err: unknown): string {
  const json = (err as { json?: { message?: unknown } } | null)?.json;
  if (json && typeof json.message === 'string') return json.message;
  return err instanceof Error ? err.message : String(err);
}

export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
