/**
 * Recovery within one host: a worker, or a whole sandbox, is killed in the middle of running chains. Every
 * execution must still complete exactly once from the caller's view (one answer, the right output), resume from
 * its last checkpoint rather than from the start, and keep the records of the steps that ran before the fault.
 */
import { afterEach, describe, expect, test } from 'vitest';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import type { InvocationRecord } from '../dist/platform/records.js';
import { alive, call, chain, inlineFunction, testPlatform, waitFor } from './helpers/platform.js';

// Each step counts its runs per request tag in global storage, sleeps (the step under attack sleeps long, so a
// kill lands while it runs however slow the machine is), and appends its name to the output.
const STEP = `export const handler = async (event, context) => {
  await context.storage.increment('ran/' + event.tag + '/' + context.functionName);
  await new Promise((r) => setTimeout(r, context.functionName === event.slow ? 4000 : 100));
  return { slow: event.slow, tag: event.tag, steps: [...(event.steps ?? []), context.functionName] };
};`;
const READ = `export const handler = async (event, context) => {
  const out = {};
  for (const key of await context.storage.list('ran/' + event.id + '/')) out[key.split('/')[2]] = await context.storage.get(key);
  return out;
};`;
const STEPS = ['s1', 's2', 's3', 's4', 's5'];
// 'vars' keeps a workflow variable across the step under attack: a resumed execution must still have it.
const VARS = {
  StartAt: 'Remember',
  States: {
    Remember: { Type: 'Pass', Assign: { 'who.$': '$.tag' }, Next: 'S3' },
    S3: { Type: 'Task', Resource: 's3', Next: 'Use' },
    Use: { Type: 'Pass', Parameters: { 'who.$': '$who', 'steps.$': '$.steps' }, End: true },
  },
};
const APP = { name: 'rec', functions: [...STEPS.map((s) => inlineFunction(s, STEP)), inlineFunction('read', READ)], workflows: { main: chain(STEPS), vars: VARS } };

let p: PlatformHandle | null = null;
afterEach(async () => {
  await p?.close();
  p = null;
});

async function runsOf(q: PlatformHandle, tag: string): Promise<Record<string, number>> {
  return (await call(q, 'POST', '/apps/rec/functions/read/invocations', { id: tag })).body.output;
}

let nextTag = 0;

/**
 * Starts `n` executions (synchronous requests), waits until every one of them has started `step` (read from the
 * run counters, not guessed from timing), kills `victims()`, and returns the answers with their tags.
 */
async function killMidChain(q: PlatformHandle, n: number, step: string, victims: () => Promise<number[]>, workflow = 'main') {
  const tags = Array.from({ length: n }, () => `t${nextTag++}`);
  const pending = tags.map((tag) => call(q, 'POST', `/apps/rec/workflows/${workflow}/executions`, { slow: step, tag }));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const runs = await Promise.all(tags.map((tag) => runsOf(q, tag)));
    if (runs.every((r) => (r[step] ?? 0) >= 1)) break;
    if (Date.now() > deadline) throw new Error(`the chains did not reach ${step} in time`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const pids = await victims();
  expect(pids.length).toBeGreaterThan(0);
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  const answers = await Promise.all(pending);
  return { answers, pids, tags };
}

function expectCompleted(answers: Array<{ status: number; body: any }>, tags: string[]) {
  answers.forEach((r, i) => {
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('SUCCEEDED');
    expect(r.body.output).toEqual({ slow: r.body.output.slow, tag: tags[i], steps: STEPS });
  });
  // Exactly once from the caller's view: one answer per request, each a distinct execution.
  expect(new Set(answers.map((r) => r.body.executionId)).size).toBe(answers.length);
}

describe('recovery within one host (grouped preset)', () => {
  test('a sandbox killed mid-chain: every execution resumes from its checkpoint in a new sandbox and completes', async () => {
    p = await testPlatform();
    expect((await call(p, 'POST', '/apps', APP)).status).toBe(201);
    await call(p, 'POST', '/apps/rec/workflows/main/executions', { slow: 'none', tag: 'warm' }); // sandbox and workers up
    const q = p;
    const { answers, pids, tags } = await killMidChain(q, 4, 's3', async () => [(await call(q, 'GET', '/apps/rec')).body.sandboxes[0].agentPid]);
    await waitFor(() => pids.every((pid) => !alive(pid)));
    expectCompleted(answers, tags);
    for (const [i, r] of answers.entries()) {
      const runs = await runsOf(q, tags[i]!);
      // Steps finished before the last checkpoint ran once; only the step in flight may have run twice.
      expect(runs.s1).toBe(1);
      expect(Object.keys(runs).sort()).toEqual(STEPS);
      const twice = Object.values(runs).filter((n) => n === 2).length;
      expect(twice).toBeLessThanOrEqual(1);
      expect(Object.values(runs).every((n) => n === 1 || n === 2)).toBe(true);
      // Records of the steps before the fault are kept (flushed with the checkpoints), then those of the new sandbox.
      const records: InvocationRecord[] = r.body.records;
      expect(records.filter((x) => x.outcome.state === 'ok').map((x) => x.function)).toEqual(expect.arrayContaining(STEPS));
      expect(new Set(records.map((x) => x.sandboxId)).size).toBe(2);
    }
    // The execution that created the replacement sandbox paid for it, and its record says so.
    const all = answers.flatMap((r) => r.body.records as InvocationRecord[]);
    expect(all.filter((x) => x.temperature === 'cold-sandbox' && x.sandboxId !== all[0]!.sandboxId)).toHaveLength(1);
    const history = await call(q, 'GET', `/executions/${answers[0]!.body.executionId}/history`);
    expect(history.body.history.some((e: { type: string }) => e.type === 'ExecutionRecovering')).toBe(true);
  });

  test('a sandbox killed mid-workflow: the resumed execution still has the variables assigned before the fault', async () => {
    p = await testPlatform();
    expect((await call(p, 'POST', '/apps', APP)).status).toBe(201);
    await call(p, 'POST', '/apps/rec/workflows/vars/executions', { slow: 'none', tag: 'warm' });
    const q = p;
    const agent = async () => [(await call(q, 'GET', '/apps/rec')).body.sandboxes[0].agentPid as number];
    const { answers, tags } = await killMidChain(q, 3, 's3', agent, 'vars');
    answers.forEach((r, i) => {
      expect(r.body).toMatchObject({ status: 'SUCCEEDED', output: { who: tags[i], steps: ['s3'] } });
    });
    // It resumed at S3 (from the checkpoint that carried the variable), not from the start.
    const history = await call(q, 'GET', `/executions/${answers[0]!.body.executionId}/history`);
    expect(history.body.history).toContainEqual(expect.objectContaining({ type: 'ExecutionRecovering', state: 'S3' }));
  });

  test('a worker killed mid-chain: its invocation runs again in a fresh worker and every execution completes', async () => {
    p = await testPlatform();
    await call(p, 'POST', '/apps', APP);
    const warm = await call(p, 'POST', '/apps/rec/workflows/main/executions', { slow: 'none', tag: 'warm' });
    const s3pid = (warm.body.records as InvocationRecord[]).find((x) => x.function === 's3')!.workerPid;
    const q = p;
    const { answers, tags } = await killMidChain(q, 4, 's3', async () => [s3pid]);
    expectCompleted(answers, tags);
    for (const [i, r] of answers.entries()) {
      const runs = await runsOf(q, tags[i]!);
      expect([runs.s1, runs.s2, runs.s4, runs.s5]).toEqual([1, 1, 1, 1]);
      // s3 was in flight in its worker when the worker died, so it ran twice: the crashed attempt and the rerun.
      expect(runs.s3).toBe(2);
      const records = r.body.records as InvocationRecord[];
      const s3 = records.filter((x) => x.function === 's3');
      expect(s3.map((x) => x.outcome.state)).toEqual(['crashed', 'ok']);
      expect(s3[0]!.workerPid).toBe(s3pid);
      expect(s3[1]!.workerPid).not.toBe(s3pid);
    }
  });
});

describe('recovery within one host (per-function preset)', () => {
  test("a function's sandbox killed mid-invocation: the hop runs again in another sandbox", async () => {
    p = await testPlatform({ preset: 'per-function' });
    await call(p, 'POST', '/apps', APP);
    const q = p;
    // Three concurrent chains make three sandboxes per function (one execution at a time each).
    await Promise.all([1, 2, 3].map(() => call(q, 'POST', '/apps/rec/workflows/main/executions', { slow: 'none', tag: 'warm' })));
    const s3Sandboxes = async () => {
      const app = (await call(q, 'GET', '/apps/rec')).body;
      return app.sandboxes.filter((s: { functions: string[] }) => s.functions[0] === 's3').map((s: { agentPid: number }) => s.agentPid) as number[];
    };
    expect((await s3Sandboxes()).length).toBe(3);
    const { answers, tags } = await killMidChain(q, 3, 's3', s3Sandboxes);
    expectCompleted(answers, tags);
    const s3runs: number[] = [];
    for (const tag of tags) {
      const runs = await runsOf(q, tag);
      expect([runs.s1, runs.s2, runs.s4, runs.s5]).toEqual([1, 1, 1, 1]);
      s3runs.push(runs.s3!);
    }
    // Every chain's s3 was in flight in a killed sandbox, so each ran again in another sandbox.
    expect(s3runs).toEqual([2, 2, 2]);
  });
});
