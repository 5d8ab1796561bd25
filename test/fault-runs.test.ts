/**
 * Fault runs (issue 13, item 5): many asynchronous 3-step executions while worker processes or sandbox agents are
 * killed with SIGKILL by pid, at moments spread over the run: some while they boot (killed the moment they appear,
 * with invocations waiting for them), some while they serve. Every execution must end SUCCEEDED with the right output
 * (0 failed, 0 lost); steps may run again, and the records must say which. Each run prints its counts.
 *
 * The kills are placed by progress (executions finished, from /metrics), never by the clock, so a slow machine moves
 * them later rather than elsewhere.
 */
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import type { UserConfig } from '../dist/platform/config.js';
import type { InvocationRecord } from '../dist/platform/records.js';
import { dockerWithRuntimeImage, noteDockerSkipped, RUN_DOCKER_TESTS } from './helpers/docker.js';
import { call, chain, inlineFunction, testPlatform } from './helpers/platform.js';
import { agentsUnder, childrenOf, killNewcomer } from './helpers/processes.js';

const STEP = `export const handler = async (event, context) => {
  await new Promise((r) => setTimeout(r, 100));
  return { tag: event.tag, steps: [...(event.steps ?? []), context.functionName] };
};`;
const STEPS = ['s1', 's2', 's3'];
const APP = { name: 'fr', functions: STEPS.map((s) => inlineFunction(s, STEP)), workflows: { main: chain(STEPS) } };

/** What gets killed, and when: `at` executions finished; `boot` kills the next process to start, `serving` a running one. */
interface Kill {
  at: number;
  target: 'worker' | 'agent';
  moment: 'boot' | 'serving';
}

interface Counts {
  submitted: number;
  completed: number;
  failed: number;
  lost: number;
  stepsRerun: number;
  /** Invocations that died with their worker (each was run again). */
  crashed: number;
  kills: string[];
  failures: string[];
  /** Executions that resumed in another sandbox (their records carry `attempt`). */
  recovered: string[];
}

let p: PlatformHandle | null = null;
afterEach(async () => {
  await p?.close();
  p = null;
});

/** Runs `work` over `items` with at most `limit` at once. */
async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

async function finishedCount(q: PlatformHandle): Promise<number> {
  const text: string = (await call(q, 'GET', '/metrics')).body;
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith('mf_executions_total{') && line.includes('app="fr"')) sum += Number(line.split(' ').at(-1));
  return sum;
}

async function waitUntilFinished(q: PlatformHandle, count: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while ((await finishedCount(q)) < count) {
    if (Date.now() > end) throw new Error(`fewer than ${count} executions finished within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Carries out the kills in order; each returns a line saying what it killed. */
/**
 * The worker now running the last step: the one that ran it in the newest finished execution, if it is one of the
 * agents' live children (`live`, host pids: a container's record may name a pid of its own namespace). The first
 * steps run ahead and may have drained their backlog, but while executions remain unfinished the last step's worker
 * has invocations in flight.
 */
async function lastStepWorker(q: PlatformHandle, ids: readonly string[], live: readonly number[]): Promise<number | null> {
  for (let i = ids.length - 1, looked = 0; i >= 0 && looked < 200; i--, looked++) {
    const r = await call(q, 'GET', `/executions/${ids[i]}`);
    if (r.status !== 200 || r.body.status !== 'SUCCEEDED') continue;
    const last = (r.body.records as InvocationRecord[]).filter((x) => x.function === STEPS.at(-1)).at(-1);
    if (last && live.includes(last.workerPid)) return last.workerPid;
  }
  return null;
}

async function killer(q: PlatformHandle, kills: Kill[], ids: readonly string[]): Promise<string[]> {
  const workers = () => childrenOf(agentsUnder(q.dataDir));
  const agents = () => agentsUnder(q.dataDir);
  const done: string[] = [];
  // The processes alive before the previous kill: a replacement may start before a /proc scan after the kill ends.
  let known = new Set<number>();
  for (const kill of kills) {
    if (kill.at > 0) await waitUntilFinished(q, kill.at, 120_000);
    const candidates = kill.target === 'worker' ? workers : agents;
    if (kill.moment === 'boot') {
      // The next newcomer is a replacement or a scale-up, and it is booting.
      const pid = await killNewcomer(candidates, known, 60_000);
      done.push(`${kill.target} ${pid} while booting (after ${kill.at} finished)`);
      process.stderr.write(`fault run: killed ${done.at(-1)}\n`);
    } else {
      // A serving sandbox is one the app lists (it finished starting); the previous kill's replacement may still be
      // starting, so wait for one.
      const serving = async () => (kill.target === 'worker' ? workers() : ((await call(q, 'GET', '/apps/fr')).body.sandboxes as Array<{ pid: number }>).map((s) => s.pid));
      let live = await serving();
      for (const end = Date.now() + 60_000; live.length === 0 && Date.now() < end; live = await serving()) await new Promise((r) => setTimeout(r, 20));
      // A worker with invocations in flight (the last step's): one whose function has nothing in flight at this
      // moment would die with nothing to recover. Sandboxes all serve the same executions: any is busy.
      const pid = (kill.target === 'worker' ? await lastStepWorker(q, ids, live) : null) ?? live[Math.floor(live.length / 2)];
      if (pid === undefined || pid === null) throw new Error(`no ${kill.target} to kill after ${kill.at} finished`);
      known = new Set(candidates());
      process.kill(pid, 'SIGKILL');
      done.push(`${kill.target} ${pid} while serving (after ${kill.at} finished)`);
      process.stderr.write(`fault run: killed ${done.at(-1)}\n`);
    }
  }
  return done;
}

/**
 * Submits `n` async executions (the killer already watching, so a kill at 0 lands on the first boot), waits for every
 * one to end, and classifies them. A "boot" kill right after a "serving" one lands on the process that replaces it.
 */
async function faultRun(q: PlatformHandle, n: number, kills: Kill[], label: string): Promise<Counts> {
  const ids: string[] = [];
  const killing = killer(q, kills, ids);
  killing.catch(() => undefined); // awaited below; a failure there must not be unhandled meanwhile
  const tags = new Map<string, string>();
  await eachLimited(
    Array.from({ length: n }, (_, i) => `t${i}`),
    64,
    async (tag) => {
      const r = await call(q, 'POST', '/apps/fr/workflows/main/executions?mode=async', { tag });
      expect(r.status).toBe(202);
      ids.push(r.body.executionId);
      tags.set(r.body.executionId, tag);
    },
  );
  const killed = await killing;

  const pending = new Set(ids);
  const views = new Map<string, any>();
  const end = Date.now() + 180_000;
  while (pending.size > 0 && Date.now() < end) {
    await eachLimited([...pending], 32, async (id) => {
      const r = await call(q, 'GET', `/executions/${id}`);
      if (r.status === 200 && r.body.status !== 'RUNNING') {
        views.set(id, r.body);
        pending.delete(id);
      }
    });
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 200));
  }

  const counts: Counts = { submitted: ids.length, completed: 0, failed: 0, lost: pending.size, stepsRerun: 0, crashed: 0, kills: killed, failures: [], recovered: [] };
  for (const [id, view] of views) {
    const ok = view.status === 'SUCCEEDED' && view.output?.tag === tags.get(id) && JSON.stringify(view.output?.steps) === JSON.stringify(STEPS);
    if (ok) counts.completed++;
    else {
      counts.failed++;
      if (counts.failures.length < 5) counts.failures.push(`${view.status} ${view.error}: ${String(view.cause).slice(0, 200)}`);
    }
    const records = view.records as InvocationRecord[];
    // A re-run is an invocation the agent ran again (retry), or the first step of each recovered run (attempt).
    counts.stepsRerun += records.filter((r) => (r.retry ?? 0) > 0).length;
    counts.crashed += records.filter((r) => r.outcome.state === 'crashed').length;
    const attempts = new Set(records.filter((r) => (r.attempt ?? 0) > 0).map((r) => r.attempt)).size;
    counts.stepsRerun += attempts;
    if (attempts > 0) counts.recovered.push(id);
  }
  console.log(
    `fault run [${label}]: submitted ${counts.submitted}, completed ${counts.completed}, failed ${counts.failed}, lost ${counts.lost}, steps re-run ${counts.stepsRerun} (invocations crashed with their worker: ${counts.crashed})\n  killed: ${killed.join('; ')}` +
      (counts.failures.length ? `\n  failures: ${counts.failures.join('\n    ')}` : ''),
  );
  return counts;
}

function expectNoneFailedOrLost(c: Counts, n: number, kills: number): void {
  expect(c.failures).toEqual([]);
  expect(c).toMatchObject({ submitted: n, completed: n, failed: 0, lost: 0 });
  expect(c.kills).toHaveLength(kills);
}

const WORKER_KILLS: Kill[] = [
  { at: 0, target: 'worker', moment: 'boot' },
  { at: 200, target: 'worker', moment: 'serving' },
  { at: 200, target: 'worker', moment: 'boot' },
  { at: 500, target: 'worker', moment: 'serving' },
  { at: 500, target: 'worker', moment: 'boot' },
];
const AGENT_KILLS: Kill[] = [
  { at: 0, target: 'agent', moment: 'boot' },
  { at: 200, target: 'agent', moment: 'serving' },
  { at: 200, target: 'agent', moment: 'boot' },
  { at: 500, target: 'agent', moment: 'serving' },
  { at: 500, target: 'agent', moment: 'boot' },
];
/**
 * One worker per function and no pre-booted pool: every worker start is a fresh boot that invocations wait for, so a
 * kill while booting lands where the issue saw executions fail (MF_WORKER_EXITED ... while booting).
 */
const FRESH_WORKERS: UserConfig = { poolSize: 0, maxWorkersPerFunction: 1 };
/**
 * One sandbox for the app: a killed sandbox must be replaced (not just avoided) and its executions wait for it, and
 * every worker is busy (a worker killed while serving has invocations in flight).
 */
const ONE_SANDBOX: UserConfig = { maxSandboxesPerApp: 1 };
/**
 * Sandbox-agent runs: an execution may be in flight in every sandbox killed (one killed while serving, then its
 * replacement while booting, and so on while the backlog drains on a slow machine), and each kill costs it an attempt.
 * Five kills, so five attempts: the run then tests that every kill is recovered, not how the kills fell.
 */
const AGENT_RUN: UserConfig = { ...ONE_SANDBOX, recoveryAttempts: 5 };

describe('fault runs on the process backend (grouped preset)', () => {
  test('1,000 async 3-step executions, 5 worker kills (3 while booting): 0 failed, 0 lost', async () => {
    p = await testPlatform({ ...FRESH_WORKERS, ...ONE_SANDBOX });
    expect((await call(p, 'POST', '/apps', APP)).status).toBe(201);
    const c = await faultRun(p, 1000, WORKER_KILLS, 'process, 5 worker kills');
    expectNoneFailedOrLost(c, 1000, 5);
    // The invocations that died with a worker killed while serving ran again, and their records say so.
    expect(c.crashed).toBeGreaterThanOrEqual(1);
    expect(c.stepsRerun).toBe(c.crashed);
  }, 240_000);

  test('1,000 async 3-step executions, 5 sandbox-agent kills (3 while booting): 0 failed, 0 lost', async () => {
    p = await testPlatform(AGENT_RUN);
    expect((await call(p, 'POST', '/apps', APP)).status).toBe(201);
    const c = await faultRun(p, 1000, AGENT_KILLS, 'process, 5 agent kills');
    expectNoneFailedOrLost(c, 1000, 5);
    expect(c.stepsRerun).toBeGreaterThanOrEqual(1);
    // A recovered execution's history says where it resumed, besides its records: with the sandbox's events, or,
    // when a later kill took that sandbox too, in MF_HISTORY_GONE's details (the platform's own events).
    expect(c.recovered.length).toBeGreaterThan(0);
    const answer = await call(p, 'GET', `/executions/${c.recovered[0]}/history`);
    const history = (answer.status === 200 ? answer.body.history : answer.body.error.details.events) as Array<{ type: string }>;
    if (answer.status !== 200) expect(answer.body.error.code).toBe('MF_HISTORY_GONE');
    expect(history.some((e) => e.type === 'ExecutionRecovering')).toBe(true);
  }, 240_000);
});

noteDockerSkipped('the docker fault runs');
describe.runIf(RUN_DOCKER_TESTS)('fault runs on the docker backend (grouped preset)', () => {
  beforeAll(async () => {
    await dockerWithRuntimeImage();
  }, 600_000);

  const scaled = (kills: Kill[]) => kills.map((k) => ({ ...k, at: Math.round(k.at / 5) }));

  test('200 async executions, 5 worker kills (3 while booting): 0 failed, 0 lost', async () => {
    p = await testPlatform({ backend: 'docker', ...FRESH_WORKERS, ...ONE_SANDBOX });
    expect((await call(p, 'POST', '/apps', APP)).status).toBe(201);
    const c = await faultRun(p, 200, scaled(WORKER_KILLS), 'docker, 5 worker kills');
    expectNoneFailedOrLost(c, 200, 5);
  }, 240_000);

  test('200 async executions, 5 sandbox-agent kills (3 while booting): 0 failed, 0 lost', async () => {
    p = await testPlatform({ backend: 'docker', ...AGENT_RUN });
    expect((await call(p, 'POST', '/apps', APP)).status).toBe(201);
    const c = await faultRun(p, 200, scaled(AGENT_KILLS), 'docker, 5 agent kills');
    expectNoneFailedOrLost(c, 200, 5);
  }, 240_000);
});
