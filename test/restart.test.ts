/**
 * A restart loses nothing on the embedded default (docs/distributed.md, "Restart and recovery (embedded default)"):
 * a real `mfbench platform start` process takes async executions of a 3-step chain whose steps count their runs in
 * global storage under their idempotency key, is SIGKILLed mid-run, and is started again on the same data folder.
 * Every execution must answer and succeed once with the right output, every step must have run at least once (the
 * counters say which ran again), the app must still be deployed, a result answered before the kill must be answered
 * the same after it, and the killed run's folder must be gone. The same again with the global layer on a real
 * NATS JetStream broker (`--broker`), when nats-server is there (CI requires it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startPlatform as startInProcess } from '../dist/platform/frontend/index.js';
import { RUN_NATS_TESTS, noteNatsSkipped, startNatsServer, type NatsServer } from './helpers/nats.js';
import { alive, call, chain, inlineFunction, until } from './helpers/platform.js';

noteNatsSkipped('the restart on a broker');

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');
const EXECUTIONS = 40;

type Endpoint = { url: string; token: string };

const ECHO = `export const handler = async (event) => ({ echoed: event });`;
const STEP = `export const handler = async (event, context) => {
  await context.storage.increment('runs/' + context.idempotencyKey);
  await new Promise((r) => setTimeout(r, 250));
  return { i: event.i, steps: [...(event.steps ?? []), context.idempotencyKey.split('/')[1]] };
};`;
const COUNTS = `export const handler = async (_event, context) => {
  const counts = {};
  for (const key of await context.storage.list('runs/')) counts[key.slice('runs/'.length)] = await context.storage.get(key);
  return counts;
};`;

const children: ChildProcess[] = [];
const sandboxPids: number[] = [];
const dataDirs: string[] = [];

async function startPlatform(dataDir: string, extra: string[] = []): Promise<{ child: ChildProcess; p: Endpoint }> {
  const child = spawn(process.execPath, [MAIN, 'platform', 'start', '--port', '0', '--data-dir', dataDir, ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(child);
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`platform start exited (${code})`)));
  });
  return { child, p: JSON.parse(first) as Endpoint };
}


async function statuses(p: Endpoint, ids: string[]): Promise<Map<string, { status: number; body: any }>> {
  const answers = await Promise.all(ids.map((id) => call(p, 'GET', `/executions/${id}`)));
  return new Map(ids.map((id, i) => [id, { status: answers[i]!.status, body: answers[i]!.body }]));
}

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }
  // The killed platform's sandboxes are ours too: none may outlive the test.
  for (const pid of sandboxPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const dir of dataDirs) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
});

describe('a platform restart on the same data folder (embedded default)', () => {
  test(`SIGKILL mid-run with ${EXECUTIONS} async executions: none lost, each succeeds once, steps at least once`, () => sigkillMidRun([]), 120_000);
});

describe.runIf(RUN_NATS_TESTS)('a platform restart on the same data folder and the same JetStream broker', () => {
  let nats: NatsServer;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(() => nats?.stop());
  test(`SIGKILL mid-run with ${EXECUTIONS} async executions: none lost, each succeeds once, steps at least once`, () => sigkillMidRun(['--broker', nats.url]), 120_000);
});

/** The scenario of both restart tests; `extra` are more `platform start` options, the same for both starts. */
async function sigkillMidRun(extra: string[]): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mf-restart-'));
  dataDirs.push(dataDir);
  {
    const first = await startPlatform(dataDir, extra);
    const app = { name: 'restart', functions: [inlineFunction('step', STEP), inlineFunction('counts', COUNTS)], workflows: { main: chain(['step', 'step', 'step']), counts: chain(['counts']) } };
    expect((await call(first.p, 'POST', '/apps', app)).status).toBe(201);

    // One finished before the kill: its answer must be the same after the restart.
    const done = await call(first.p, 'POST', '/apps/restart/workflows/main/executions', { i: -1 });
    expect(done.body.status).toBe('SUCCEEDED');
    const before = await call(first.p, 'GET', `/executions/${done.body.executionId}`);

    const accepted = await Promise.all(Array.from({ length: EXECUTIONS }, (_, i) => call(first.p, 'POST', '/apps/restart/workflows/main/executions?mode=async', { i })));
    expect(accepted.map((a) => a.status)).toEqual(new Array(EXECUTIONS).fill(202));
    const ids = accepted.map((a) => a.body.executionId as string);

    // Kill once some have finished and some are still running.
    const finishedBeforeKill = await until('some executions to finish', async () => {
      const n = [...(await statuses(first.p, ids)).values()].filter((s) => s.body.status === 'SUCCEEDED').length;
      return n >= 1 && n < EXECUTIONS ? n : null;
    });
    for (const s of (await call(first.p, 'GET', '/apps/restart')).body.sandboxes) sandboxPids.push(s.pid, s.agentPid);
    first.child.kill('SIGKILL');
    await new Promise((resolve) => (first.child.exitCode !== null || first.child.signalCode !== null ? resolve(null) : first.child.once('exit', resolve)));

    const second = await startPlatform(dataDir, extra);
    expect((await call(second.p, 'GET', '/apps/restart')).status).toBe(200);
    expect((await call(second.p, 'GET', `/executions/${done.body.executionId}`)).body).toEqual(before.body);

    const final = await until('every execution to end', async () => {
      const s = await statuses(second.p, ids);
      return [...s.values()].some((a) => a.status === 200 && a.body.status === 'RUNNING') ? null : s;
    });
    const answers = [...final.values()];
    const lost = answers.filter((a) => a.status === 404).length;
    const completed = answers.filter((a) => a.body.status === 'SUCCEEDED').length;
    const failed = answers.length - lost - completed;

    const counts = (await call(second.p, 'POST', '/apps/restart/workflows/counts/executions', {})).body.output as Record<string, number>;
    const stepsRun = ids.flatMap((id) => ['S1', 'S2', 'S3'].map((state) => counts[`${id}/${state}/0`] ?? 0));
    const stepsRerun = stepsRun.reduce((sum, n) => sum + Math.max(0, n - 1), 0);
    const rerunExecutions = ids.filter((id) => ['S1', 'S2', 'S3'].some((state) => (counts[`${id}/${state}/0`] ?? 0) > 1)).length;
    console.log(
      `restart: submitted ${EXECUTIONS}, finished before the kill ${finishedBeforeKill}, completed ${completed}, failed ${failed}, lost ${lost}, ` +
        `steps re-run ${stepsRerun} (in ${rerunExecutions} executions)`,
    );
    const why = new Set(answers.filter((a) => a.status !== 404 && a.body?.status !== 'SUCCEEDED').map((a) => `${a.status} ${JSON.stringify(a.body).slice(0, 300)}`));
    if (why.size > 0) console.log(`failures: ${[...why].join(' | ')}`);

    expect(lost).toBe(0);
    expect(failed).toBe(0);
    for (const [id, a] of final) {
      expect(a.body.executionId).toBe(id);
      expect(a.body.output).toEqual({ i: ids.indexOf(id), steps: ['S1', 'S2', 'S3'] });
    }
    expect(stepsRun.every((n) => n >= 1)).toBe(true);
    // Only steps that could have been in flight at the kill run again: at most one per execution and state.
    expect(stepsRun.every((n) => n <= 2)).toBe(true);

    // The killed run's folder is gone; only the live run's remains.
    expect((await readdir(dataDir)).filter((d) => d.startsWith('run-'))).toHaveLength(1);
  }
}

describe('a clean restart, in process', () => {
  test('keeps the apps and the finished answers (their history, kept in a sandbox, is gone: 410); a deleted app stays deleted; no run folder piles up', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mf-restart-clean-'));
    dataDirs.push(dataDir);
    const app = (name: string) => ({ name, functions: [inlineFunction('f', ECHO)], workflows: { main: chain(['f']) } });
    let p = await startInProcess({ port: 0, dataDir });
    try {
      expect((await call(p, 'POST', '/apps', app('kept'))).status).toBe(201);
      expect((await call(p, 'POST', '/apps', app('deleted'))).status).toBe(201);
      const done = await call(p, 'POST', '/apps/kept/workflows/main/executions', { n: 1 });
      expect(done.body.status).toBe('SUCCEEDED');
      const answer = await call(p, 'GET', `/executions/${done.body.executionId}`);
      const history = await call(p, 'GET', `/executions/${done.body.executionId}/history`);
      expect((await call(p, 'DELETE', '/apps/deleted')).status).toBe(200);
      await p.close();

      p = await startInProcess({ port: 0, dataDir });
      expect((await call(p, 'GET', '/apps')).body.apps.map((a: { name: string }) => a.name)).toEqual(['kept']);
      expect((await call(p, 'GET', `/executions/${done.body.executionId}`)).body).toEqual(answer.body);
      // The engine's history stayed in the sandbox that ran it (docs/architecture.md#execution-history), which the
      // restart took with it: a typed 410 that names it, never an empty history.
      expect(history.body.history.map((e: { type: string }) => e.type)).toContain('ExecutionSucceeded');
      const after = await call(p, 'GET', `/executions/${done.body.executionId}/history`);
      expect(after.status).toBe(410);
      expect(after.body.error.code).toBe('MF_HISTORY_GONE');
      expect((await call(p, 'POST', '/apps/kept/workflows/main/executions', { n: 2 })).body.output).toEqual({ echoed: { n: 2 } });
      expect((await readdir(dataDir)).filter((d) => d.startsWith('run-'))).toHaveLength(1);
    } finally {
      await p.close();
    }
  }, 60_000);

  test('a second platform on a data folder in use fails with a typed error, and the first keeps serving', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mf-restart-busy-'));
    dataDirs.push(dataDir);
    const p = await startInProcess({ port: 0, dataDir });
    try {
      await expect(startInProcess({ port: 0, dataDir })).rejects.toMatchObject({ code: 'MF_STORAGE_FAILED' });
      expect((await call(p, 'GET', '/healthz')).status).toBe(200);
      expect((await readdir(dataDir)).filter((d) => d.startsWith('run-'))).toHaveLength(1);
    } finally {
      await p.close();
    }
  }, 60_000);
});
