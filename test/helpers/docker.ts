/**
 * The Docker engine for tests that need one, and the project's rule for when they run (docs/docker.md): a Docker
 * suite runs when an engine answers, or when MFBENCH_REQUIRE_DOCKER=1 (CI sets it): then a missing engine fails the
 * suite in its beforeAll instead of skipping it. Importing this module pings the engine once.
 *
 *   import { RUN_DOCKER_TESTS, noteDockerSkipped, requireDocker } from './helpers/docker.js';
 *   noteDockerSkipped('my docker tests');              // says on stderr why the suite is skipped, if it is
 *   describe.runIf(RUN_DOCKER_TESTS)('…', () => {
 *     beforeAll(async () => { const docker = requireDocker(); … }); // or dockerWithRuntimeImage()
 *   });
 */
import { connectDocker, type Docker } from '../../dist/platform/sandbox/docker/engine.js';
import { buildRuntimeImage, type BuildResult } from '../../dist/platform/sandbox/docker/image.js';

/** MFBENCH_REQUIRE_DOCKER=1: a missing engine is a failure, not a reason to skip. */
export const REQUIRED = process.env.MFBENCH_REQUIRE_DOCKER === '1';

/** The engine if it answered a ping, else null and why not. */
export const engine: { docker: Docker | null; problem: string | null } = await connectDocker().then(
  (docker) => ({ docker, problem: null }),
  (err: Error) => ({ docker: null, problem: err.message }),
);

/** Whether Docker suites run: `describe.runIf(RUN_DOCKER_TESTS)`. */
export const RUN_DOCKER_TESTS = engine.docker !== null || REQUIRED;

/** Writes to stderr that `what` is skipped and how to run it, when RUN_DOCKER_TESTS is false; else does nothing. */
export function noteDockerSkipped(what: string): void {
  if (RUN_DOCKER_TESTS) return;
  process.stderr.write(
    `${what} skipped: ${engine.problem}\n  to run them: start dockerd (as root: dockerd > /tmp/dockerd.log 2>&1 &); MFBENCH_REQUIRE_DOCKER=1 makes a missing engine fail the tests\n`,
  );
}

/** The engine, or throws (call it in beforeAll): a suite that runs without an engine runs because it is required. */
export function requireDocker(): Docker {
  if (!engine.docker) throw new Error(`MFBENCH_REQUIRE_DOCKER=1 but no Docker engine answers: ${engine.problem}`);
  return engine.docker;
}

/** requireDocker(), then the runtime image built if its tag is missing (well under a second when it exists). */
export async function dockerWithRuntimeImage(): Promise<{ docker: Docker; image: BuildResult }> {
  const docker = requireDocker();
  return { docker, image: await buildRuntimeImage({ docker }) };
}
