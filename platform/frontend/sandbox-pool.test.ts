/**
 * SandboxPool as a unit, with real sandboxes. The pool's only collaborator is its create() factory; the tests pass
 * what sandboxes.ts passes (SandboxLink.create on the process backend), so every sandbox is a real agent process.
 * Those processes run from the compiled dist/ (docs/development.md), so the pool and its collaborators are imported
 * from there too: run `npm run build` first.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { resolveConfig, type ResolvedConfig } from '../../dist/platform/config.js';
import { plain, RawJson } from '../../dist/platform/asl/raw-json.js';
import { MfError } from '../../dist/platform/errors.js';
import type { SandboxAppSpec } from '../../dist/platform/protocol.js';
import { SandboxLink } from '../../dist/platform/frontend/sandbox-link.js';
import { SandboxPool, type PoolOptions, type Slot } from '../../dist/platform/frontend/sandbox-pool.js';
import { ProcessBackend } from '../../dist/platform/sandbox/process-backend.js';

const fixtures = fileURLToPath(new URL('../runtime/fixtures/', import.meta.url));

/** A one-function app; `broken` loads a module that throws at deploy, so the sandbox never becomes ready. */
function appSpec(broken: boolean): SandboxAppSpec {
  return {
    app: 'poolapp',
    functions: [
      broken
        ? { app: 'poolapp', name: 'fn', handler: 'index.handler', codeDir: join(fixtures, 'init-throws'), memoryMB: 128, timeoutMs: 30_000, env: {} }
        : { app: 'poolapp', name: 'fn', handler: 'index.echo', codeDir: join(fixtures, 'esm'), memoryMB: 128, timeoutMs: 30_000, env: {} },
    ],
    workflows: {},
    // A broken app must fail while the sandbox starts, as under workerStart: deploy.
    startWorkersAtDeploy: broken,
    policy: { poolSize: 0, workerConcurrency: 1, maxWorkersPerFunction: 1, keepAliveMs: 60_000, recoveryAttempts: 0, checkpoints: false, limits: { maxTransitions: 25_000, maxDurationMs: 3_600_000 }, maxResultBytes: 6 * 1024 * 1024, handover: true, history: { maxExecutions: 100, maxBytes: 1 << 20 } },
  };
}

let backend: ProcessBackend;
let root: string;
let nextId = 0;
const pools: SandboxPool[] = [];

beforeAll(async () => {
  backend = new ProcessBackend();
  root = await mkdtemp(join(tmpdir(), 'mfpool-'));
});

afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.destroyAll({ close: true });
});

afterAll(async () => {
  await backend.close();
  await rm(root, { recursive: true, force: true });
});

/**
 * The create() input of a pool: real sandboxes (as sandboxes.ts makes them), plus a record of every call and every
 * link made, so tests can count sandbox starts. `broken` switches later starts to an app whose deploy fails.
 */
class Sandboxes {
  calls = 0;
  readonly made: SandboxLink[] = [];
  broken = false;

  readonly create = async (): Promise<SandboxLink> => {
    this.calls++;
    const sandboxId = `s${nextId++}`;
    const where = { sandboxId, dir: join(root, sandboxId), readPaths: [] };
    const handlers = {
      storage: async () => ({ ok: false as const, error: new MfError('MF_INTERNAL', 'no storage in this test').toJSON() }),
      checkpoints: () => undefined,
      output: () => undefined,
      sessionEnded: () => undefined,
      pipeBroker: async () => ({ ok: false as const, error: new MfError('MF_INTERNAL', 'no sessions in this test').toJSON() }),
      sessionTask: async () => ({ ok: false as const, error: new MfError('MF_INTERNAL', 'no sessions in this test').toJSON() }),
    };
    const link = await SandboxLink.create(backend, where, appSpec(this.broken), handlers);
    this.made.push(link);
    return link;
  };
}

function makePool(options: Pick<PoolOptions, 'capacity' | 'maxSandboxes'> & Partial<Pick<PoolOptions, 'keepAliveMs'>>): { pool: SandboxPool; sandboxes: Sandboxes } {
  const sandboxes = new Sandboxes();
  const pool = new SandboxPool({ keepAliveMs: 60_000, ...options, create: sandboxes.create });
  pools.push(pool);
  return { pool, sandboxes };
}

/** The pool options sandboxes.ts derives from a config (AppSandboxes.pool): capacity is what one sandbox's workers can take. */
function unitOptions(c: ResolvedConfig): { capacity: number; maxSandboxes: number } {
  return {
    capacity: c.workerConcurrency * c.maxWorkersPerFunction,
    maxSandboxes: c.sandboxing === 'per-function' ? c.maxSandboxesPerFunction : c.maxSandboxesPerApp,
  };
}

/** A promise whose outcome can be looked at without awaiting it (and whose rejection is never unhandled). */
function watch<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { promise, settled: () => settled };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Lets pending creations, setImmediate hand-outs and exit handlers run. */
async function settle(): Promise<void> {
  await sleep(100);
}

function processAlive(pid: number | null): boolean {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

/** How many of the slots each link holds, in the order the links were made. */
function loads(slots: Slot[], links: SandboxLink[]): number[] {
  return links.map((l) => slots.filter((s) => s.link === l).length);
}

describe('SandboxPool: making sandboxes on demand', () => {
  test('the first request creates a working sandbox and carries its start times; later requests reuse it', async () => {
    const { pool, sandboxes } = makePool({ capacity: 4, maxSandboxes: 2 });
    const first = await pool.acquire();
    expect(sandboxes.calls).toBe(1);
    expect(first.start).toEqual(first.link.startTimes);
    expect(first.start!.totalMs).toBeGreaterThanOrEqual(first.start!.createMs);
    expect(pool.sandboxes).toEqual([first.link]);

    // The creator's request is the sandbox's first invocation: cold-sandbox, as docs/architecture.md defines it.
    const cold = await first.link.request({ header: { t: 'invoke', id: 'r1', fn: 'fn', sandboxStart: first.start }, payload: Buffer.from('{"n":1}') });
    // The output arrives as the bytes the worker framed, checked as JSON by the link.
    expect(cold.result.status).toBe('SUCCEEDED');
    const output = cold.result.status === 'SUCCEEDED' ? cold.result.output : null;
    expect(output).toBeInstanceOf(RawJson);
    expect(plain(output)).toEqual({ echo: { n: 1 } });
    expect(cold.records[0]?.temperature).toBe('cold-sandbox');
    pool.release(first.link);

    // A sandbox with room takes the next request: no new sandbox, no start times.
    const second = await pool.acquire();
    expect(second.link).toBe(first.link);
    expect(second.start).toBeNull();
    expect(sandboxes.calls).toBe(1);
    const warm = await second.link.request({ header: { t: 'invoke', id: 'r2', fn: 'fn', sandboxStart: second.start }, payload: Buffer.from('2') });
    expect(warm.records[0]?.temperature).toBe('warm');
    pool.release(second.link);
  });

  test('per-function preset: each concurrent request gets its own sandbox, which is kept for reuse', async () => {
    const opts = unitOptions(resolveConfig({ preset: 'per-function' }));
    expect(opts.capacity).toBe(1);
    const { pool, sandboxes } = makePool(opts);
    const slots = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
    expect(sandboxes.calls).toBe(3);
    expect(new Set(slots.map((s) => s.link)).size).toBe(3);
    // Every request created its sandbox, so each is the cold one of its sandbox.
    for (const s of slots) expect(s.start).not.toBeNull();
    for (const s of slots) pool.release(s.link);

    // Idle sandboxes serve the next requests; nothing new is started.
    for (let i = 0; i < 3; i++) {
      const again = await pool.acquire();
      expect(sandboxes.made).toContain(again.link);
      expect(again.start).toBeNull();
      pool.release(again.link);
    }
    expect(sandboxes.calls).toBe(3);
  });

  test('grouped preset: another sandbox of the app only once the first has as many requests as its workers can take', async () => {
    const opts = unitOptions(resolveConfig({ preset: 'grouped' }));
    expect(opts.capacity).toBe(64);
    const { pool, sandboxes } = makePool(opts);
    // Requests arriving while the first sandbox is made wait for its room instead of each making a sandbox.
    const first64 = Array.from({ length: opts.capacity }, () => pool.acquire());
    expect(sandboxes.calls).toBe(1);
    const one = pool.acquire();
    expect(sandboxes.calls).toBe(2);
    const slots = await Promise.all([...first64, one]);
    expect(pool.sandboxes).toHaveLength(2);
    // Only the two creators carry start times; nobody exceeds a sandbox's capacity.
    expect(slots.filter((s) => s.start !== null)).toHaveLength(2);
    const perSandbox = loads(slots, sandboxes.made);
    expect(perSandbox.reduce((a, b) => a + b, 0)).toBe(65);
    for (const n of perSandbox) expect(n).toBeLessThanOrEqual(opts.capacity);
    for (const s of slots) pool.release(s.link);
  });

  test('requests that fit in a sandbox being made wait for it (capacity 2: three requests, two sandboxes)', async () => {
    const { pool, sandboxes } = makePool({ capacity: 2, maxSandboxes: 4 });
    const slots = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
    expect(sandboxes.calls).toBe(2);
    expect(loads(slots, sandboxes.made).sort()).toEqual([1, 2]);
    expect(slots.filter((s) => s.start !== null)).toHaveLength(2);
    for (const s of slots) pool.release(s.link);
  });

  test('a request goes to the least loaded sandbox with room', async () => {
    const { pool, sandboxes } = makePool({ capacity: 3, maxSandboxes: 2 });
    // Built one request at a time so that the loads are known: A takes three, then B is made for the fourth.
    const a1 = await pool.acquire();
    const a2 = await pool.acquire();
    const a3 = await pool.acquire();
    const b1 = await pool.acquire();
    const [A, B] = sandboxes.made;
    expect([a1.link, a2.link, a3.link, b1.link]).toEqual([A, A, A, B]);

    pool.release(A!); // A: 2, B: 1
    const next = await pool.acquire();
    expect(next.link).toBe(B); // A has room too, but B is less loaded
    pool.release(A!); // A: 1, B: 2
    const after = await pool.acquire();
    expect(after.link).toBe(A);
    expect(sandboxes.calls).toBe(2);
    for (const l of [A, A, B, B]) pool.release(l!);
  });
});

describe('SandboxPool: a request is not tied to the sandbox started for it', () => {
  // The per-function stall (docs/policies.md#scaling): at 25 req/s of a 5 ms function, every request that found the
  // one sandbox busy used to start a sandbox of its own and wait seconds for it, so cold starts fed on each other.
  test('per-function: a waiter is served by the warm sandbox that frees first, and one start covers one waiter', async () => {
    const { pool, sandboxes } = makePool({ capacity: 1, maxSandboxes: 8 });
    const warm = await pool.acquire();
    expect(sandboxes.calls).toBe(1);

    const waiter = watch(pool.acquire()); // the warm sandbox is busy: a new one starts, the request waits
    expect(sandboxes.calls).toBe(2);
    pool.release(warm.link); // frees long before the new sandbox is up
    const slot = await waiter.promise;
    expect(slot.link).toBe(warm.link);
    expect(slot.start).toBeNull(); // a warm invocation, not a cold one

    // The sandbox started for it still joins the pool, and its first slot is the cold one.
    const deadline = Date.now() + 30_000;
    while (pool.sandboxes.length < 2 && Date.now() < deadline) await sleep(50);
    expect(pool.sandboxes).toHaveLength(2);
    const cold = await pool.acquire(); // the warm one is held: the new one takes it
    expect(cold.link).not.toBe(warm.link);
    expect(cold.start).toEqual(cold.link.startTimes);
    expect(sandboxes.calls).toBe(2);
    pool.release(slot.link);
    pool.release(cold.link);
  });
});

describe('SandboxPool: limits', () => {
  test('per-function: beyond maxSandboxesPerFunction a request waits for a sandbox to be released', async () => {
    const opts = unitOptions(resolveConfig({ preset: 'per-function', maxSandboxesPerFunction: 2 }));
    expect(opts).toEqual({ capacity: 1, maxSandboxes: 2 });
    const { pool, sandboxes } = makePool(opts);
    const [s1, s2] = await Promise.all([pool.acquire(), pool.acquire()]);
    const third = watch(pool.acquire());
    await settle();
    expect(third.settled()).toBe(false);
    expect(sandboxes.calls).toBe(2);

    pool.release(s1!.link);
    const slot = await third.promise;
    expect(slot.link).toBe(s1!.link);
    expect(slot.start).toBeNull();
    expect(sandboxes.calls).toBe(2);
    pool.release(slot.link);
    pool.release(s2!.link);
  });

  test('grouped: beyond maxSandboxesPerApp full sandboxes, a request waits', async () => {
    const opts = unitOptions(resolveConfig({ preset: 'grouped', workerConcurrency: 1, maxWorkersPerFunction: 2, maxSandboxesPerApp: 2 }));
    expect(opts).toEqual({ capacity: 2, maxSandboxes: 2 });
    const { pool, sandboxes } = makePool(opts);
    const served = [pool.acquire(), pool.acquire(), pool.acquire(), pool.acquire()];
    const fifth = watch(pool.acquire());
    const slots = await Promise.all(served);
    await settle();
    expect(fifth.settled()).toBe(false);
    expect(sandboxes.calls).toBe(2);
    expect(loads(slots, sandboxes.made)).toEqual([2, 2]);

    pool.release(slots[3]!.link);
    const slot = await fifth.promise;
    expect(slot.link).toBe(slots[3]!.link);
    for (const s of [...slots.slice(0, 3), slot]) pool.release(s.link);
  });
});

describe('SandboxPool: keep-alive and reclaim', () => {
  test('an idle sandbox is reclaimed once keep-alive has passed; a busy one never is', async () => {
    const keepAliveMs = 300;
    const { pool, sandboxes } = makePool({ capacity: 1, maxSandboxes: 2, keepAliveMs });
    const [idle, busy] = await Promise.all([pool.acquire(), pool.acquire()]);
    pool.release(idle!.link);
    expect(await pool.reclaimIdle()).toBe(0); // idle, but for less than keep-alive

    await sleep(keepAliveMs + 200);
    expect(await pool.reclaimIdle()).toBe(1);
    expect(pool.sandboxes).toEqual([busy!.link]);
    expect(idle!.link.alive).toBe(false);
    expect(processAlive(idle!.link.sandbox.pid)).toBe(false);
    expect(busy!.link.alive).toBe(true);

    // The next request cannot use the busy sandbox (capacity 1): it starts a new one, cold.
    const next = await pool.acquire();
    expect(next.link).not.toBe(busy!.link);
    expect(next.start).not.toBeNull();
    expect(sandboxes.calls).toBe(3);
    pool.release(next.link);
    pool.release(busy!.link);
  });

  test('destroyAll (reclaim / enforced cold start) stops every sandbox; the next request starts a new one', async () => {
    const { pool, sandboxes } = makePool({ capacity: 2, maxSandboxes: 2 });
    const slot = await pool.acquire();
    pool.release(slot.link);
    expect(await pool.destroyAll()).toBe(1);
    expect(pool.sandboxes).toEqual([]);
    expect(processAlive(slot.link.sandbox.pid)).toBe(false);

    const next = await pool.acquire();
    expect(next.link).not.toBe(slot.link);
    expect(next.start).not.toBeNull();
    expect(sandboxes.calls).toBe(2);
    pool.release(next.link);
  });
});

describe('SandboxPool: sandboxes that die or fail to start', () => {
  test('a dead sandbox leaves the pool at once, and a waiting request gets a replacement', async () => {
    const { pool, sandboxes } = makePool({ capacity: 1, maxSandboxes: 1 });
    const held = await pool.acquire();
    const waiting = pool.acquire();
    process.kill(held.link.sandbox.pid!, 'SIGKILL');

    const slot = await waiting;
    expect(slot.link).not.toBe(held.link);
    expect(slot.start).not.toBeNull(); // it created the replacement
    expect(sandboxes.calls).toBe(2);
    expect(pool.sandboxes).toEqual([slot.link]);
    expect(held.link.alive).toBe(false);

    // Releasing the dead sandbox's slot (as AppSandboxes.request does after the request failed) changes nothing.
    pool.release(held.link);
    expect(pool.sandboxes).toEqual([slot.link]);
    pool.release(slot.link);
  });

  test('waiters freed by dead sandboxes share one replacement when it has room for them', async () => {
    const { pool, sandboxes } = makePool({ capacity: 2, maxSandboxes: 2 });
    const slots = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire(), pool.acquire()]);
    expect(sandboxes.calls).toBe(2);
    const w1 = pool.acquire();
    const w2 = pool.acquire();
    for (const link of sandboxes.made.slice(0, 2)) process.kill(link.sandbox.pid!, 'SIGKILL');

    const [r1, r2] = await Promise.all([w1, w2]);
    // Two sandboxes may be made, but one with capacity 2 serves both waiters.
    expect(r1.link).toBe(r2.link);
    expect(sandboxes.calls).toBe(3);
    expect(pool.sandboxes).toEqual([r1.link]);
    for (const s of slots) pool.release(s.link);
    pool.release(r1.link);
    pool.release(r2.link);
  });

  test('a failed start fails its request and the requests waiting for it, with the typed error; the pool tries again later', async () => {
    const { pool, sandboxes } = makePool({ capacity: 2, maxSandboxes: 2 });
    sandboxes.broken = true;
    const creator = pool.acquire();
    const waiter = pool.acquire(); // fits in the sandbox being made, so it waits for it
    expect(sandboxes.calls).toBe(1);
    const [e1, e2] = await Promise.all([rejection(creator), rejection(waiter)]);
    expect(e1).toBeInstanceOf(MfError);
    expect((e1 as MfError).code).toBe('MF_FUNCTION_INIT_FAILED');
    expect(e2).toBe(e1);
    expect(pool.sandboxes).toEqual([]);

    // Nothing is left counted as "being made": the next request starts a sandbox again.
    sandboxes.broken = false;
    const slot = await pool.acquire();
    expect(slot.start).not.toBeNull();
    expect(sandboxes.calls).toBe(2);
    pool.release(slot.link);
  });

  test('a failed start does not fail requests a live sandbox will serve', async () => {
    const { pool, sandboxes } = makePool({ capacity: 1, maxSandboxes: 2 });
    const held = await pool.acquire();
    sandboxes.broken = true;
    const creator = pool.acquire(); // makes the second sandbox, which fails
    const waiter = watch(pool.acquire()); // at the bound: waits
    const err = await rejection(creator);
    expect((err as MfError).code).toBe('MF_FUNCTION_INIT_FAILED');
    await settle();
    expect(waiter.settled()).toBe(false);

    pool.release(held.link);
    const slot = await waiter.promise;
    expect(slot.link).toBe(held.link);
    expect(sandboxes.calls).toBe(2);
    pool.release(slot.link);
  });
});

describe('SandboxPool: closing (app removed)', () => {
  test('waiting requests fail with MF_APP_NOT_FOUND, sandboxes stop, later requests fail with MF_PLATFORM_CLOSED', async () => {
    const { pool } = makePool({ capacity: 1, maxSandboxes: 1 });
    const held = await pool.acquire();
    const waiting = rejection(pool.acquire());
    expect(await pool.destroyAll({ close: true })).toBe(1);
    expect(await waiting).toMatchObject({ code: 'MF_APP_NOT_FOUND' });
    expect(processAlive(held.link.sandbox.pid)).toBe(false);
    expect(await rejection(pool.acquire())).toMatchObject({ code: 'MF_PLATFORM_CLOSED' });
  });

  test('a sandbox that finishes starting after the close is stopped, and the request that waited for it fails', async () => {
    const { pool, sandboxes } = makePool({ capacity: 1, maxSandboxes: 1 });
    const creating = pool.acquire();
    expect(sandboxes.calls).toBe(1);
    expect(await pool.destroyAll({ close: true })).toBe(0); // nothing started yet
    const err = await rejection(creating);
    expect(err).toMatchObject({ code: 'MF_APP_NOT_FOUND' });
    // The request failed at the close; the sandbox that was being made is stopped once it is up.
    const deadline = Date.now() + 30_000;
    while ((sandboxes.made.length === 0 || sandboxes.made[0]!.alive) && Date.now() < deadline) await sleep(50);
    const made = sandboxes.made[0]!;
    expect(made.alive).toBe(false);
    expect(processAlive(made.sandbox.pid)).toBe(false);
    expect(pool.sandboxes).toEqual([]);
  });
});

describe('SandboxPool: capacity Infinity (the agent scales its workers itself)', () => {
  // Before the fix, 0 sandboxes being made x Infinity room was NaN, so the first request waited forever.
  test('one sandbox takes every request', { timeout: 20_000 }, async () => {
    const { pool, sandboxes } = makePool({ capacity: Infinity, maxSandboxes: 2 });
    const slots = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
    expect(sandboxes.calls).toBe(1);
    expect(new Set(slots.map((s) => s.link)).size).toBe(1);
    for (const s of slots) pool.release(s.link);
  });
});
