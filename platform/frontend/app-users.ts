/**
 * One OS user per app when the platform runs as root: the app's sandboxes run as it and its folders belong to it
 * (mode 0700), so one app's functions can neither read nor signal another app's. Ids are drawn at random from a
 * range no distribution hands out, so two platforms on one host are very unlikely to give two apps the same user.
 */
import { randomInt } from 'node:crypto';
import { chmod, chown, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppUser } from '../sandbox/backend.js';

const FIRST_ID = 0x1000_0000;
const ID_SPAN = 0x1000_0000;

export class AppUsers {
  private readonly byApp = new Map<string, AppUser>();
  private readonly taken = new Set<number>();

  /** Whether apps get users of their own: only a root platform can run processes as another user. */
  constructor(readonly enabled: boolean = process.getuid?.() === 0) {}

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

/** Gives a folder and everything in it to `user`, readable by that user alone. */
export async function makePrivateTo(dir: string, user: AppUser): Promise<void> {
  await chown(dir, user.uid, user.gid);
  await chmod(dir, 0o700);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await makePrivateTo(path, user);
    else if (!entry.isSymbolicLink()) await chown(path, user.uid, user.gid);
  }
}
