/**
 * The setup the workload suites share: a test platform, an SDK client for it (workloads are driven the way
 * `mfbench validate` drives them), optionally one app deployed, and the platform closed after the suite.
 */
import { afterAll, beforeAll } from 'vitest';
import type { UserConfig } from '../../dist/platform/config.js';
import type { PlatformHandle } from '../../dist/platform/frontend/index.js';
import type { AppManifest } from '../../dist/platform/manifest.js';
import { MicroFunctionsClient } from '../../dist/platform/sdk/client.js';
import { testPlatform } from './platform.js';

export interface SuitePlatform {
  readonly platform: PlatformHandle;
  readonly client: MicroFunctionsClient;
}

export interface SuitePlatformOptions {
  /** The platform's configuration (testPlatform's defaults otherwise). */
  config?: UserConfig;
  /** The app to deploy once the platform is up, e.g. `() => w.app()` (built in beforeAll: it reads the source tree). */
  deploy?: () => AppManifest;
  /** Runs first in beforeAll, e.g. to require Docker and build its image. */
  before?: () => Promise<unknown>;
  /** beforeAll's timeout in ms (the configured hook timeout otherwise). */
  timeoutMs?: number;
}

/**
 * Registers, in the calling describe block, a beforeAll that starts the platform, makes its client and deploys the
 * app, and an afterAll that closes the platform. Read `.client` inside tests: it is set once beforeAll has run.
 */
export function useSuitePlatform(options: SuitePlatformOptions = {}): SuitePlatform {
  let platform: PlatformHandle | undefined;
  let client: MicroFunctionsClient | undefined;
  beforeAll(async () => {
    await options.before?.();
    platform = await testPlatform(options.config);
    client = new MicroFunctionsClient({ url: platform.url, token: platform.token });
    if (options.deploy) await client.deploy(options.deploy());
  }, options.timeoutMs);
  afterAll(async () => {
    await platform?.close();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the suite platform is not started: read it inside a test, after beforeAll');
    return value;
  };
  return {
    get platform() {
      return ready(platform);
    },
    get client() {
      return ready(client);
    },
  };
}
