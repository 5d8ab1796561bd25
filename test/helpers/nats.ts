/**
 * A real NATS JetStream server for tests, and the rule for when such tests run (docs/distributed.md): they run when
 * `nats-server` is on the PATH, or when MFBENCH_REQUIRE_NATS=1 (CI sets it): then a missing server fails the suite in
 * its beforeAll instead of skipping it.
 *
 *   import { RUN_NATS_TESTS, noteNatsSkipped, startNatsServer, type NatsServer } from './helpers/nats.js';
 *   noteNatsSkipped('my broker tests');
 *   describe.runIf(RUN_NATS_TESTS)('…', () => {
 *     let nats: NatsServer;
 *     beforeAll(async () => { nats = await startNatsServer(); });
 *     afterAll(() => nats?.stop());
 *   });
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** MFBENCH_REQUIRE_NATS=1: a missing nats-server is a failure, not a reason to skip. */
export const REQUIRED = process.env.MFBENCH_REQUIRE_NATS === '1';

const probe = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
/** The server's version line, or null when there is no nats-server on the PATH. */
export const NATS_VERSION: string | null = probe.status === 0 ? probe.stdout.trim() : null;

/** Whether broker suites run: `describe.runIf(RUN_NATS_TESTS)`. */
export const RUN_NATS_TESTS = NATS_VERSION !== null || REQUIRED;

export function noteNatsSkipped(what: string): void {
  if (RUN_NATS_TESTS) return;
  process.stderr.write(`${what} skipped: no nats-server on the PATH\n  to run them: apt-get install nats-server; MFBENCH_REQUIRE_NATS=1 makes a missing server fail the tests\n`);
}

export interface NatsServer {
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  readonly pid: number;
  /** Kills the server by its pid and removes its store directory. */
  stop(): Promise<void>;
  /** SIGKILLs the server by its pid and keeps its store: a broker lost mid-run. */
  kill(): Promise<void>;
  /** Starts the killed server again on the same port and store directory; resolves once it is ready. */
  restart(): Promise<void>;
}

/** Starts `nats-server -js` on a free loopback port with a fresh store directory; resolves once it is ready. */
export async function startNatsServer(): Promise<NatsServer> {
  if (NATS_VERSION === null) throw new Error('MFBENCH_REQUIRE_NATS=1 but there is no nats-server on the PATH');
  const storeDir = await mkdtemp(join(tmpdir(), 'mfbench-nats-'));
  const port = await freePort();
  let child: ChildProcess;
  const launch = async (): Promise<void> => {
    child = spawn('nats-server', ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      await ready(child, 30_000);
    } catch (err) {
      await kill();
      throw err;
    }
  };
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(child.pid!, 'SIGKILL');
      await exited;
    }
  };
  const stop = async (): Promise<void> => {
    await kill();
    await rm(storeDir, { recursive: true, force: true });
  };
  try {
    await launch();
  } catch (err) {
    await rm(storeDir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    get pid() {
      return child.pid!;
    },
    stop,
    kill,
    restart: launch,
  };
}

/** A port nothing listens on right now (the server takes it a moment later). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves when the server logs that it is ready; rejects with its log if it exits or takes longer than `timeoutMs`. */
function ready(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`nats-server was not ready within ${timeoutMs} ms:\n${log}`)), timeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${code}) before it was ready:\n${log}`));
    });
  });
}

export interface NatsCluster {
  /** nats://127.0.0.1:<p1>,nats://127.0.0.1:<p2>,… (the broker option's form for a cluster) */
  readonly url: string;
  readonly nodes: ReadonlyArray<{ readonly url: string; readonly pid: number; kill(): Promise<void> }>;
  /** Kills every node by its pid and removes their stores. */
  stop(): Promise<void>;
}

/**
 * A JetStream cluster of `size` nats-server processes on loopback (client and route ports free, a store each), routed
 * to one another; resolves once every node is ready. Whether JetStream has elected its meta leader is the caller's to
 * wait for (a client's first JetStream call answers once it has).
 */
export async function startNatsCluster(size: number): Promise<NatsCluster> {
  if (NATS_VERSION === null) throw new Error('MFBENCH_REQUIRE_NATS=1 but there is no nats-server on the PATH');
  const ports: Array<{ client: number; route: number }> = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), route: await freePort() });
  const stores = await Promise.all(ports.map(() => mkdtemp(join(tmpdir(), 'mfbench-nats-node-'))));
  const children = ports.map((p, i) =>
    spawn(
      'nats-server',
      ['-js', '-sd', stores[i]!, '-a', '127.0.0.1', '-p', String(p.client), '-n', `mfbench-node-${i}`, '--cluster_name', 'mfbench', '--cluster', `nats://127.0.0.1:${p.route}`,
        '--routes', ports.filter((_, j) => j !== i).map((q) => `nats://127.0.0.1:${q.route}`).join(',')],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    ),
  );
  const killOne = async (child: ChildProcess): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(child.pid!, 'SIGKILL');
      await exited;
    }
  };
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(killOne));
    await Promise.all(stores.map((d) => rm(d, { recursive: true, force: true })));
  };
  try {
    await Promise.all(children.map((c) => ready(c, 30_000)));
  } catch (err) {
    await stop();
    throw err;
  }
  const urls = ports.map((p) => `nats://127.0.0.1:${p.client}`);
  return { url: urls.join(','), nodes: children.map((c, i) => ({ url: urls[i]!, pid: c.pid!, kill: () => killOne(c) })), stop };
}
