/**
 * Keeps a frontend's apps the same as the broker's (`hosts: remote`): an app another frontend deploys is deployed
 * here too, one it deletes is forgotten here, so that every frontend answers for every app (docs/distributed.md).
 */
import { toMfError } from '../../errors.js';
import type { Platform } from '../platform.js';
import type { BrokerManifests } from './manifests.js';

export async function followApps(platform: Platform, manifests: BrokerManifests): Promise<{ stop(): void }> {
  // One change at a time, in the order the broker reports them (a delete and a deploy of one name must not cross).
  let chain = Promise.resolve();
  return manifests.watch((name) => {
    chain = chain.then(async () => {
      const here = platform.listApps().some((a) => a.name === name);
      const kept = await manifests.get(name);
      if (kept === null && here) await platform.unload(name);
      else if (kept !== null && !here) await platform.deploy(kept.manifest, { restoring: true });
    }).catch((err: unknown) => {
      const e = toMfError(err);
      // This frontend's own deploy or delete, racing its echo from the broker: already as it should be.
      if (e.code === 'MF_APP_EXISTS' || e.code === 'MF_APP_NOT_FOUND') return;
      process.stderr.write(`app "${name}" could not follow the broker's copy: ${e.message}\n`);
    });
  });
}
