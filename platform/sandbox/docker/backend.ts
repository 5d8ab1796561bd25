/**
 * The docker backend: one container per sandbox, made through dockerode from the locally built runtime image
 * (image.ts). The container runs the same sandbox agent as the process backend; everything the platform hands the
 * agent is a host path, so the sandbox folder (read-write) and every read path (dist/, function code; read-only) are
 * bind-mounted at the same absolute paths, and the agent connects to the frontend's Unix socket through the mounted
 * sandbox folder. docs/docker.md describes the image, mounts, limits, labels and orphan cleanup.
 */
import { existsSync } from 'node:fs';
import { chown } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { MfError } from '../../errors.js';
import { SANDBOX_APP_FILE } from '../../protocol.js';
import { SandboxBackend, type AppUser, type Sandbox, type SandboxExit, type SandboxSpec } from '../backend.js';
import { AGENT_MAIN } from '../process-backend.js';
import { sandboxEnv } from '../sandbox-env.js';
import { connectDocker, errorText, statusOf, type Docker } from './engine.js';
import { NODE_IN_IMAGE, requireRuntimeImage } from './image.js';
import { formatOwner, isOrphan, LABEL, processStartTicks, thisHost } from './owner.js';

/** dist/ of this build: the agent and worker scripts live under it. */
const DIST_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The project's node_modules (beside dist/), which function code may import packages from. */
const PROJECT_NODE_MODULES = resolve(DIST_ROOT, '..', 'node_modules');

/** Whom a container of a root platform runs as when the app has no user of its own: never root. */
const NOBODY: AppUser = { uid: 65534, gid: 65534 };

/** The container's only writable place besides its sandbox folder (its root filesystem is read-only). */
const TMPFS_SIZE = '64m';

/** Lines of container output kept for error messages. */
const LOG_TAIL_LINES = 30;

export interface DockerBackendOptions {
  /** Image to run; default: the content-hash tag of this host's node (`mfbench images build` makes it). */
  image?: string;
  /** Memory limit of a container in MB when the spec gives none. */
  memoryMB?: number;
  /** CPU limit of a container (cores, fractional allowed). */
  cpus?: number;
  /** Largest number of processes in a container (agent, pool, workers, whatever functions spawn). */
  pidsLimit?: number;
  /** Seconds `docker stop` waits after SIGTERM before SIGKILL in destroy(). */
  stopTimeoutSeconds?: number;
  /** Mount the project's node_modules read-only at its host path (functions may import packages from it). */
  mountNodeModules?: boolean;
  /** Also echo container output (agent and worker stdout/stderr) to this process's stderr, for debugging; it always goes to the app's logs. */
  forwardOutput?: boolean;
  /** Extra node flags for the agent process (e.g. `--cpu-prof`); workers are forked without them. */
  nodeOptions?: string[];
}

export const DOCKER_DEFAULTS: Required<Omit<DockerBackendOptions, 'image'>> = Object.freeze({
  memoryMB: 1024,
  cpus: 1,
  pidsLimit: 512,
  stopTimeoutSeconds: 1,
  mountNodeModules: true,
  forwardOutput: false,
  nodeOptions: [],
});

/** What the docker backend reads from a SandboxSpec beyond the base fields, when the platform provides them. */
type SpecExtras = Partial<{ memoryMB: number; cpus: number; network: boolean }>;

/** A docker sandbox: a Sandbox plus the container that holds it. */
export interface DockerSandbox extends Sandbox {
  readonly containerId: string;
  readonly containerName: string;
}

/** How the container stopped, with its last output lines when it failed. */
export interface DockerSandboxExit extends SandboxExit {
  logTail?: string[];
}

export class DockerBackend extends SandboxBackend {
  readonly name = 'docker';
  /** Distinguishes this backend's containers from those of other backends in the same process. */
  readonly instanceId = randomBytes(6).toString('hex');
  /** Containers removed as orphans when this backend started. */
  orphansRemoved = 0;
  private readonly options: Required<Omit<DockerBackendOptions, 'image'>> & { image: string | undefined };
  private readonly owner = formatOwner({ host: thisHost.host, pid: process.pid });
  private readonly ownerStarted = processStartTicks(process.pid) ?? '';
  private ready: Promise<{ docker: Docker; image: string }> | null = null;
  private readonly creating = new Set<Promise<unknown>>();

  constructor(options: DockerBackendOptions = {}) {
    super();
    this.options = { ...DOCKER_DEFAULTS, ...options, image: options.image };
  }

  /** The limits and isolation every container of this backend gets (for run manifests). */
  describeLimits(): Record<string, unknown> {
    const o = this.options;
    return { image: o.image ?? 'content-hash tag of this host', memoryMB: o.memoryMB, cpus: o.cpus, pidsLimit: o.pidsLimit, network: 'none', capDrop: 'ALL', user: 'the app user, or nobody, on root platforms; else the host uid:gid', rootFilesystem: 'read-only', tmp: `tmpfs ${TMPFS_SIZE}` };
  }

  /**
   * Connects to the engine, removes orphans and checks the image. Called lazily by the first create(); call it
   * directly to fail early. A failure is not cached: the next call tries again (e.g. after `mfbench images build`).
   */
  prepare(): Promise<{ docker: Docker; image: string }> {
    this.ready ??= (async () => {
      const docker = await connectDocker();
      this.orphansRemoved = await this.removeOrphans(docker);
      const image = await requireRuntimeImage(docker, this.options.image);
      return { docker, image };
    })().catch((err: unknown) => {
      this.ready = null;
      throw err;
    });
    return this.ready;
  }

  protected async doCreate(spec: SandboxSpec): Promise<DockerSandbox> {
    const pending = this.createContainer(spec);
    this.creating.add(pending);
    try {
      return await pending;
    } finally {
      this.creating.delete(pending);
    }
  }

  private async createContainer(spec: SandboxSpec & SpecExtras): Promise<DockerSandbox> {
    const { docker, image } = await this.prepare();
    const user = await containerUser(spec);
    const o = this.options;
    const memoryBytes = Math.round((spec.memoryMB ?? o.memoryMB) * 2 ** 20);
    let container: Docker.Container;
    try {
      container = await docker.createContainer({
        name: `mfbench-${process.pid}-${spec.sandboxId}`,
        Image: image,
        Cmd: [NODE_IN_IMAGE, ...o.nodeOptions, AGENT_MAIN, '--socket', spec.socketPath, '--sandbox-id', spec.sandboxId],
        Env: Object.entries(sandboxEnv(this.name, dirname(NODE_IN_IMAGE))).map(([k, v]) => `${k}=${v}`),
        WorkingDir: spec.dir,
        // Never root: the app's own user when the platform is root (its folders belong to that user), else the host user.
        User: `${user.uid}:${user.gid}`,
        Labels: {
          [LABEL.testbed]: '1',
          [LABEL.owner]: this.owner,
          [LABEL.ownerStarted]: this.ownerStarted,
          [LABEL.instance]: this.instanceId,
          [LABEL.sandbox]: spec.sandboxId,
          [LABEL.app]: spec.app,
        },
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        HostConfig: {
          Mounts: mountsFor(spec, o.mountNodeModules),
          NetworkMode: spec.network ? 'bridge' : 'none',
          Memory: memoryBytes,
          MemorySwap: memoryBytes, // no swap on top of the limit
          NanoCpus: Math.round((spec.cpus ?? o.cpus) * 1e9),
          PidsLimit: o.pidsLimit,
          CapDrop: ['ALL'],
          ReadonlyRootfs: true,
          Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${TMPFS_SIZE}` },
          SecurityOpt: ['no-new-privileges'],
          AutoRemove: true,
          LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } },
        },
      });
    } catch (err) {
      throw this.engineError(err, spec, image);
    }

    const tail = new LogTail(LOG_TAIL_LINES, o.forwardOutput ? process.stderr : null);
    const output = { stdout: new PassThrough(), stderr: new PassThrough() };
    let settled = false;
    let exited: Promise<DockerSandboxExit>;
    try {
      // As `docker run` does: attach and wait before start, so no output and no exit can be missed.
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      docker.modem.demuxStream(stream, tail.writable(output.stdout), tail.writable(output.stderr));
      const waited: Promise<{ StatusCode?: number }> = container.wait({ condition: 'removed' });
      exited = waited
        .then((r) => exitOf(r.StatusCode ?? null), () => ({ code: null, signal: null }) as SandboxExit)
        .then((exit): DockerSandboxExit => {
          settled = true;
          (stream as unknown as { destroy?: () => void }).destroy?.();
          output.stdout.end();
          output.stderr.end();
          return exit.code === 0 ? exit : { ...exit, logTail: tail.lines() };
        });
      await container.start();
    } catch (err) {
      await container.remove({ force: true }).catch(() => undefined);
      throw new MfError('MF_SANDBOX_START_FAILED', `the sandbox container did not start: ${errorText(err)}`, { sandboxId: spec.sandboxId, app: spec.app, image }, { cause: err });
    }

    // The container's init pid on the host; its absence (or a stopped state) means it died at once.
    let pid: number | null = null;
    try {
      const info = await container.inspect();
      if (info.State.Running) pid = info.State.Pid || null;
    } catch (err) {
      if (statusOf(err) !== 404) throw this.engineError(err, spec, image);
    }
    if (pid === null) {
      const exit = await Promise.race([exited, sleep(5000).then(() => null)]);
      await container.remove({ force: true }).catch(() => undefined);
      throw startFailed(spec, exit ?? { code: null, signal: null, logTail: tail.lines() });
    }

    const stopTimeout = o.stopTimeoutSeconds;
    let destroying: Promise<void> | null = null;
    return {
      id: spec.sandboxId,
      backend: this.name,
      pid,
      containerId: container.id,
      output,
      containerName: `mfbench-${process.pid}-${spec.sandboxId}`,
      exited,
      destroy() {
        destroying ??= (async () => {
          if (settled) return;
          await container.stop({ t: stopTimeout }).catch(() => undefined); // 304 stopped, 404 gone: fine
          // AutoRemove removes it; if the daemon has not within a few seconds, remove it ourselves.
          if ((await Promise.race([exited.then(() => true), sleep(5000).then(() => false)])) === false) {
            await container.remove({ force: true }).catch(() => undefined);
            await Promise.race([exited, sleep(5000)]);
          }
        })();
        return destroying;
      },
    };
  }

  /** Removes every container this backend made, including any whose create was in flight. */
  protected override async doClose(): Promise<void> {
    await Promise.allSettled([...this.creating]);
    if (!this.ready) return;
    const docker = await this.ready.then((r) => r.docker).catch(() => null);
    if (!docker) return;
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL.instance}=${this.instanceId}`] } }).catch(() => []);
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  }

  /** Removes containers whose owner process on this host is gone (see isOrphan). Returns how many. */
  private async removeOrphans(docker: Docker): Promise<number> {
    const all = await docker.listContainers({ all: true, filters: { label: [`${LABEL.testbed}=1`] } });
    const orphans = all.filter((c) => isOrphan(c.Labels, thisHost));
    await Promise.all(orphans.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    if (orphans.length > 0) process.stderr.write(`[docker] removed ${orphans.length} orphan container(s) of platform processes that are gone\n`);
    return orphans.length;
  }

  private engineError(err: unknown, spec: SandboxSpec, image: string): MfError {
    if (err instanceof MfError) return err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EPIPE' || code === 'ECONNRESET') {
      this.ready = null;
      return new MfError('MF_DOCKER_UNAVAILABLE', `the Docker engine stopped answering: ${errorText(err)}`, { sandboxId: spec.sandboxId, hint: 'run `mfbench doctor`' }, { cause: err });
    }
    if (statusOf(err) === 404 && /image/i.test(errorText(err))) {
      this.ready = null;
      return new MfError('MF_IMAGE_MISSING', `the runtime image ${image} is gone from the engine`, { image, hint: 'run `mfbench images build`' }, { cause: err });
    }
    return new MfError('MF_SANDBOX_START_FAILED', `the sandbox container could not be created: ${errorText(err)}`, { sandboxId: spec.sandboxId, app: spec.app, image }, { cause: err });
  }
}

/**
 * The container's user: the app's own on a root platform, else the host user, and never root. A root platform whose
 * apps have no users of their own runs containers as nobody, and hands it the sandbox's folder and socket.
 */
async function containerUser(spec: SandboxSpec): Promise<AppUser> {
  if (spec.user) return spec.user;
  const host = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  if (host.uid !== 0) return host;
  for (const path of [spec.dir, spec.socketPath, join(spec.dir, SANDBOX_APP_FILE)]) if (existsSync(path)) await chown(path, NOBODY.uid, NOBODY.gid);
  return NOBODY;
}

/** Bind mounts: the sandbox folder read-write, every read path (and dist/, node_modules) read-only, same paths. */
export function mountsFor(spec: SandboxSpec, mountNodeModules: boolean): Docker.MountSettings[] {
  const dir = resolve(spec.dir);
  const readOnly = new Set<string>([resolve(DIST_ROOT), ...spec.readPaths.map((p) => resolve(p))]);
  if (mountNodeModules && existsSync(PROJECT_NODE_MODULES)) readOnly.add(PROJECT_NODE_MODULES);
  readOnly.delete(dir);
  // A path under another read-only path is already visible (and read-only) through its parent.
  const roots = [...readOnly].sort().filter((p, i, all) => !all.slice(0, i).some((q) => p.startsWith(q + sep)));
  return [
    { Type: 'bind', Source: dir, Target: dir, ReadOnly: false },
    ...roots.map((p): Docker.MountSettings => ({ Type: 'bind', Source: p, Target: p, ReadOnly: true })),
  ];
}

/** Docker reports a death by signal N as status 128 + N; report it as a signal, as the process backend does. */
export function exitOf(status: number | null): SandboxExit {
  if (status !== null && status > 128) {
    const name = Object.entries(osConstants.signals).find(([, n]) => n === status - 128)?.[0];
    if (name) return { code: null, signal: name };
  }
  return { code: status, signal: null };
}

function startFailed(spec: SandboxSpec, exit: DockerSandboxExit): MfError {
  const lines = exit.logTail ?? [];
  const shown = lines.length > 0 ? `; its last output:\n${lines.join('\n')}` : ' (it printed nothing)';
  return new MfError(
    'MF_SANDBOX_START_FAILED',
    `the sandbox container exited as it started (code ${exit.code}, signal ${exit.signal})${shown}`,
    { sandboxId: spec.sandboxId, app: spec.app, code: exit.code, signal: exit.signal, logTail: lines },
  );
}

/** The last lines a container printed (stdout and stderr together), optionally echoed to a stream. */
class LogTail {
  private readonly kept: string[] = [];
  private partial = '';
  constructor(
    private readonly max: number,
    private readonly echo: NodeJS.WritableStream | null,
  ) {}

  /** A sink that keeps the tail and passes every chunk on to `to`. */
  writable(to: Writable): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, done) => {
        this.echo?.write(chunk);
        to.write(chunk);
        const text = this.partial + chunk.toString('utf8');
        const parts = text.split('\n');
        this.partial = parts.pop() ?? '';
        for (const line of parts) this.push(line);
        done();
      },
    });
  }

  lines(): string[] {
    return this.partial === '' ? [...this.kept] : [...this.kept, this.partial];
  }

  private push(line: string): void {
    this.kept.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
    if (this.kept.length > this.max) this.kept.shift();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
