/**
 * The deployed apps' manifests, kept in the data folder so that a restarted platform deploys them again: written at
 * deploy (before the deploy is answered), removed at delete. One JSON file per app, named after it (app names are
 * checked against NAME_PATTERN before anything is written, so they are safe file names).
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MfError } from '../errors.js';

/** Where deployed apps' manifests are kept for the next start (the data folder here; the broker's KV for frontends). */
export interface ManifestStore {
  save(name: string, manifest: unknown): Promise<void>;
  remove(name: string): Promise<void>;
  /** Every kept manifest, by app name; one that does not parse is reported and skipped. */
  loadAll(onBad: (name: string, err: Error) => void): Promise<Map<string, unknown>>;
}

export class AppManifests implements ManifestStore {
  constructor(
    /** Root's alone (0700): inline code travels in the manifest. */
    private readonly dir: string,
  ) {}

  async save(name: string, manifest: unknown): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      // Written aside and renamed, so that a crash never leaves half a manifest behind.
      const temp = join(this.dir, `.${name}.json.tmp`);
      await writeFile(temp, JSON.stringify(manifest), { mode: 0o600 });
      await rename(temp, this.file(name));
    } catch (err) {
      throw new MfError('MF_STORAGE_FAILED', `the manifest of app "${name}" could not be kept for restarts: ${(err as Error).message}`, { app: name }, { cause: err });
    }
  }

  async remove(name: string): Promise<void> {
    await rm(this.file(name), { force: true });
  }

  /** Every kept manifest, by app name; a file that does not parse is reported and skipped. */
  async loadAll(onBad: (name: string, err: Error) => void): Promise<Map<string, unknown>> {
    const manifests = new Map<string, unknown>();
    const files = await readdir(this.dir).catch(() => [] as string[]);
    for (const file of files.filter((f) => f.endsWith('.json') && !f.startsWith('.'))) {
      const name = file.slice(0, -'.json'.length);
      try {
        manifests.set(name, JSON.parse(await readFile(join(this.dir, file), 'utf8')));
      } catch (err) {
        onBad(name, err as Error);
      }
    }
    return manifests;
  }

  private file(name: string): string {
    return join(this.dir, `${name}.json`);
  }
}
