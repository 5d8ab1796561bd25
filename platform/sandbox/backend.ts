/**
 * A sandbox backend makes isolation units for apps. The platform asks it for a sandbox and hands it the path of a
 * Unix socket; the backend's only job is to start a sandbox agent (dist/platform/sandbox/agent/main.js) inside the
 * isolation unit so that the agent connects to that socket. Everything above the backend (deploy, invocation,
 * records) is the same for every backend, so a docker backend slots in without touching the platform.
 */
import type { Readable } from 'node:stream';
import { MfError } from '../errors.js';

/** The OS user an app's sandboxes run as when the platform runs as root (docs/security.md). */
export interface AppUser {
  readonly uid: number;
  readonly gid: number;
}

export interface SandboxSpec {
  /** Short unique id, also the folder name. */
  readonly sandboxId: string;
  readonly app: string;
  /** Host folder of this sandbox: the socket lives here, and it is the agent's working directory. */
  readonly dir: string;
  /** Unix socket the agent must connect to (inside `dir`). */
  readonly socketPath: string;
  /** Host folders the agent and its workers need to read (platform code, function code). */
  readonly readPaths: readonly string[];
  /** Memory limit of the whole sandbox in MB (its functions' limits plus the agent and the pool). */
  readonly memoryMB?: number;
  /** CPU limit in cores. */
  readonly cpus?: number;
  /** Whether the sandbox may use the network (false: no network at all, where the backend can enforce it). */
  readonly network?: boolean;
  /** The app's own OS user (root platforms only): the sandbox's processes run as it, and its folders belong to it. */
  readonly user?: AppUser;
}

export interface SandboxExit {
  code: number | null;
  signal: string | null;
  /** The sandbox's last output lines, when it failed and the backend could read them. */
  logTail?: string[];
}

/** One running isolation unit. */
export interface Sandbox {
  readonly id: string;
  readonly backend: string;
  /** Host pid of the sandbox's root process, when the backend has one. */
  readonly pid: number | null;
  /** The container holding the sandbox, for container backends. */
  readonly containerId?: string;
  /** What the sandbox's processes print, captured for the app's logs; never the platform's own stdout or stderr. */
  readonly output: { readonly stdout: Readable; readonly stderr: Readable };
  /** Resolves once when the sandbox has stopped, however it stopped. */
  readonly exited: Promise<SandboxExit>;
  /** Stops the sandbox and everything in it; idempotent. */
  destroy(): Promise<void>;
}

/** Base class owning the lifecycle: subclasses implement the hooks, never the closed-state checks. */
export abstract class SandboxBackend {
  abstract readonly name: string;
  private closed = false;
  private readonly live = new Set<Sandbox>();

  async create(spec: SandboxSpec): Promise<Sandbox> {
    if (this.closed) throw new MfError('MF_PLATFORM_CLOSED', `sandbox backend "${this.name}" is closed`);
    const sandbox = await this.doCreate(spec);
    this.live.add(sandbox);
    void sandbox.exited.then(() => this.live.delete(sandbox));
    return sandbox;
  }

  /** Destroys every sandbox this backend made; later create() calls fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.live].map((s) => s.destroy()));
    await this.doClose();
  }

  protected abstract doCreate(spec: SandboxSpec): Promise<Sandbox>;
  protected async doClose(): Promise<void> {}
}
