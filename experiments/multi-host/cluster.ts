/**
 * The processes of one multi-host round (docs/experiments.md#multi-host): a `nats-server -js` on the network's broker
 * address, host agents (`mfbench host start`, each in its namespace when there is one) and one frontend
 * (`mfbench platform start --hosts remote`) on loopback. Every process is started here, known by its pid, and stopped
 * by that pid: `close()` stops them all (SIGTERM, then SIGKILL after a grace period) and removes their folders.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MfError } from '../../platform/errors.js';
import type { HostNetwork } from './netns.js';

/** The CLI this build ships (a path, not an import: experiments never import cli/). */
const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const READY_MS = 60_000;
const STOP_GRACE_MS = 10_000;

export interface RoundOptions {
  preset: string;
  backend: string;
  /** Executions each host runs at once. */
  capacity: number;
}

export interface HostProcess {
  readonly hostId: string;
  readonly pid: number;
  readonly child: ChildProcess;
}

/** Whether a `nats-server` is on the PATH (the experiment needs one). */
export function natsServerVersion(): string | null {
  const probe = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : null;
}

export class Round {
  private readonly children: ChildProcess[] = [];
  /** Processes this round sent a signal to (their exit is expected). */
  private readonly signalled = new WeakSet<ChildProcess>();

  /** nats://<address>:<port>, once the broker is ready. */
  broker = '';

  private constructor(
    private readonly network: HostNetwork,
    private readonly dir: string,
    private readonly options: RoundOptions,
  ) {}

  /** Starts a fresh broker for a round; the caller starts hosts and a frontend on it, then closes the round. */
  static async start(network: HostNetwork, options: RoundOptions): Promise<Round> {
    const round = new Round(network, await mkdtemp(join(tmpdir(), 'mfbench-multihost-')), options);
    // -p -1: the server picks a free port and logs it (no window between choosing a port and taking it).
    const nats = spawn('nats-server', ['-js', '-sd', join(round.dir, 'nats'), '-a', network.brokerAddress, '-p', '-1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    round.children.push(nats);
    try {
      round.broker = `nats://${network.brokerAddress}:${await natsPort(nats)}`;
      return round;
    } catch (err) {
      await round.close();
      throw err;
    }
  }

  /**
   * Starts the host agent of slot `slot` (its namespace, when the network has them) under `hostId`; `hopPeer`: the
   * host that runs every second Task hop of its executions (`--hop-peer`, docs/distributed.md#hops-across-hosts).
   */
  async startHost(slot: number, hostId: string, hopPeer?: string): Promise<HostProcess> {
    const at = this.network.hosts[slot];
    if (at === undefined) throw new MfError('MF_INTERNAL', `the network has no host slot ${slot}`);
    const args = ['host', 'start', '--broker', this.broker, '--host-id', hostId, '--capacity', String(this.options.capacity), '--preset', this.options.preset,
      '--backend', this.options.backend, '--data-dir', this.folder(hostId), '--allow-local-code', ...(hopPeer !== undefined ? ['--hop-peer', hopPeer] : []),
      // Pipes between sessions on different hosts cross the host's own address (its namespace's, when it has one).
      '--pipe-address', at.address];
    const { child, first } = await this.spawnMfbench<{ hostId: string; pid: number }>([...at.prefix], args);
    return { hostId: first.hostId, pid: child.pid!, child };
  }

  /**
   * Starts a frontend on loopback with the data folder `name` (the same name again: the same frontend id, as a
   * restart on its data folder); resolves with its URL, token and process.
   */
  async startFrontend(name = 'frontend'): Promise<{ url: string; token: string; child: ChildProcess }> {
    const args = ['platform', 'start', '--hosts', 'remote', '--broker', this.broker, '--port', '0', '--preset', this.options.preset, '--backend', this.options.backend,
      '--data-dir', this.folder(name), '--allow-local-code'];
    const { child, first } = await this.spawnMfbench<{ url: string; token: string }>([], args);
    return { ...first, child };
  }

  /** The data folder of the host or frontend `name` (its sandboxes' sockets live under a host's). */
  folder(name: string): string {
    return join(this.dir, name);
  }

  /** Sends `signal` to a process of this round by its pid and waits for it to exit. */
  async kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    this.signalled.add(child);
    process.kill(child.pid!, signal);
    await exited;
  }

  /** Stops every process of the round by pid (SIGTERM, SIGKILL after a grace period) and removes its folder. */
  async close(): Promise<void> {
    // Hosts and frontends first (they leave the registry cleanly), the broker last.
    const [nats, ...rest] = this.children;
    await Promise.all(rest.map((c) => this.stop(c)));
    if (nats !== undefined) await this.stop(nats);
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }

  private async stop(child: ChildProcess): Promise<void> {
    const killer = setTimeout(() => child.pid !== undefined && child.exitCode === null && child.signalCode === null && process.kill(child.pid, 'SIGKILL'), STOP_GRACE_MS);
    try {
      await this.kill(child, 'SIGTERM');
    } catch {
      // already gone
    } finally {
      clearTimeout(killer);
    }
  }

  /** Spawns `[...prefix] node main.js <args>` and resolves with its first stdout line as JSON (its stderr if it exits first). */
  private async spawnMfbench<T>(prefix: string[], args: string[]): Promise<{ child: ChildProcess; first: T }> {
    const argv = [...prefix, process.execPath, MAIN, ...args];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    const what = `mfbench ${args.slice(0, 2).join(' ')}`;
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new MfError('MF_INTERNAL', `${what} printed nothing within ${READY_MS} ms:\n${stderr}`)), READY_MS);
      createInterface({ input: child.stdout! }).once('line', (l) => {
        clearTimeout(timer);
        resolve(l);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new MfError('MF_INTERNAL', `${what} exited (${code}) before it was ready:\n${stderr}`));
      });
    });
    child.stdout!.resume(); // keep reading, so a chatty child never blocks on a full pipe
    // A process that dies on its own (not by a signal this round sent) says why on the run's stderr.
    child.once('exit', (code, signal) => {
      if (!this.signalled.has(child)) process.stderr.write(`[mfbench] multi-host: ${what} (pid ${child.pid}) exited by itself (${code ?? signal}):\n${stderr}\n`);
    });
    return { child, first: JSON.parse(line) as T };
  }
}

/** The port nats-server logs it listens on, once it is ready. */
function natsPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let log = '';
    let port: number | null = null;
    const timer = setTimeout(() => reject(new MfError('MF_INTERNAL', `nats-server was not ready within ${READY_MS} ms:\n${log}`)), READY_MS);
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      port ??= Number(/Listening for client connections on \S+:(\d+)/.exec(log)?.[1] ?? NaN) || null;
      if (port !== null && log.includes('Server is ready')) {
        clearTimeout(timer);
        child.stderr!.removeAllListeners('data');
        child.stderr!.resume();
        resolve(port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new MfError('MF_INTERNAL', `nats-server exited (${code}) before it was ready:\n${log}`));
    });
  });
}
