/**
 * The cold path (docs/architecture.md#decisions): the app goes into the sandbox with its creation, the agent deploys it
 * as it starts and forks the pool's first runtime before it loads the rest of itself, and the first invocation takes
 * that runtime rather than booting one of its own. Real agent processes on the process backend, from dist/ (run
 * `npm run build` first). Nothing here is timed: the records say where each runtime came from.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { plain } from '../dist/platform/asl/raw-json.js';
import { MfError } from '../dist/platform/errors.js';
import { SANDBOX_APP_FILE, type SandboxAppSpec } from '../dist/platform/protocol.js';
import { SandboxLink } from '../dist/platform/frontend/sandbox-link.js';
import { ProcessBackend } from '../dist/platform/sandbox/process-backend.js';
import type { DoneMessage } from '../dist/platform/protocol.js';

/** A done message's status and output as plain values (an output arrives as the framed bytes, a RawJson). */
const outcome = (done: DoneMessage) => ({ status: done.result.status, output: done.result.status === 'SUCCEEDED' ? plain(done.result.output) : undefined });

const fixtures = fileURLToPath(new URL('../platform/runtime/fixtures/', import.meta.url));

function appSpec(poolSize: number, functions = ['fn']): SandboxAppSpec {
  return {
    app: 'coldapp',
    functions: functions.map((name) => ({ app: 'coldapp', name, handler: 'index.echo', codeDir: join(fixtures, 'esm'), memoryMB: 128, timeoutMs: 30_000, env: {} })),
    workflows: {},
    startWorkersAtDeploy: false,
    policy: { poolSize, workerConcurrency: 1, maxWorkersPerFunction: 1, keepAliveMs: 60_000, recoveryAttempts: 0, checkpoints: false, limits: { maxTransitions: 25_000, maxDurationMs: 3_600_000 }, maxResultBytes: 6 * 1024 * 1024, handover: true, history: { maxExecutions: 100, maxBytes: 1 << 20 } },
  };
}

const handlers = {
  storage: async () => ({ ok: false as const, error: new MfError('MF_INTERNAL', 'no storage in this test').toJSON() }),
  checkpoints: () => undefined,
  output: () => undefined,
  sessionEnded: () => undefined,
  pipeBroker: async () => ({ ok: false as const, error: new MfError('MF_INTERNAL', 'no sessions in this test').toJSON() }),
  sessionTask: async () => ({ ok: false as const, error: new MfError('MF_INTERNAL', 'no sessions in this test').toJSON() }),
};

let backend: ProcessBackend;
let root: string;
let next = 0;
const links: SandboxLink[] = [];

beforeAll(async () => {
  backend = new ProcessBackend();
  root = await mkdtemp(join(tmpdir(), 'mfcold-'));
});
afterEach(async () => {
  for (const link of links.splice(0)) await link.destroy();
});
afterAll(async () => {
  await backend.close();
  await rm(root, { recursive: true, force: true });
});

async function start(app: SandboxAppSpec): Promise<{ link: SandboxLink; dir: string }> {
  const sandboxId = `c${next++}`;
  const dir = join(root, sandboxId);
  const link = await SandboxLink.create(backend, { sandboxId, dir, readPaths: [] }, app, handlers);
  links.push(link);
  return { link, dir };
}

describe('cold path: the app goes in with the sandbox', () => {
  test('the agent deploys the app it was created with, removes its file, and reports when it dialled back', async () => {
    const { link, dir } = await start(appSpec(2));
    // Deployed without a deploy message: the file is consumed, and the start times split the start in phases.
    expect(existsSync(join(dir, SANDBOX_APP_FILE))).toBe(false);
    const s = link.startTimes;
    expect(s.connectMs).toBeGreaterThan(0);
    expect(s.connectMs).toBeLessThanOrEqual(s.totalMs);
    expect(s.createMs).toBeLessThanOrEqual(s.totalMs);

    const cold = await link.request({ header: { t: 'invoke', id: 'r1', fn: 'fn', sandboxStart: s }, payload: Buffer.from('{"n":1}') });
    expect(outcome(cold)).toEqual({ status: 'SUCCEEDED', output: { echo: { n: 1 } } });
    const r = cold.records[0]!;
    // Temperature by identity, unchanged: the request created the sandbox and its worker was started for it.
    expect(r.temperature).toBe('cold-sandbox');
    // The runtime forked as the agent started: the invocation never booted one of its own.
    expect(r.workerOrigin).toBe('pool');
    expect(r.coldStart.runtimeBootMs).toBeUndefined();
    expect(r.coldStart).toMatchObject({ sandboxCreateMs: s.createMs, sandboxConnectMs: s.connectMs, sandboxStartMs: s.totalMs });
    if (r.coldStart.runtimeWaitMs !== undefined) expect(r.coldStart.runtimeWaitMs).toBeGreaterThanOrEqual(0);

    const warm = await link.request({ header: { t: 'invoke', id: 'r2', fn: 'fn', sandboxStart: null }, payload: Buffer.from('2') });
    expect(warm.records[0]).toMatchObject({ temperature: 'warm', workerOrigin: 'existing', workerPid: r.workerPid });
  });

  test('without a pool no runtime is booted ahead: the first invocation boots its own (the pool ablation stays honest)', async () => {
    const { link } = await start(appSpec(0));
    const cold = await link.request({ header: { t: 'invoke', id: 'r1', fn: 'fn', sandboxStart: link.startTimes }, payload: Buffer.from('1') });
    const r = cold.records[0]!;
    expect(r.temperature).toBe('cold-sandbox');
    expect(r.workerOrigin).toBe('spawn');
    expect(r.coldStart.runtimeBootMs).toBeGreaterThan(0);
    expect(r.coldStart.runtimeWaitMs).toBeUndefined();
  });

  test('concurrent first invocations of two functions each get a runtime of their own', async () => {
    const { link } = await start(appSpec(1, ['a', 'b']));
    const [a, b] = await Promise.all([
      link.request({ header: { t: 'invoke', id: 'ra', fn: 'a', sandboxStart: link.startTimes }, payload: Buffer.from('"a"') }),
      link.request({ header: { t: 'invoke', id: 'rb', fn: 'b', sandboxStart: null }, payload: Buffer.from('"b"') }),
    ]);
    expect(outcome(a)).toEqual({ status: 'SUCCEEDED', output: { echo: 'a' } });
    expect(outcome(b)).toEqual({ status: 'SUCCEEDED', output: { echo: 'b' } });
    const ra = a.records[0]!;
    const rb = b.records[0]!;
    expect(ra.temperature).toBe('cold-sandbox');
    expect(rb.temperature).toBe('cold-worker');
    expect(ra.workerPid).not.toBe(rb.workerPid);
    // A boot is claimed by one worker start only; whichever found none booted its own or took the refill's.
    expect([ra.workerOrigin, rb.workerOrigin].every((o) => o === 'pool' || o === 'spawn')).toBe(true);
    if (ra.workerOrigin === 'spawn') expect(ra.coldStart.runtimeBootMs).toBeGreaterThan(0);
    if (rb.workerOrigin === 'spawn') expect(rb.coldStart.runtimeBootMs).toBeGreaterThan(0);
  });
});
