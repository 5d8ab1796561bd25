/**
 * Worker-to-worker handover inside a sandbox (real platform, agent and workers): on a warm sandbox, every hop of a
 * 10-Task chain after the first goes from one worker straight to the next, without the agent on the hop, and the
 * records say so; a worker killed mid-chain has its step run again; a busy next worker, a failure with Retry and a
 * Catch all go through the agent and give the results they gave before.
 */
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, chain, inlineFunction, testPlatform } from './helpers/platform.js';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import type { InvocationRecord } from '../dist/platform/records.js';

const STEPS = Array.from({ length: 10 }, (_, i) => `s${i + 1}`);
/** Each step counts itself, so the output proves every step ran once, in order. */
const STEP = `export const handler = async (e) => ({ ...e, path: [...(e.path ?? []), process.env.AWS_LAMBDA_FUNCTION_NAME] });`;
/**
 * Holds its invocation while `e.hold` names a folder with no 'held' file in it: creates the file (the test's cue), then
 * waits, bounded, to be killed. A re-run finds the file and passes through.
 */
const HOLD = `
import { existsSync, writeFileSync } from 'node:fs';
export const handler = async (e) => {
  if (e.hold && !existsSync(e.hold + '/held')) {
    writeFileSync(e.hold + '/held', String(process.pid));
    await new Promise((r) => setTimeout(r, 20000));
  }
  return { ...e, path: [...(e.path ?? []), process.env.AWS_LAMBDA_FUNCTION_NAME] };
};`;
/** Dials every worker inbox in the sandbox's folder and writes bytes that are not frames; says how many it reached. */
const HOSTILE = `
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
export const handler = async () => {
  const inboxes = readdirSync(process.cwd()).filter((f) => /^hop-\\d+\\.sock$/.test(f));
  let reached = 0;
  await Promise.all(inboxes.map((f) => new Promise((done) => {
    const s = connect(process.cwd() + '/' + f, () => { reached++; s.end('this is not a frame\\n{"t":"invoke","n":3}\\nxyz', done); });
    s.on('error', done);
  })));
  return { inboxes: inboxes.length, reached };
};`;
/** Fails once per folder (the first time it sees no 'failed' file there), then passes through. */
const FLAKY = `
import { existsSync, writeFileSync } from 'node:fs';
export const handler = async (e) => {
  if (e.flaky && !existsSync(e.flaky + '/failed')) {
    writeFileSync(e.flaky + '/failed', '1');
    const err = new Error('first try fails'); err.name = 'Flaky'; throw err;
  }
  return { ...e, path: [...(e.path ?? []), process.env.AWS_LAMBDA_FUNCTION_NAME] };
};`;
/**
 * Leaves a file named after itself in `e.mark` (it ran); with `e.gate`, says 'started' there and waits (bounded) for
 * an 'open' file, keeping its worker busy meanwhile.
 */
const GATED = `
import { existsSync, writeFileSync } from 'node:fs';
export const handler = async (e) => {
  const me = process.env.AWS_LAMBDA_FUNCTION_NAME;
  if (e.mark) writeFileSync(e.mark + '/' + me, '');
  if (e.gate) {
    writeFileSync(e.gate + '/started', '');
    for (let i = 0; i < 1000 && !existsSync(e.gate + '/open'); i++) await new Promise((r) => setTimeout(r, 10));
  }
  return { ...e, path: [...(e.path ?? []), me] };
};`;

async function until(what: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('worker-to-worker handover', () => {
  let p: PlatformHandle;
  let scratch: string;
  const seenPids = new Set<number>();

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'mft-handover-'));
    p = await testPlatform();
    const functions = [
      ...STEPS.filter((s) => s !== 's5').map((s) => inlineFunction(s, STEP)),
      inlineFunction('s5', HOLD),
      inlineFunction('flaky', FLAKY),
      inlineFunction('after', STEP),
      inlineFunction('hostile', HOSTILE),
    ];
    const retried = {
      StartAt: 'S1',
      States: {
        S1: { Type: 'Task', Resource: 's1', Next: 'F' },
        F: { Type: 'Task', Resource: 'flaky', Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 1, BackoffRate: 1, MaxAttempts: 2 }], Next: 'A' },
        A: { Type: 'Task', Resource: 'after', End: true },
      },
    };
    const caught = {
      StartAt: 'S1',
      States: {
        S1: { Type: 'Task', Resource: 's1', Next: 'F' },
        F: { Type: 'Task', Resource: 'flaky', Catch: [{ ErrorEquals: ['Flaky'], ResultPath: '$.caught', Next: 'A' }], Next: 'S2' },
        S2: { Type: 'Task', Resource: 's2', End: true },
        A: { Type: 'Task', Resource: 'after', End: true },
      },
    };
    const deployed = await call(p, 'POST', '/apps', { name: 'hand', functions, workflows: { ten: chain(STEPS), retried, caught } });
    expect(deployed.status).toBe(201);
  });

  afterAll(async () => {
    await p?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  test('a warm 10-Task chain: the agent dispatches the first hop only, each later step is handed over', async () => {
    const cold = await call(p, 'POST', '/apps/hand/workflows/ten/executions', { n: 0 });
    expect(cold.body.status).toBe('SUCCEEDED');
    const coldRecords: InvocationRecord[] = cold.body.records;
    // No worker existed yet for the later steps: nothing could be handed over, and the temperatures say so.
    expect(coldRecords.map((r) => r.temperature)).toEqual(['cold-sandbox', ...Array(9).fill('cold-worker')]);
    expect(coldRecords.filter((r) => r.handedOver)).toHaveLength(0);
    for (const r of coldRecords) seenPids.add(r.workerPid);

    for (let i = 1; i <= 5; i++) {
      const r = await call(p, 'POST', '/apps/hand/workflows/ten/executions', { n: i });
      expect(r.body.status).toBe('SUCCEEDED');
      expect(r.body.output).toEqual({ n: i, path: STEPS });
      const records: InvocationRecord[] = r.body.records;
      expect(records.map((x) => x.state)).toEqual(STEPS.map((_, k) => `S${k + 1}`));
      // The agent's messages on the critical path: the first dispatch (and the last result, which ends the execution).
      expect(records.map((x) => x.handedOver === true)).toEqual([false, ...Array(9).fill(true)]);
      for (const x of records) {
        expect(x.temperature).toBe('warm');
        expect(x.workerOrigin).toBe('existing');
        expect(seenPids.has(x.workerPid)).toBe(true);
        expect(x.outcome).toEqual({ state: 'ok' });
        expect(x.inputBytes).toBeGreaterThan(0);
      }
      // Sizes are the framed bytes: each step's input is the previous step's output.
      for (let k = 1; k < records.length; k++) expect(records[k]!.inputBytes).toBe(records[k - 1]!.outputBytes);
    }
  });

  test('a handed-over multi-byte result: every size is its UTF-8 bytes, measured from the one encoding', async () => {
    const input = { s: 'é€'.repeat(500) };
    const r = await call(p, 'POST', '/apps/hand/workflows/ten/executions', input);
    expect(r.body.status).toBe('SUCCEEDED');
    const records: InvocationRecord[] = r.body.records;
    expect(records.filter((x) => x.handedOver)).toHaveLength(9);
    records.forEach((x, k) => {
      // Characters and bytes differ here (2 and 3 bytes each): a size taken from the text's length would show it.
      expect(x.outputBytes).toBe(Buffer.byteLength(JSON.stringify({ ...input, path: STEPS.slice(0, k + 1) })));
      if (k > 0) expect(x.inputBytes).toBe(records[k - 1]!.outputBytes);
    });
    expect(r.body.output).toEqual({ ...input, path: STEPS });
  });

  test('execution history still shows every state, in order, for a handed-over chain', async () => {
    const started = await call(p, 'POST', '/apps/hand/workflows/ten/executions?mode=async', { n: 7 });
    expect(started.status).toBe(202);
    let done: any;
    await until(async () => {
      done = (await call(p, 'GET', `/executions/${started.body.executionId}`)).body;
      return done.status !== 'RUNNING';
    });
    expect(done.status).toBe('SUCCEEDED');
    expect(done.records.filter((r: InvocationRecord) => r.handedOver)).toHaveLength(9);
    const events: Array<{ type: string; state?: string }> = (await call(p, 'GET', `/executions/${started.body.executionId}/history`)).body.history;
    expect(events.filter((e) => e.type === 'TaskStateEntered').map((e) => e.state)).toEqual(STEPS.map((_, k) => `S${k + 1}`));
  });

  test('a worker killed while it runs a handed-over step: the step runs again and the chain completes', async () => {
    const warm = await call(p, 'POST', '/apps/hand/workflows/ten/executions', { n: 'warm' });
    expect(warm.body.records.every((r: InvocationRecord, k: number) => (k === 0) !== (r.handedOver === true))).toBe(true);
    const hold = await mkdtemp(join(scratch, 'hold-'));
    const running = call(p, 'POST', '/apps/hand/workflows/ten/executions', { hold });
    await until(async () => (await stat(join(hold, 'held')).catch(() => null)) !== null);
    const victim = warm.body.records[4].workerPid as number;
    process.kill(victim, 'SIGKILL');
    const r = await running;
    expect(r.body.status).toBe('SUCCEEDED');
    expect(r.body.output).toEqual({ hold, path: STEPS });
    const s5: InvocationRecord[] = r.body.records.filter((x: InvocationRecord) => x.state === 'S5');
    expect(s5).toHaveLength(2);
    expect(s5[0]).toMatchObject({ workerPid: victim, handedOver: true, outcome: { state: 'crashed', error: 'MF_WORKER_EXITED' } });
    expect(s5[1]).toMatchObject({ retry: 1, outcome: { state: 'ok' } });
    expect(s5[1]!.workerPid).not.toBe(victim);
    expect(s5[1]!.handedOver).toBeUndefined();
    // The steps after the re-run are handed over again, from the new worker on.
    const after: InvocationRecord[] = r.body.records.filter((x: InvocationRecord) => ['S6', 'S7', 'S8', 'S9', 'S10'].includes(x.state ?? ''));
    expect(after.map((x) => x.handedOver)).toEqual(Array(5).fill(true));
  });

  test('a function that writes garbage into the other workers\' inboxes takes none of them down', async () => {
    const before = await call(p, 'POST', '/apps/hand/workflows/ten/executions', { n: 'before' });
    const pids = before.body.records.map((r: InvocationRecord) => r.workerPid);
    const hostile = await call(p, 'POST', '/apps/hand/functions/hostile/invocations', {});
    expect(hostile.body.status).toBe('SUCCEEDED');
    expect(hostile.body.output.reached).toBeGreaterThanOrEqual(10);
    const after = await call(p, 'POST', '/apps/hand/workflows/ten/executions', { n: 'after' });
    expect(after.body.status).toBe('SUCCEEDED');
    expect(after.body.output).toEqual({ n: 'after', path: STEPS });
    expect(after.body.records.map((r: InvocationRecord) => r.workerPid)).toEqual(pids);
    expect(after.body.records.filter((r: InvocationRecord) => r.handedOver)).toHaveLength(9);
  });

  test('a failed step goes to the agent: Retry runs it again there, and Catch takes its route', async () => {
    await call(p, 'POST', '/apps/hand/workflows/retried/executions', { flaky: null }); // warm every worker
    const retryDir = await mkdtemp(join(scratch, 'retry-'));
    const retried = await call(p, 'POST', '/apps/hand/workflows/retried/executions', { flaky: retryDir });
    expect(retried.body.status).toBe('SUCCEEDED');
    expect(retried.body.output).toEqual({ flaky: retryDir, path: ['s1', 'flaky', 'after'] });
    const rr: InvocationRecord[] = retried.body.records;
    expect(rr.map((x) => [x.state, x.outcome.state, x.handedOver === true])).toEqual([
      ['S1', 'ok', false],
      ['F', 'error', true],
      ['F', 'ok', false],
      ['A', 'ok', true],
    ]);

    await call(p, 'POST', '/apps/hand/workflows/caught/executions', { flaky: null });
    const catchDir = await mkdtemp(join(scratch, 'catch-'));
    const caught = await call(p, 'POST', '/apps/hand/workflows/caught/executions', { flaky: catchDir });
    expect(caught.body.status).toBe('SUCCEEDED');
    expect(caught.body.output.path).toEqual(['s1', 'after']);
    expect(caught.body.output.caught.Error).toBe('Flaky');
    expect(caught.body.records.map((x: InvocationRecord) => x.state)).toEqual(['S1', 'F', 'A']);
  });
});

describe('worker-to-worker handover, next worker busy', () => {
  let p: PlatformHandle;
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'mft-handover-busy-'));
    // One invocation per worker; a second worker may start for a function whose only worker is busy.
    p = await testPlatform({ workerConcurrency: 1, maxWorkersPerFunction: 2 });
    const deployed = await call(p, 'POST', '/apps', {
      name: 'busy',
      functions: [inlineFunction('first', GATED), inlineFunction('slow', GATED)],
      workflows: { main: chain(['first', 'slow']) },
    });
    expect(deployed.status).toBe(201);
  });

  afterAll(async () => {
    await p?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  test('when the next function has no free slot, the hop goes through the agent and the chain completes', async () => {
    expect((await call(p, 'POST', '/apps/busy/workflows/main/executions', {})).body.status).toBe('SUCCEEDED');
    const warm = await call(p, 'POST', '/apps/busy/workflows/main/executions', {});
    expect(warm.body.records.map((r: InvocationRecord) => r.handedOver === true)).toEqual([false, true]);
    // The only worker of "slow" runs one invocation at a time: keep it busy...
    const gate = await mkdtemp(join(scratch, 'gate-'));
    const busy = call(p, 'POST', '/apps/busy/functions/slow/invocations', { gate });
    await until(async () => (await stat(join(gate, 'started')).catch(() => null)) !== null);
    // ...while the chain's first step is dispatched (the agent plans the hop then), and only then free it.
    const mark = await mkdtemp(join(scratch, 'mark-'));
    const chained = call(p, 'POST', '/apps/busy/workflows/main/executions', { mark });
    await until(async () => (await stat(join(mark, 'first')).catch(() => null)) !== null);
    await writeFile(join(gate, 'open'), '');
    expect((await busy).body.status).toBe('SUCCEEDED');
    const r = await chained;
    expect(r.body.status).toBe('SUCCEEDED');
    expect(r.body.output).toEqual({ mark, path: ['first', 'slow'] });
    const records: InvocationRecord[] = r.body.records;
    expect(records.map((x) => x.handedOver === true)).toEqual([false, false]);
    // The agent took the hop and started a second worker of "slow" for it: that step is cold-worker, by identity.
    expect(records.map((x) => x.temperature)).toEqual(['warm', 'cold-worker']);
    expect(records[1]!.workerPid).not.toBe(warm.body.records[1].workerPid);
  });
});

describe('a stop and the handover', () => {
  test('a stopped execution goes no further: its running step forwards nothing, and the steps planned after it never run', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'mft-handover-stop-'));
    const p = await testPlatform();
    try {
      const steps = ['g1', 'g2', 'g3'];
      expect((await call(p, 'POST', '/apps', { name: 'halt', functions: steps.map((s) => inlineFunction(s, GATED)), workflows: { main: chain(steps) } })).status).toBe(201);
      // Warm: a worker of every step runs, so the next execution's hops are planned as handovers.
      for (let i = 0; i < 2; i++) expect((await call(p, 'POST', '/apps/halt/workflows/main/executions', {})).body.status).toBe('SUCCEEDED');
      const [gate, mark] = await Promise.all([mkdtemp(join(scratch, 'gate-')), mkdtemp(join(scratch, 'mark-'))]);
      const accepted = await call(p, 'POST', '/apps/halt/workflows/main/executions?mode=async', { gate, mark });
      const id = accepted.body.executionId as string;
      await until(async () => (await stat(join(gate, 'started')).catch(() => null)) !== null);
      const stopped = await call(p, 'POST', `/executions/${id}/stop`, { error: 'Test.Stop' });
      expect(stopped.body).toMatchObject({ status: 'ABORTED', error: 'Test.Stop' });
      // The first step ignores its signal and returns once the gate opens, after it was told to stop (the grace
      // before it would be abandoned is 2 s): it must not hand its result on.
      await new Promise((r) => setTimeout(r, 500));
      await writeFile(join(gate, 'open'), '');
      await new Promise((r) => setTimeout(r, 1500));
      expect((await readdir(mark)).sort()).toEqual(['g1']);
      // The sandbox still serves: its slots were given back.
      const after = await call(p, 'POST', '/apps/halt/workflows/main/executions', {});
      expect(after.body).toMatchObject({ status: 'SUCCEEDED', output: { path: steps } });
    } finally {
      await p.close();
      await rm(scratch, { recursive: true, force: true });
    }
  });
});

describe('the handover switch off (an ablation)', () => {
  test('every hop goes through the agent: a warm chain has no handed-over record and the same result', async () => {
    const p = await testPlatform({ handover: false });
    try {
      const steps = ['a1', 'a2', 'a3'];
      const deployed = await call(p, 'POST', '/apps', { name: 'plain', functions: steps.map((s) => inlineFunction(s, STEP)), workflows: { main: chain(steps) } });
      expect(deployed.status).toBe(201);
      for (let i = 0; i < 3; i++) {
        const r = await call(p, 'POST', '/apps/plain/workflows/main/executions', { n: i });
        expect(r.body.status).toBe('SUCCEEDED');
        expect(r.body.output).toEqual({ n: i, path: steps });
        const records: InvocationRecord[] = r.body.records;
        expect(records.filter((x) => x.handedOver)).toEqual([]);
        if (i > 0) expect(records.map((x) => x.temperature)).toEqual(['warm', 'warm', 'warm']);
      }
      expect((await call(p, 'GET', '/config')).body).toMatchObject({ handover: false });
    } finally {
      await p.close();
    }
  });
});
