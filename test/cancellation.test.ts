/**
 * Cancellation that reaches the function (issue 13, item 4), end to end on real workers: when a state's TimeoutSeconds
 * expires or a Parallel sibling fails, the running invocation's `context.signal` aborts; a function that stops keeps
 * its worker, one that does not is abandoned (recorded as such) and its worker drained and replaced; a Retry never
 * runs beside the attempt it replaces; and invocations sharing the worker of a timed-out or memory-breaching one
 * still finish.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import type { InvocationRecord } from '../dist/platform/records.js';
import { alive, call, inlineFunction, testPlatform, waitFor } from './helpers/platform.js';

const FUNCTIONS = {
  // Waits for event.ms, or until told to stop: then notes the abort's reason in storage and fails with it.
  polite: `export const handler = async (event, context) => {
  await new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, event.ms ?? 60000);
    context.signal.addEventListener('abort', async () => {
      clearTimeout(timer);
      await context.storage.put('aborted/' + event.tag, { name: context.signal.reason.name, message: context.signal.reason.message });
      reject(context.signal.reason);
    });
  });
  return { slept: event.ms, pid: process.pid };
};`,
  // Ignores the abort and keeps running.
  stubborn: `export const handler = async (event) => { await new Promise((r) => setTimeout(r, event.ms ?? 60000)); return { slept: event.ms, pid: process.pid }; };`,
  thrower: `export const handler = async () => { await new Promise((r) => setTimeout(r, 300)); throw new Error('branch failed'); };`,
  // Holds event.mb of memory for event.ms, then lets go and answers.
  spike: `export const handler = async (event) => {
  const held = event.mb ? Buffer.alloc(event.mb * 1024 * 1024, 1) : null;
  await new Promise((r) => setTimeout(r, event.ms));
  return { held: held?.length ?? 0, pid: process.pid };
};`,
};

const task = (fn: string, extra: object = {}) => ({ StartAt: 'T', States: { T: { Type: 'Task', Resource: fn, End: true, ...extra } } });

const APP = {
  name: 'cancel',
  functions: [
    inlineFunction('polite', FUNCTIONS.polite),
    inlineFunction('stubborn', FUNCTIONS.stubborn),
    inlineFunction('thrower', FUNCTIONS.thrower),
    inlineFunction('spike', FUNCTIONS.spike, { memoryMB: 256 }),
    inlineFunction('reader', `export const handler = async (event, context) => (await context.storage.get(event.key)) ?? null;`),
  ],
  workflows: {
    politeTimeout: task('polite', { TimeoutSeconds: 1 }),
    stubbornTimeout: task('stubborn', { TimeoutSeconds: 1 }),
    stubbornRetried: task('stubborn', { TimeoutSeconds: 1, Retry: [{ ErrorEquals: ['States.Timeout'], IntervalSeconds: 1, MaxAttempts: 1 }] }),
    stubborn: task('stubborn'),
    spike: task('spike'),
    parallel: {
      StartAt: 'P',
      States: {
        P: {
          Type: 'Parallel',
          End: true,
          Branches: [
            { StartAt: 'A', States: { A: { Type: 'Task', Resource: 'thrower', End: true } } },
            { StartAt: 'B', States: { B: { Type: 'Task', Resource: 'polite', End: true } } },
          ],
        },
      },
    },
  },
};

let p: PlatformHandle;
// One worker per function, so that concurrent invocations of a function share it (the grouped preset allows 16).
beforeAll(async () => {
  p = await testPlatform({ maxWorkersPerFunction: 1 });
  expect((await call(p, 'POST', '/apps', APP)).status).toBe(201);
  // Workers up first: a cold start can outlast a 1 s TimeoutSeconds, and an invocation cancelled before it reached a
  // worker never runs (nothing to tell).
  for (const fn of ['polite', 'stubborn', 'spike', 'reader']) {
    expect((await call(p, 'POST', `/apps/cancel/functions/${fn}/invocations`, { ms: 1, key: 'none' })).body.status).toBe('SUCCEEDED');
  }
});
afterAll(async () => {
  await p?.close();
});

const run = (wf: string, input: object) => call(p, 'POST', `/apps/cancel/workflows/${wf}/executions`, input);
let nextTag = 0;

describe('cancellation reaches the function', () => {
  test("a state's TimeoutSeconds aborts context.signal; the function stops and keeps its worker", async () => {
    const tag = `t${nextTag++}`;
    const r = await run('politeTimeout', { tag });
    expect(r.body).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    const rec = (r.body.records as InvocationRecord[])[0]!;
    // It stopped when told: its own failure (the AbortError it rejected with) is the record's outcome.
    expect(rec.outcome).toMatchObject({ state: 'error', error: 'AbortError' });
    expect(await readStorage(`aborted/${tag}`)).toMatchObject({ name: 'AbortError' });
    const next = await run('politeTimeout', { tag: `t${nextTag++}`, ms: 10 });
    expect(next.body.status).toBe('SUCCEEDED');
    expect(next.body.records[0].workerPid).toBe(rec.workerPid);
  });

  test('a function that does not stop is abandoned, recorded as such, and its worker replaced', async () => {
    const r = await run('stubbornTimeout', { ms: 60_000 });
    expect(r.body).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    const rec = (r.body.records as InvocationRecord[])[0]!;
    expect(rec.outcome).toMatchObject({ state: 'abandoned', error: 'MF_INVOCATION_ABANDONED' });
    await waitFor(() => !alive(rec.workerPid), 10_000);
    const next = await run('stubborn', { ms: 10 });
    expect(next.body.status).toBe('SUCCEEDED');
    expect(next.body.records[0].workerPid).not.toBe(rec.workerPid);
  });

  test('a Retry after a timeout starts only once the abandoned attempt is gone: never beside it', async () => {
    const r = await run('stubbornRetried', { ms: 60_000 });
    expect(r.body).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    const [first, second] = r.body.records as InvocationRecord[];
    expect([first!.outcome.state, second!.outcome.state]).toEqual(['abandoned', 'abandoned']);
    // The first attempt's worker was gone (its answer settled when it was killed) before the second started.
    expect(second!.workerPid).not.toBe(first!.workerPid);
    expect(second!.t.handlerStart).toBeGreaterThan(first!.t.published);
  });

  test('a failing Parallel branch aborts its running sibling, which is told and stops', async () => {
    const tag = `t${nextTag++}`;
    const r = await run('parallel', { tag });
    expect(r.body).toMatchObject({ status: 'FAILED', error: 'Error' });
    expect(await readStorage(`aborted/${tag}`)).toMatchObject({ name: 'AbortError' });
    const polite = (r.body.records as InvocationRecord[]).find((x) => x.function === 'polite')!;
    expect(polite.outcome).toMatchObject({ state: 'error', error: 'AbortError' });
  });
});

describe('a bounded blast radius on a shared worker', () => {
  test('an abandoned invocation does not fail the others on its worker: they finish, then the worker is replaced', async () => {
    const others = [1, 2, 3].map(() => run('stubborn', { ms: 4000 }));
    await new Promise((r) => setTimeout(r, 300)); // let them reach the worker first (any order works; they share it)
    const hung = await run('stubbornTimeout', { ms: 60_000 });
    expect(hung.body.records[0].outcome.state).toBe('abandoned');
    const answers = await Promise.all(others);
    const pid = hung.body.records[0].workerPid as number;
    for (const a of answers) {
      expect(a.body.status).toBe('SUCCEEDED');
      expect(a.body.records[0].workerPid).toBe(pid);
    }
    await waitFor(() => !alive(pid), 10_000);
  });

  test('a memory breach with others in flight drains the worker: they finish, then the breach alone is killed', async () => {
    const others = [1, 2].map(() => run('spike', { ms: 3000 }));
    await new Promise((r) => setTimeout(r, 1000));
    // Over the 256 MB limit (with Node's own ~50 MB) and held, but under the 1.5x at which the worker dies at once:
    // the worker is drained while the others run, and killed once the breaching invocation is the only one left.
    const spike = await run('spike', { mb: 240, ms: 30_000 });
    const answers = await Promise.all(others);
    const pid = spike.body.records[0].workerPid as number;
    expect(spike.body).toMatchObject({ status: 'FAILED', error: 'MF_FUNCTION_MEMORY_EXCEEDED' });
    for (const a of answers) {
      expect(a.body.status).toBe('SUCCEEDED');
      expect(a.body.records[0].workerPid).toBe(pid);
    }
    await waitFor(() => !alive(pid), 10_000);
    const next = await run('spike', { ms: 10 });
    expect(next.body.status).toBe('SUCCEEDED');
    expect(next.body.records[0].workerPid).not.toBe(pid);
  });
});

/** Reads a value the functions stored in the app's global storage, through a function of the app itself. */
async function readStorage(key: string): Promise<unknown> {
  return (await call(p, 'POST', '/apps/cancel/functions/reader/invocations', { key })).body.output;
}
