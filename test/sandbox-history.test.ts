/**
 * Execution history kept in the sandbox (real platform, agent and workers): the engine's events stay in the sandbox
 * that ran the execution and cross the sandbox wall only when GET /executions/{id}/history asks, while it runs or
 * after; the sandbox drops the oldest beyond its byte bound and says so; once the sandbox is gone, the answer is a
 * typed error that carries what the platform itself recorded.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { alive, call, chain, inlineFunction, testPlatform } from './helpers/platform.js';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import type { InvocationRecord } from '../dist/platform/records.js';

const STEPS = ['h1', 'h2', 'h3'];
/** Adds its name to the path; with `e.gate`, says 'started' there and waits (bounded) for an 'open' file. */
const STEP = `
import { existsSync, writeFileSync } from 'node:fs';
export const handler = async (e) => {
  if (e.gate && process.env.AWS_LAMBDA_FUNCTION_NAME === 'h2') {
    writeFileSync(e.gate + '/started', '');
    for (let i = 0; i < 2000 && !existsSync(e.gate + '/open'); i++) await new Promise((r) => setTimeout(r, 10));
  }
  return { ...e, path: [...(e.path ?? []), process.env.AWS_LAMBDA_FUNCTION_NAME] };
};`;
const APP = { name: 'hist', functions: STEPS.map((s) => inlineFunction(s, STEP)), workflows: { three: chain(STEPS) } };

type Event = { type: string; state?: string; input?: unknown; output?: unknown };

async function until(what: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('execution history kept in the sandbox', () => {
  let p: PlatformHandle;
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'mft-history-'));
    p = await testPlatform();
    expect((await call(p, 'POST', '/apps', APP)).status).toBe(201);
  });

  afterAll(async () => {
    await p?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  test('fetched on demand: every state in order, with the inputs and outputs the functions saw', async () => {
    const input = { n: 1, text: 'é'.repeat(100) };
    const r = await call(p, 'POST', '/apps/hist/workflows/three/executions', input);
    expect(r.body.status).toBe('SUCCEEDED');
    const h = await call(p, 'GET', `/executions/${r.body.executionId}/history`);
    expect(h.status).toBe(200);
    const events: Event[] = h.body.history;
    expect(events[0]).toMatchObject({ type: 'ExecutionStarted', input });
    expect(events.at(-1)).toMatchObject({ type: 'ExecutionSucceeded', output: { ...input, path: STEPS } });
    expect(events.filter((e) => e.type === 'TaskStateEntered').map((e) => e.state)).toEqual(['S1', 'S2', 'S3']);
    // Results the agent carried unparsed come back as the values they were.
    const succeeded = events.filter((e) => e.type === 'TaskSucceeded').map((e) => e.output);
    expect(succeeded).toEqual(STEPS.map((_, k) => ({ ...input, path: STEPS.slice(0, k + 1) })));
  });

  test('while the execution runs, the sandbox answers with the events so far', async () => {
    const gate = join(scratch, 'gate');
    await rm(gate, { recursive: true, force: true });
    await mkdir(gate);
    const started = await call(p, 'POST', '/apps/hist/workflows/three/executions?mode=async', { gate });
    expect(started.status).toBe(202);
    const id: string = started.body.executionId;
    await until(async () => existsSync(join(gate, 'started')));
    const during: Event[] = (await call(p, 'GET', `/executions/${id}/history`)).body.history;
    expect(during.filter((e) => e.type === 'TaskStateEntered').map((e) => e.state)).toEqual(['S1', 'S2']);
    expect(during.some((e) => e.type === 'ExecutionSucceeded')).toBe(false);
    await writeFile(join(gate, 'open'), '');
    await until(async () => (await call(p, 'GET', `/executions/${id}`)).body.status !== 'RUNNING');
    const after: Event[] = (await call(p, 'GET', `/executions/${id}/history`)).body.history;
    expect(after.at(-1)?.type).toBe('ExecutionSucceeded');
  });

  test('once the sandbox that ran it is gone, the answer is MF_HISTORY_GONE naming that sandbox', async () => {
    const r = await call(p, 'POST', '/apps/hist/workflows/three/executions', { n: 2 });
    expect(r.body.status).toBe('SUCCEEDED');
    const sandboxId = (r.body.records as InvocationRecord[])[0]!.sandboxId;
    const sandboxes: Array<{ id: string; agentPid: number }> = (await call(p, 'GET', '/apps/hist')).body.sandboxes;
    const agentPid = sandboxes.find((s) => s.id === sandboxId)!.agentPid;
    process.kill(agentPid, 'SIGKILL');
    await until(async () => !alive(agentPid));
    await until(async () => (await call(p, 'GET', `/executions/${r.body.executionId}/history`)).status !== 200);
    const h = await call(p, 'GET', `/executions/${r.body.executionId}/history`);
    expect(h.status).toBe(410);
    expect(h.body.error).toMatchObject({ code: 'MF_HISTORY_GONE', details: { executionId: r.body.executionId, sandboxId, events: [] } });
    // The execution itself is still answered, and the platform goes on (a new sandbox runs the next one).
    expect((await call(p, 'GET', `/executions/${r.body.executionId}`)).body.status).toBe('SUCCEEDED');
    const next = await call(p, 'POST', '/apps/hist/workflows/three/executions', { n: 3 });
    expect(next.body.status).toBe('SUCCEEDED');
    expect((await call(p, 'GET', `/executions/${next.body.executionId}/history`)).status).toBe(200);
  });
});

describe('the sandbox bounds the history it keeps', () => {
  test('beyond maxStoredExecutionBytes the oldest histories are dropped, and asking for one says MF_HISTORY_EVICTED', async () => {
    // Each execution's history holds its ~4 KB payload about 13 times (about 55 KB): the bound keeps two of them.
    const p = await testPlatform({ maxStoredExecutionBytes: 120_000 });
    try {
      expect((await call(p, 'POST', '/apps', APP)).status).toBe(201);
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await call(p, 'POST', '/apps/hist/workflows/three/executions', { i, pad: 'x'.repeat(4000) });
        expect(r.body.status).toBe('SUCCEEDED');
        ids.push(r.body.executionId);
      }
      // The sandbox measures and bounds after each answer left: the newest is kept once it has done so.
      await until(async () => (await call(p, 'GET', `/executions/${ids[0]}/history`)).status === 410);
      const oldest = await call(p, 'GET', `/executions/${ids[0]}/history`);
      expect(oldest.body.error).toMatchObject({ code: 'MF_HISTORY_EVICTED', details: { executionId: ids[0] } });
      expect(oldest.body.error.details.evicted).toBeGreaterThanOrEqual(1);
      const newest = await call(p, 'GET', `/executions/${ids[3]}/history`);
      expect(newest.status).toBe(200);
      expect(newest.body.history.at(-1)).toMatchObject({ type: 'ExecutionSucceeded', output: { i: 3, path: STEPS } });
      // The executions themselves are all still answered: only the sandbox's copy of their history went.
      for (const id of ids) expect((await call(p, 'GET', `/executions/${id}`)).body.status).toBe('SUCCEEDED');
    } finally {
      await p.close();
    }
  });
});
