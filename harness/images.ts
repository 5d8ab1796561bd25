/**
 * Function images shared by the adapters that ship functions as Docker images (OpenFaaS functions, OpenWhisk blackbox
 * actions): the base image, the push to a registry and the removal of a tag an adapter created.
 */
import { MfError } from '../platform/errors.js';
import type { Docker } from '../platform/sandbox/docker/engine.js';
import { errorText, statusOf } from '../platform/sandbox/docker/engine.js';
import { buildRuntimeImage } from '../platform/sandbox/docker/image.js';

/** The base image: the docker backend's runtime image for this host's node, built when missing. */
export async function baseImage(docker: Docker): Promise<string> {
  return (await buildRuntimeImage({ docker })).tag;
}

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress?: string;
}

/** Pushes a tag to its registry; a failure is MF_CONFIG_INVALID naming the registry and what to check. */
export async function pushImage(docker: Docker, tag: string, registry: string, auth: RegistryAuth | null, credentials: string): Promise<void> {
  const hint = `check --registry (${registry}): it must be host[:port][/path] of a registry this host can push to (docker login, or ${credentials}), and the cluster must be able to pull from it`;
  const fail = (why: string, cause?: unknown) =>
    new MfError('MF_CONFIG_INVALID', `pushing ${tag} to the registry ${registry} failed: ${why}; ${hint}`, { option: 'registry', registry, image: tag, hint }, { cause });
  let output: unknown[];
  try {
    // Always an X-Registry-Auth header: a 20.10 engine answers 400 "Bad parameters and missing X-Registry-Auth"
    // without one; the docker CLI sends an empty auth object for a registry that needs no login, and so do we.
    const stream = await docker.getImage(tag).push({ authconfig: auth ?? {} });
    output = await new Promise<unknown[]>((res, rej) => docker.modem.followProgress(stream, (err: Error | null, r: unknown[]) => (err ? rej(err) : res(r))));
  } catch (err) {
    throw fail(errorText(err), err);
  }
  const failed = output.find((o): o is { error: string } => typeof (o as { error?: unknown }).error === 'string');
  if (failed) throw fail(failed.error);
}

/**
 * Removes an image tag this adapter created. An image still used by a container is retried briefly; if it is still in
 * use then, another owner's containers hold it (two runs that built the same content share the tag), and it is left
 * for them: `in-use`, not a failure.
 */
export async function removeImage(docker: Docker, tag: string): Promise<'removed' | 'in-use' | 'failed'> {
  for (let i = 0; i < 20; i++) {
    try {
      await docker.getImage(tag).remove({ noprune: false });
      return 'removed';
    } catch (err) {
      const s = statusOf(err);
      if (s === 404) return 'removed';
      if (s !== 409) return 'failed';
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return 'in-use';
}
