/**
 * The plain backend: a sandbox is a process tree (the agent and its workers) in its own process group, with a
 * scrubbed environment and its output captured. Run by root, it also gives each app its own OS user (the platform
 * makes the app's folders private to it) and, where `unshare` exists, a network namespace with no interfaces up, so
 * a function can neither read nor signal another app's files and processes nor reach any network. Run by anyone
 * else, functions run as the platform's user: docs/security.md lists what that does not stop.
 */
import { existsSync } from 'node:fs';
import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SandboxBackend, type Sandbox, type SandboxSpec } from './backend.js';
import { killProcessesOf, startChildSandbox } from './child-sandbox.js';
import { sandboxEnv } from './sandbox-env.js';

export const AGENT_MAIN = fileURLToPath(new URL('./agent/main.js', import.meta.url));

/** util-linux's unshare: a new network namespace, then the app's user, then exec (the pid stays the agent's). */
const UNSHARE = ['/usr/bin/unshare', '/bin/unshare'].find((p) => existsSync(p)) ?? null;

export class ProcessBackend extends SandboxBackend {
  readonly name = 'process';
  /** App users whose processes are swept when the backend closes. */
  private readonly users = new Set<number>();

  protected async doCreate(spec: SandboxSpec): Promise<Sandbox> {
    const agent = [process.execPath, AGENT_MAIN, '--socket', spec.socketPath, '--sandbox-id', spec.sandboxId];
    // A temporary folder of the sandbox's own (os.tmpdir() follows TMPDIR); /tmp itself is the host's, shared.
    const tmp = join(spec.dir, 'tmp');
    await mkdir(tmp, { mode: 0o700 });
    const env = { ...sandboxEnv(this.name), TMPDIR: tmp };
    if (spec.user) {
      await chown(tmp, spec.user.uid, spec.user.gid);
      this.users.add(spec.user.uid);
    }
    if (spec.user && !spec.network && UNSHARE !== null) {
      const { uid, gid } = spec.user;
      return startChildSandbox(spec, { backend: this.name, command: UNSHARE, args: ['--net', `--setgid=${gid}`, `--setuid=${uid}`, '--', ...agent], env });
    }
    return startChildSandbox(spec, { backend: this.name, command: agent[0]!, args: agent.slice(1), env, user: spec.user });
  }

  protected override async doClose(): Promise<void> {
    killProcessesOf(this.users);
  }
}
