/**
 * End to end on the docker backend: a real platform, real containers from the locally built runtime image, real
 * HTTP. Checks grouped sandboxing by container (one container per app, identified by its labels), the isolation
 * the backend promises (read-only code, no network), faults, orphan cleanup, and that no container outlives the run.
 *
 * Skipped when no Docker engine answers, unless MFBENCH_REQUIRE_DOCKER=1 (CI sets it): then a missing engine or
 * image fails the suite. To run it locally: start dockerd (`dockerd > /tmp/dockerd.log 2>&1 &` as root), then
 * `npm test` (the image is built in beforeAll when missing; `npx mfbench images build` does it by hand).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, chain, inlineFunction, testPlatform } from './helpers/platform.js';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import type { InvocationRecord } from '../dist/platform/records.js';
import type { Docker } from '../dist/platform/sandbox/docker/engine.js';
import { buildRuntimeImage, IMAGE_REPO } from '../dist/platform/sandbox/docker/image.js';
import { DockerBackend, type DockerSandbox, type DockerSandboxExit } from '../dist/platform/sandbox/docker/backend.js';
import { LABEL } from '../dist/platform/sandbox/docker/owner.js';
import { dockerWithRuntimeImage, noteDockerSkipped, RUN_DOCKER_TESTS } from './helpers/docker.js';

noteDockerSkipped('docker tests');

const OWNER = `${hostname()}:${process.pid}`;
const NOOP = `export const handler = async (event, context) => ({ ...event, steps: (event.steps ?? 0) + 1, last: context.functionName });`;
const STEPS = ['step1', 'step2', 'step3', 'step4', 'step5'];
const PROBES = {
  writer: `import { writeFileSync, readFileSync } from 'node:fs';
export const handler = async () => {
  const attempt = (path) => { try { writeFileSync(path, 'x'); return 'ok'; } catch (e) { return e.code; } };
  return { code: attempt(process.env.LAMBDA_TASK_ROOT + '/written.txt'), tmp: attempt('/tmp/probe.txt'), ownCode: readFileSync(process.env.LAMBDA_TASK_ROOT + '/index.mjs', 'utf8').length > 0 };
};`,
  net: `import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
export const handler = async ({ host, port }) => {
  const result = await new Promise((resolve) => {
    const s = connect({ host, port, timeout: 3000 });
    s.once('connect', () => { s.destroy(); resolve('connected'); });
    s.once('timeout', () => { s.destroy(); resolve('timeout'); });
    s.once('error', (e) => resolve(e.code));
  });
  return { interfaces: Object.keys(networkInterfaces()).sort(), result };
};`,
  // Marks its start in the container's /tmp, which the host reads through /proc/<pid>/root.
  sleeper: `import { writeFileSync } from 'node:fs';
export const handler = async (event) => { if (event.mark) writeFileSync('/tmp/started-' + event.mark, ''); await new Promise((r) => setTimeout(r, event.ms)); return { slept: event.ms, pid: process.pid }; };`,
};

/** Containers on the engine with all these labels (running or not). */
async function containers(docker: Docker, labels: Record<string, string>) {
  return docker.listContainers({ all: true, filters: { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) } });
}

/**
 * The host pid of a process known by its pid inside a container: the process in the same pid namespace as the
 * container's init whose NSpid line ends with the inner pid.
 */
function hostPidOf(containerInitPid: number, innerPid: number): number {
  const ns = readlinkSync(`/proc/${containerInitPid}/ns/pid`);
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/pid`) !== ns) continue;
      const nspid = /^NSpid:\s+(.+)$/m.exec(readFileSync(`/proc/${name}/status`, 'utf8'))?.[1]?.trim().split(/\s+/);
      if (nspid && Number(nspid[nspid.length - 1]) === innerPid) return Number(name);
    } catch {
      // the process went away while we looked
    }
  }
  throw new Error(`no process with pid ${innerPid} in the pid namespace of ${containerInitPid}`);
}

describe.runIf(RUN_DOCKER_TESTS)('the docker backend', () => {
  let docker: Docker;
  let p: PlatformHandle;
  const run = (app: string, wf: string, input: unknown = {}) => call(p, 'POST', `/apps/${app}/workflows/${wf}/executions`, input);

  beforeAll(async () => {
    const ready = await dockerWithRuntimeImage(); // the build is skipped (well under a second) when the tag exists
    docker = ready.docker;
    expect(ready.image.tag).toMatch(new RegExp(`^${IMAGE_REPO}:[0-9a-f]{16}$`));
    p = await testPlatform({ backend: 'docker' });
    const deployed = await call(p, 'POST', '/apps', { name: 'chain5', functions: STEPS.map((s) => inlineFunction(s, NOOP)), workflows: { main: chain(STEPS) } });
    expect(deployed.status).toBe(201);
    const probes = await call(p, 'POST', '/apps', {
      name: 'probes',
      functions: Object.entries(PROBES).map(([name, src]) => inlineFunction(name, src, { timeoutSeconds: 20 })),
      workflows: Object.fromEntries(Object.keys(PROBES).map((f) => [f, chain([f])])),
    });
    expect(probes.status).toBe(201);
  }, 180_000);

  afterAll(async () => {
    await p?.close();
  });

  test('the first execution is cold-sandbox then cold-worker, in exactly one container for the app', async () => {
    expect(await containers(docker, { [LABEL.owner]: OWNER, [LABEL.app]: 'chain5' })).toHaveLength(0); // created on first use
    const r = await run('chain5', 'main', { n: 0 });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('SUCCEEDED');
    expect(r.body.output).toEqual({ n: 0, steps: 5, last: 'step5' });
    const records: InvocationRecord[] = r.body.records;
    expect(records.map((x) => x.temperature)).toEqual(['cold-sandbox', 'cold-worker', 'cold-worker', 'cold-worker', 'cold-worker']);
    expect(new Set(records.map((x) => x.sandboxId)).size).toBe(1);
    expect(new Set(records.map((x) => x.workerPid)).size).toBe(5);
    expect(records[0]!.coldStart.sandboxStartMs).toBeGreaterThan(0);

    const mine = await containers(docker, { [LABEL.owner]: OWNER, [LABEL.app]: 'chain5' });
    expect(mine).toHaveLength(1);
    const c = mine[0]!;
    expect(c.State).toBe('running');
    expect(c.Labels[LABEL.sandbox]).toBe(records[0]!.sandboxId);
    expect(c.Labels[LABEL.testbed]).toBe('1');
    expect(c.HostConfig.NetworkMode).toBe('none');
    const info = await docker.getContainer(c.Id).inspect();
    expect(info.HostConfig.Memory).toBeGreaterThan(0);
    expect(info.HostConfig.NanoCpus).toBeGreaterThan(0);
    const app = await call(p, 'GET', '/apps/chain5');
    expect(app.body.sandboxes).toEqual([expect.objectContaining({ id: records[0]!.sandboxId, backend: 'docker', pid: info.State.Pid })]);
    // The workers are processes of that container (its pid namespace), as seen from the host.
    for (const x of records) expect(hostPidOf(info.State.Pid, x.workerPid)).toBeGreaterThan(0);
  });

  test('later executions are warm on the same container and worker pids', async () => {
    const first = await run('chain5', 'main', { n: -1 });
    const pids = first.body.records.map((x: InvocationRecord) => x.workerPid);
    const sandboxId = first.body.records[0].sandboxId;
    for (let i = 1; i <= 30; i++) {
      const r = await run('chain5', 'main', { n: i });
      expect(r.body.status).toBe('SUCCEEDED');
      expect(r.body.output).toEqual({ n: i, steps: 5, last: 'step5' });
      const records: InvocationRecord[] = r.body.records;
      expect(records.map((x) => x.temperature)).toEqual(Array(5).fill('warm'));
      expect(records.map((x) => x.workerPid)).toEqual(pids);
      expect(records.every((x) => x.sandboxId === sandboxId)).toBe(true);
    }
    const concurrent = await Promise.all(Array.from({ length: 10 }, (_, i) => run('chain5', 'main', { c: i })));
    concurrent.forEach((r, i) => expect(r.body.output).toEqual({ c: i, steps: 5, last: 'step5' }));
    expect(await containers(docker, { [LABEL.owner]: OWNER, [LABEL.app]: 'chain5' })).toHaveLength(1);
  });

  test('function code is mounted read-only; /tmp is writable', async () => {
    const r = await run('probes', 'writer');
    expect(r.body.status).toBe('SUCCEEDED');
    expect(r.body.output).toEqual({ code: 'EROFS', tmp: 'ok', ownCode: true });
  });

  test('the network is none: only a loopback interface, and the host cannot be reached', async () => {
    const hostIp = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    expect(hostIp, 'the host has no non-loopback IPv4 address to try').toBeDefined();
    const server: Server = createServer((s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      // The host itself can reach the server, so a failure from inside is the sandbox's doing.
      expect(await tcpProbe(hostIp!, port)).toBe('connected');
      const r = await run('probes', 'net', { host: hostIp, port });
      expect(r.body.status).toBe('SUCCEEDED');
      expect(r.body.output.interfaces).toEqual(['lo']);
      expect(r.body.output.result).toMatch(/^(ENETUNREACH|EHOSTUNREACH|ECONNREFUSED|timeout)$/);
      expect(r.body.output.result).not.toBe('connected');
    } finally {
      server.close();
    }
  });

  test('a worker killed mid-invocation is replaced by a fresh worker in the same container', async () => {
    const warm = await run('probes', 'sleeper', { ms: 1 });
    expect(warm.body.status).toBe('SUCCEEDED');
    const innerPid: number = warm.body.records[0].workerPid;
    const initPid: number = (await call(p, 'GET', '/apps/probes')).body.sandboxes[0].pid;
    const hostPid = hostPidOf(initPid, innerPid);
    const pending = run('probes', 'sleeper', { ms: 10_000, mark: 'kill-me' });
    // Kill only once the handler runs (not before the invocation reached the worker, however loaded the machine).
    const marker = `/proc/${hostPid}/root/tmp/started-kill-me`;
    await waitForAsync(async () => existsSync(marker), 8000);
    process.kill(hostPid, 'SIGKILL');
    const r = await pending;
    // Recovery (recoveryAttempts, on by default) runs the invocation again in a fresh worker of the same container.
    expect(r.body.status).toBe('SUCCEEDED');
    const records: InvocationRecord[] = r.body.records;
    expect(records.map((x) => x.outcome.state)).toEqual(['crashed', 'ok']);
    expect(records[1]!.workerPid).not.toBe(innerPid);
    expect(records[1]!.temperature).toBe('cold-worker');
    expect(records[1]!.sandboxId).toBe(warm.body.records[0].sandboxId); // same container
    const after = await run('probes', 'sleeper', { ms: 1 });
    expect(after.body.status).toBe('SUCCEEDED');
    expect(after.body.records[0].workerPid).toBe(records[1]!.workerPid);
    expect(after.body.records[0].temperature).toBe('warm');
  });

  test('deleting an app removes its container', async () => {
    const before = await containers(docker, { [LABEL.owner]: OWNER, [LABEL.app]: 'probes' });
    expect(before).toHaveLength(1);
    const del = await call(p, 'DELETE', '/apps/probes');
    expect(del.status).toBe(200);
    await waitForAsync(async () => (await containers(docker, { [LABEL.owner]: OWNER, [LABEL.app]: 'probes' })).length === 0, 15_000);
    await expect(docker.getContainer(before[0]!.Id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(await containers(docker, { [LABEL.owner]: OWNER, [LABEL.app]: 'chain5' })).toHaveLength(1);
  });

  test('a missing image is MF_IMAGE_MISSING with the command that builds it', async () => {
    const backend = new DockerBackend({ image: `${IMAGE_REPO}:does-not-exist` });
    await expect(backend.prepare()).rejects.toMatchObject({ code: 'MF_IMAGE_MISSING', details: { hint: expect.stringMatching(/mfbench images build/) } });
    await backend.close();
  });

  test('a container that dies at start gives MF_SANDBOX_START_FAILED (or an exit) with its last output lines', async () => {
    // node refuses an unknown flag and exits at once, printing why.
    const backend = new DockerBackend({ forwardOutput: false, nodeOptions: ['--no-such-node-flag'] });
    const dir = p.dataDir;
    let outcome: string;
    try {
      const sandbox = (await backend.create({ sandboxId: 'deadbeef', app: 'broken', dir, socketPath: `${dir}/bus.sock`, readPaths: [] })) as DockerSandbox;
      // It was running when create() looked: the death shows in `exited`, which the platform turns into the error.
      const exit = (await sandbox.exited) as DockerSandboxExit;
      expect(exit.code).toBe(9);
      outcome = exit.logTail?.join('\n') ?? '';
    } catch (err) {
      expect(err).toMatchObject({ code: 'MF_SANDBOX_START_FAILED', details: { sandboxId: 'deadbeef', code: 9 } });
      outcome = (err as Error).message;
    } finally {
      await backend.close();
    }
    expect(outcome).toMatch(/bad option: --no-such-node-flag/);
    expect(await containers(docker, { [LABEL.app]: 'broken', [LABEL.owner]: OWNER })).toHaveLength(0);
  });

  test('orphans of dead owners on this host are removed at start; containers of live owners are kept', async () => {
    const image = (await buildRuntimeImage({ docker })).tag;
    // A pid that just ended (a child we waited for) and a live process we own.
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => gone.once('exit', r));
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    const make = (owner: string, sandbox: string) =>
      docker.createContainer({ Image: image, Cmd: ['/usr/local/bin/node', '--version'], Labels: { [LABEL.testbed]: '1', [LABEL.owner]: owner, [LABEL.sandbox]: sandbox, [LABEL.app]: 'orphans' } });
    const orphan = await make(`${hostname()}:${gone.pid}`, 'orphan');
    const kept = await make(`${hostname()}:${live.pid}`, 'kept');
    const foreign = await make(`some-other-host:${gone.pid}`, 'foreign');
    try {
      const backend = new DockerBackend();
      await backend.prepare();
      await backend.close();
      expect(backend.orphansRemoved).toBeGreaterThanOrEqual(1);
      await expect(orphan.inspect()).rejects.toMatchObject({ statusCode: 404 });
      expect((await kept.inspect()).Id).toBe(kept.id);
      expect((await foreign.inspect()).Id).toBe(foreign.id);
    } finally {
      live.kill('SIGKILL');
      for (const c of [orphan, kept, foreign]) await c.remove({ force: true }).catch(() => undefined);
    }
  });

  test('after platform.close() no container of this run remains', async () => {
    expect((await containers(docker, { [LABEL.owner]: OWNER })).length).toBeGreaterThan(0);
    await p.close();
    expect(await containers(docker, { [LABEL.owner]: OWNER })).toEqual([]);
  });
});

async function waitForAsync(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A plain TCP connect from the host: 'connected', 'timeout' or the error code. */
function tcpProbe(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 3000 });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('timeout', () => {
      s.destroy();
      resolve('timeout');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}
