/**
 * The hostile-app suite (docs/security.md): a spy function tries each breach of issue 13 against a victim app and
 * against the platform, on every isolating backend this machine has (bwrap; the process backend on a root platform,
 * with a user per app; docker when an engine answers or MFBENCH_REQUIRE_DOCKER=1), and every attempt must fail.
 * A last case runs the plain process backend as a non-root user and pins which breaches it does not stop, so that
 * docs/security.md says what is true rather than what we hope.
 *
 * Traffic goes only to loopback: the platform's own port and a listener this test opens on 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { UserConfig } from '../dist/platform/config.js';
import { startPlatform, type PlatformHandle } from '../dist/platform/frontend/index.js';
import { bwrapUsable } from '../dist/platform/sandbox/bwrap-backend.js';
import { RUN_DOCKER_TESTS, dockerWithRuntimeImage, noteDockerSkipped } from './helpers/docker.js';
import { call } from './helpers/platform.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const fixture = (name: string) => readFileSync(join(here, 'fixtures/hostile-app', name)).toString('base64');
const CLI = join(here, '../dist/cli/main.js');
const IS_ROOT = process.getuid?.() === 0;
/** The unprivileged user the plain case runs its platform as, when this test runs as root. */
const NOBODY = 65534;

const BREACHES = [
  'readVictimCode',
  'overwriteVictimCode',
  'overwriteOwnCode',
  'readVictimStorage',
  'readToken',
  'readPlatformEnv',
  'reachPlatformPort',
  'callManagementApi',
  'outboundConnection',
  'signalVictim',
  'writePlatformStdout',
] as const;
type Breach = (typeof BREACHES)[number] | 'leaveChildren';
type Report = Record<(typeof BREACHES)[number] | 'childStarted', { breached: boolean; detail: string }>;

/** A running platform the suite attacks, however it was started. */
interface Target {
  url: string;
  token: string;
  pid: number;
  dataDir: string;
  /** Everything the platform process printed on stdout so far. */
  stdout(): string;
  close(): Promise<void>;
}

/** What one run of the spy found, plus what the test saw from outside. */
interface Outcome {
  report: Report;
  breached: Set<Breach>;
  listenerConnections: number;
  victimAfterReclaim: unknown;
  spyLogs: string[];
  childrenLeft: number[];
  /** Children the spy started in its own process group that outlived the platform. */
  groupChildrenLeft: number[];
}

const MARKER_NAME = `MFBENCH_HOSTILE_${randomBytes(4).toString('hex').toUpperCase()}`;
process.env[MARKER_NAME] = 'the platform environment';

async function attack(target: Target): Promise<Outcome> {
  const p = { url: target.url, token: target.token };
  const stdoutMarker = `hostile-stdout-${randomBytes(6).toString('hex')}`;
  const childMarker = `hostile-child-${randomBytes(6).toString('hex')}`;
  const groupChildMarker = `hostile-group-child-${randomBytes(6).toString('hex')}`;
  const listener = await openListener();
  try {
    const fn = (name: string, file: string) => ({ name, handler: 'index.handler', code: { files: { 'index.mjs': fixture(file) } } });
    expect((await call(p, 'POST', '/apps', { name: 'victim', functions: [fn('victim', 'victim.mjs')] })).status).toBe(201);
    expect((await call(p, 'POST', '/apps', { name: 'spy', functions: [fn('spy', 'spy.mjs')] })).status).toBe(201);
    const first = await call(p, 'POST', '/apps/victim/functions/victim/invocations', {});
    expect(first.body.output).toEqual({ version: 'original' });

    const victimSandboxes = (await call(p, 'GET', '/apps/victim')).body.sandboxes as Array<{ pid: number | null }>;
    const roots = victimSandboxes.map((s) => s.pid).filter((pid): pid is number => pid !== null);
    expect(roots.length).toBeGreaterThan(0);
    const url = new URL(target.url);
    const event = {
      victimCodeFile: findFile(target.dataDir, ['apps', 'victim', 'victim', 'index.mjs']),
      ownCodeFile: findFile(target.dataDir, ['apps', 'spy', 'spy', 'index.mjs']),
      victimStorageFile: join(target.dataDir, 'storage', 'victim', 'journal.jsonl'),
      tokenFile: join(target.dataDir, 'token'),
      markerName: MARKER_NAME,
      platformPid: target.pid,
      platformUrl: target.url,
      platformHost: url.hostname,
      platformPort: Number(url.port),
      listenerPort: (listener.server.address() as { port: number }).port,
      // Host pids of the victim's sandbox and every process in it.
      victimPids: roots.flatMap((pid) => [pid, ...descendants(pid)]),
      stdoutMarker,
      childMarker,
      groupChildMarker,
    };
    const spied = await call(p, 'POST', '/apps/spy/functions/spy/invocations', event);
    expect(spied.body.status, JSON.stringify(spied.body)).toBe('SUCCEEDED');
    const report = spied.body.output as Report;

    // The victim still runs its own code, after a reclaim too (an overwrite would persist across it).
    await call(p, 'POST', '/apps/victim/reclaim');
    const after = await call(p, 'POST', '/apps/victim/functions/victim/invocations', {});
    const spyLogs = ((await call(p, 'GET', '/apps/spy/logs')).body.logs as Array<{ message: string }>).map((l) => l.message);
    await target.close();
    const childrenLeft = await settle(() => processesWith(childMarker));
    const groupChildrenLeft = await settle(() => processesWith(groupChildMarker));

    const breached = new Set<Breach>(BREACHES.filter((b) => report[b].breached));
    if (childrenLeft.length > 0) breached.add('leaveChildren');
    return { report, breached, listenerConnections: listener.connections(), victimAfterReclaim: after.body.output, spyLogs, childrenLeft, groupChildrenLeft };
  } finally {
    listener.server.close();
    for (const pid of [...processesWith(childMarker), ...processesWith(groupChildMarker)]) process.kill(pid, 'SIGKILL'); // the plain case leaves one
  }
}

/** Every breach fails, and the test sees the same from outside. */
function expectContained(o: Outcome, stdoutOfPlatform: string): void {
  const marker = o.report.childStarted.detail;
  expect([...o.breached], JSON.stringify(o.report, null, 1)).toEqual([]);
  expect(o.listenerConnections).toBe(0);
  expect(o.victimAfterReclaim).toEqual({ version: 'original' });
  expect(o.childrenLeft).toEqual([]);
  expect(o.groupChildrenLeft).toEqual([]);
  // What the spy printed is in its app's logs, and never in the platform's stdout.
  expect(o.spyLogs.some((l) => l.startsWith('hostile-stdout-'))).toBe(true);
  expect(stdoutOfPlatform).not.toMatch(/hostile-stdout-/);
  expect(marker).toMatch(/^\d+$/); // the spy did start its child
}

async function inProcess(config: UserConfig): Promise<Target & { handle: PlatformHandle }> {
  // Under /tmp itself: app users must be able to pass through every folder above the data folder (the test run's
  // own TMPDIR is root's alone). The folder is removed at close.
  const dataDir = await mkdtemp('/tmp/mfhostile-');
  const handle = await startPlatform({ port: 0, dataDir, ...config });
  return {
    handle,
    url: handle.url,
    token: handle.token,
    pid: process.pid,
    dataDir,
    stdout: () => '', // this process's stdout is vitest's; capture is checked through the app's logs
    async close() {
      await handle.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

describe.runIf(IS_ROOT)('hostile app: process backend on a root platform (a user per app)', () => {
  test('every breach fails', async () => {
    const target = await inProcess({ backend: 'process' });
    expect(target.handle.platform.appUsers).toBe(true);
    expectContained(await attack(target), target.stdout());
  });
});

const bwrap = bwrapUsable();
if (!bwrap.ok) process.stderr.write(`hostile app on bwrap skipped: ${bwrap.detail}\n`);
describe.runIf(bwrap.ok || process.env.CI === 'true')('hostile app: bwrap backend', () => {
  test('every breach fails', async () => {
    expect(bwrap, 'CI installs bubblewrap (.ci/run)').toMatchObject({ ok: true });
    const target = await inProcess({ backend: 'bwrap' });
    expectContained(await attack(target), target.stdout());
  });
});

noteDockerSkipped('hostile app on docker');
describe.runIf(RUN_DOCKER_TESTS)('hostile app: docker backend', () => {
  beforeAll(async () => {
    await dockerWithRuntimeImage();
  });
  test('every breach fails', async () => {
    const target = await inProcess({ backend: 'docker' });
    expectContained(await attack(target), target.stdout());
  });
});

describe('hostile app: plain process backend, platform not root', () => {
  let target: (Target & { child: ChildProcess }) | null = null;
  afterAll(async () => {
    await target?.close();
  });

  test('what it does not stop (docs/security.md), and what it does', async () => {
    target = await cliPlatform();
    const o = await attack(target);
    // Functions run as the platform's user, with no namespaces: these all succeed, as docs/security.md says.
    // (Writing into the platform's stdout through /proc depends on who owns that pipe, so it is not pinned here.)
    expect([...o.breached].filter((b) => b !== 'writePlatformStdout').sort()).toEqual(
      ['callManagementApi', 'leaveChildren', 'outboundConnection', 'overwriteOwnCode', 'overwriteVictimCode', 'reachPlatformPort', 'readPlatformEnv', 'readToken', 'readVictimCode', 'readVictimStorage', 'signalVictim'].sort(),
    );
    expect(o.report.readPlatformEnv.detail).toMatch(/proc/);
    expect(o.victimAfterReclaim).toEqual({ version: 'tampered' });
    expect(o.groupChildrenLeft).toEqual([]); // a child in its worker's process group goes with the sandbox // not through its own environment: that is scrubbed
    // What it does stop: a function's own output goes to the app's logs, not into the {url, token} channel.
    expect(o.spyLogs.some((l) => l.startsWith('hostile-stdout-'))).toBe(true);
    expect(target.stdout()).not.toMatch(/hostile-stdout-[0-9a-f]+\n/);
  });
});

/** `mfbench platform start --backend process` as a non-root user (nobody, when this test runs as root). */
async function cliPlatform(): Promise<Target & { child: ChildProcess }> {
  const dataDir = await mkdtemp('/tmp/mfhostile-plain-'); // nobody must reach it (the run's TMPDIR is root's alone)
  if (IS_ROOT) chownSync(dataDir, NOBODY, NOBODY);
  const child = spawn(process.execPath, [CLI, 'platform', 'start', '--backend', 'process', '--port', '0', '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, [MARKER_NAME]: 'the platform environment' },
    ...(IS_ROOT ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!out.includes('\n')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the platform did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const { url, token } = JSON.parse(out.slice(0, out.indexOf('\n'))) as { url: string; token: string };
  let closing: Promise<void> | null = null;
  return {
    child,
    url,
    token,
    pid: child.pid!,
    dataDir,
    stdout: () => out,
    close() {
      closing ??= (async () => {
        if (child.exitCode === null) child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
        await rm(dataDir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

/** The one file under the run folder of `dataDir` (its name is random). */
function findFile(dataDir: string, parts: string[]): string {
  const run = readdirSync(dataDir).find((d) => d.startsWith('run-'));
  if (!run) throw new Error(`no run folder in ${dataDir}`);
  return join(dataDir, run, ...parts);
}

/** Host pids of every process below `root`, from /proc. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) for (const c of children.get(queue.shift()!) ?? []) found.push(c), queue.push(c);
  return found;
}

/** Host pids whose command line holds `marker`. */
function processesWith(marker: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'latin1').includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Polls `find` for up to 5 s until it is empty (processes take a moment to die); returns what is left. */
async function settle(find: () => number[]): Promise<number[]> {
  const end = Date.now() + 5000;
  let left = find();
  while (left.length > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    left = find();
  }
  return left;
}

/** A TCP listener on loopback that counts the connections it accepts. */
async function openListener(): Promise<{ server: Server; connections(): number }> {
  let n = 0;
  const server = createServer((socket) => {
    n++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, connections: () => n };
}
