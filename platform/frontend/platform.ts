import type { UserConfig } from '../config.js';

/** A running platform. `close()` stops every sandbox and the HTTP server. */
export interface PlatformHandle {
  readonly url: string;
  readonly token: string;
  readonly dataDir: string;
  close(): Promise<void>;
}

export async function startPlatform(_user: UserConfig = {}): Promise<PlatformHandle> {
  throw new Error('startPlatform: the frontend is being written in this session');
}
