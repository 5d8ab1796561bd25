/**
 * `mfbench` commands as child processes, for tests of host agents and remote frontends on a real broker:
 *
 *   const cli = new MfbenchProcesses();
 *   const host = await cli.startHost(nats.url, 'h1', dir);     // `mfbench host start …`, its first stdout line
 *   const front = await cli.startFrontend(nats.url, dir);      // `mfbench platform start --hosts remote …`
 *   afterAll(() => cli.stopAll());                             // every process it started, by pid
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');

export type Endpoint = { url: string; token: string };

export class MfbenchProcesses {
  private readonly children: ChildProcess[] = [];
  private readonly dirs: string[] = [];

  /** A temporary folder removed by stopAll. */
  async tempDir(prefix: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** Spawns `mfbench <args>` and resolves with its first stdout line as JSON (rejects with its stderr if it exits first). */
  async spawn<T>(args: string[]): Promise<{ child: ChildProcess; first: T }> {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`mfbench ${args.slice(0, 2).join(' ')} exited (${code}):\n${stderr}`)));
    });
    return { child, first: JSON.parse(line) as T };
  }

  startHost(broker: string, hostId: string, dataDir: string, extra: string[] = []): Promise<{ child: ChildProcess; first: { hostId: string; pid: number } }> {
    return this.spawn(['host', 'start', '--broker', broker, '--host-id', hostId, '--capacity', '3', '--backend', 'process', '--data-dir', dataDir, '--allow-local-code', ...extra]);
  }

  startFrontend(broker: string, dataDir: string): Promise<{ child: ChildProcess; first: Endpoint }> {
    return this.spawn(['platform', 'start', '--hosts', 'remote', '--broker', broker, '--port', '0', '--data-dir', dataDir, '--backend', 'process']);
  }

  /** Stops every process started here (SIGTERM, by pid, waiting for each) and removes the temporary folders. */
  async stopAll(): Promise<void> {
    for (const child of this.children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(child.pid!, 'SIGTERM');
      await exited;
    }
    for (const dir of this.dirs) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
