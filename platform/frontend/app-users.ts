/**
 * One OS user per app when the platform runs as root: the app's sandboxes run as it and its folders belong to it
 * (code readable by the app's group only, sandbox folders 0700), so one app's functions can neither read nor signal another app's. Ids are drawn at random from a
 * range no distribution hands out, so two platforms on one host are very unlikely to give two apps the same user.
 */
import { randomInt } from 'node:crypto';
import { statSync } from 'node:fs';
import { chmod, chown, readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { AppUser } from '../sandbox/backend.js';

const FIRST_ID = 0x1000_0000;
const ID_SPAN = 0x1000_0000;

export class AppUsers {
  private readonly byApp = new Map<string, AppUser>();
  private readonly taken = new Set<number>();

  /** Whether apps get users of their own, and if not on a root platform, why not (one line for stderr). */
  readonly enabled: boolean;
  readonly warning: string | null = null;

  /**
   * Only a root platform can run processes as another user, and only when an app's user can reach its folders
   * under `dataDir`: every folder above it must let others pass (o+x).
   */
  constructor(dataDir: string, root: boolean = process.getuid?.() === 0) {
    const closed = root ? closedAncestor(resolve(dataDir)) : null;
    this.enabled = root && closed === null;
    if (closed !== null) {
      this.warning = `mfbench: apps run as root in their sandboxes, not as users of their own: ${closed} (above the data folder) does not let other users pass (docs/security.md)`;
    }
  }

  /** The app's user (made on first ask), or undefined when the platform cannot switch users. */
  forApp(app: string): AppUser | undefined {
    if (!this.enabled) return undefined;
    let user = this.byApp.get(app);
    if (!user) {
      let id: number;
      do id = FIRST_ID + randomInt(ID_SPAN);
      while (this.taken.has(id));
      this.taken.add(id);
      user = { uid: id, gid: id };
      this.byApp.set(app, user);
    }
    return user;
  }

  /** Forgets a deleted app's user. */
  release(app: string): void {
    const user = this.byApp.get(app);
    if (user) this.taken.delete(user.uid);
    this.byApp.delete(app);
  }
}

/**
 * Makes an app's code readable by its user's group alone, and writable by no one but root: the app's functions can
 * load their code but not change it (a change would outlive the sandbox), and other apps cannot even list it.
 */
export async function makeReadOnlyFor(dir: string, user: AppUser): Promise<void> {
  await chown(dir, 0, user.gid);
  await chmod(dir, 0o750);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await makeReadOnlyFor(path, user);
    else if (entry.isFile()) {
      await chown(path, 0, user.gid);
      await chmod(path, 0o640);
    }
  }
}

/** The nearest folder above `dir` that other users cannot pass through, or null. */
function closedAncestor(dir: string): string | null {
  for (let d = dirname(dir); ; d = dirname(d)) {
    try {
      if ((statSync(d).mode & 0o001) === 0) return d;
    } catch {
      return d;
    }
    if (d === dirname(d)) return null;
  }
}
