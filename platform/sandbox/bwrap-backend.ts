/**
 * The bwrap backend: each sandbox in its own Linux namespaces through Debian's bubblewrap (user, pid, mount, IPC,
 * UTS, cgroup, and network unless the app is allowed it). The sandbox sees a fresh root holding only the runtime
 * (/usr and node), the platform's dist/ and node_modules, the app's own code (all read-only), its own sandbox folder
 * (where the frontend's Unix socket is: a path socket crosses a network namespace) and a private tmpfs /tmp. No
 * other app, no token, no storage journal, no host process and no loopback listener is visible from inside. Run by
 * root, bwrap itself starts as the app's own user, so the sandbox holds no capability on the host.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MfError } from '../errors.js';
import { SandboxBackend, type Sandbox, type SandboxSpec } from './backend.js';
import { startChildSandbox } from './child-sandbox.js';
import { AGENT_MAIN } from './process-backend.js';
import { sandboxEnv } from './sandbox-env.js';

export const BWRAP = ['/usr/bin/bwrap', '/usr/local/bin/bwrap', '/bin/bwrap'].find((p) => existsSync(p)) ?? null;

/** dist/ of this build, and the node_modules beside it (function code may import the project's packages). */
const DIST_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROJECT_NODE_MODULES = resolve(DIST_ROOT, '..', 'node_modules');

/** Host folders every sandbox needs read-only: the runtime's libraries and node itself. */
const RUNTIME_DIRS = ['/usr', '/lib', '/lib64', '/lib32', '/bin', '/sbin'];
/** Name resolution and TLS roots, mounted only into sandboxes allowed the network. */
const NETWORK_FILES = ['/etc/resolv.conf', '/etc/hosts', '/etc/nsswitch.conf', '/etc/ssl', '/etc/ca-certificates'];

export class BwrapBackend extends SandboxBackend {
  readonly name = 'bwrap';

  protected async doCreate(spec: SandboxSpec): Promise<Sandbox> {
    const usable = bwrapUsable();
    if (!usable.ok) throw new MfError('MF_SANDBOX_START_FAILED', `the bwrap backend cannot start a sandbox: ${usable.detail}`, { sandboxId: spec.sandboxId, app: spec.app, hint: 'run `mfbench doctor`' });
    const args = [...bwrapArgs(spec), process.execPath, AGENT_MAIN, '--socket', spec.socketPath, '--sandbox-id', spec.sandboxId];
    return startChildSandbox(spec, { backend: this.name, command: BWRAP ?? 'bwrap', args, env: sandboxEnv(this.name), user: spec.user });
  }
}

/** bwrap's options for one sandbox: the namespaces, then the mounts (parents before children), then the process. */
export function bwrapArgs(spec: SandboxSpec): string[] {
  const args = ['--unshare-all', ...(spec.network ? ['--share-net'] : []), '--die-with-parent', '--new-session', '--cap-drop', 'ALL'];
  for (const dir of RUNTIME_DIRS) args.push(...mountRuntime(dir));
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
  const readOnly = new Set([dirname(process.execPath), DIST_ROOT, ...(existsSync(PROJECT_NODE_MODULES) ? [PROJECT_NODE_MODULES] : []), ...spec.readPaths].map((p) => resolve(p)));
  if (spec.network) for (const f of NETWORK_FILES) if (existsSync(f)) readOnly.add(f);
  // A path under another read-only path is visible (read-only) through its parent already.
  const roots = [...readOnly].sort().filter((p, i, all) => !all.slice(0, i).some((q) => p === q || p.startsWith(q + sep)));
  for (const p of roots) args.push('--ro-bind', p, p);
  args.push('--bind', spec.dir, spec.dir, '--chdir', spec.dir);
  return args;
}

/** /lib and friends are symlinks into /usr on merged-/usr systems: recreate the link rather than mount twice. */
function mountRuntime(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return lstatSync(dir).isSymbolicLink() ? ['--symlink', readlinkSync(dir), dir] : ['--ro-bind', dir, dir];
}

let usable: { ok: boolean; detail: string } | null = null;

/**
 * Whether bwrap can make a sandbox on this machine (it is installed and the kernel lets this user make the
 * namespaces; a root platform starts bwrap as an app user, so that is what is tried). Probed once per process.
 */
export function bwrapUsable(): { ok: boolean; detail: string } {
  if (usable) return usable;
  if (BWRAP === null) return (usable = { ok: false, detail: 'bwrap is not installed (apt-get install bubblewrap)' });
  const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const probe = spawnSync(BWRAP, ['--unshare-all', '--die-with-parent', ...RUNTIME_DIRS.flatMap(mountRuntime), '--proc', '/proc', '--', '/bin/true'], {
    timeout: 10_000,
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin' },
    ...asUser,
  });
  usable = probe.status === 0 ? { ok: true, detail: `${BWRAP} works` } : { ok: false, detail: `${BWRAP} cannot make namespaces here: ${(probe.stderr || probe.error?.message || `exit ${probe.status}`).trim()}` };
  return usable;
}
