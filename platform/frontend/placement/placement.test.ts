/**
 * The execution placements, each on real sandboxes (process backend): a workflow runs to its result, every Task
 * leaves one record, and each placement keeps what it alone is for (checkpoints in the sandbox; host-side history).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { plain, RawJson } from '../../../dist/platform/asl/raw-json.js';
import { InSandboxPlacement } from '../../../dist/platform/frontend/placement/in-sandbox.js';
import { OnHostPlacement } from '../../../dist/platform/frontend/placement/on-host.js';
import { DirectTransport } from '../../../dist/platform/frontend/transport/direct.js';
import { SessionRegistry } from '../../../dist/platform/frontend/sessions.js';
import { makeParts, type Parts } from '../../../test/helpers/seams.js';

let parts: Parts | null = null;
const LIMITS = { maxTransitions: 25_000, maxDurationMs: 3_600_000 };

afterEach(async () => {
  await parts?.close();
  parts = null;
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('in-sandbox placement', () => {
  test('the whole workflow runs in one sandbox of the app, and its checkpoints reach the execution and the global bus', async () => {
    parts = await makeParts({ preset: 'grouped' }, true);
    const placement = new InSandboxPlacement(false, parts.executions, parts.bus);
    parts.onCheckpoints = (items) => placement.checkpoints(items);
    const exec = parts.executions.create('seams', 'chain', null, Date.now());
    const seen: Array<string | undefined> = [];
    // The checkpoint is kept only while the execution runs: sample it during the slow second state.
    const sampler = setInterval(() => seen.push(exec.checkpoint?.state), 10);
    const result = await placement.run(parts.app, exec, { n: 5 }, new Date().toISOString()).finally(() => clearInterval(sampler));
    // The output is the bytes the last worker framed (a RawJson the link checked), read here as its value.
    expect(result.status).toBe('SUCCEEDED');
    expect(result.status === 'SUCCEEDED' && result.output).toBeInstanceOf(RawJson);
    expect(result.status === 'SUCCEEDED' && plain(result.output)).toEqual({ n: 11 });
    expect(exec.records.map((r) => r.state)).toEqual(['S1', 'S2']);
    expect(new Set(exec.records.map((r) => r.sandboxId)).size).toBe(1);
    expect(seen).toContain('S2');
    await waitFor(async () => (await parts!.bus.read('checkpoints', { key: exec.executionId })).length > 0);
    const copies = await parts.bus.read<{ state: string; input: unknown }>('checkpoints', { key: exec.executionId });
    expect(copies.at(-1)?.payload).toEqual({ state: 'S2', input: { n: 10 } });
  });

  test("aborting the execution's controller (what a stop calls) ends it in the sandbox with States.Aborted", async () => {
    parts = await makeParts({ preset: 'grouped' }, true);
    const placement = new InSandboxPlacement(false, parts.executions, parts.bus);
    const exec = parts.executions.create('seams', 'chain', null, Date.now());
    const running = placement.run(parts.app, exec, { n: 5 }, new Date().toISOString());
    // A stop that comes while the sandbox is still starting: the abort follows the request into the sandbox.
    exec.abort.abort('stopped by the test');
    expect(await running).toMatchObject({ status: 'FAILED', error: 'States.Aborted' });
  });

  test('checkpoints of executions that are not running are dropped', async () => {
    parts = await makeParts({ preset: 'grouped' }, true);
    const placement = new InSandboxPlacement(false, parts.executions, parts.bus);
    const exec = parts.executions.create('seams', 'chain', null, Date.now());
    exec.status = 'SUCCEEDED';
    placement.checkpoints([{ id: exec.executionId, state: 'S2', input: {}, records: [] }, { id: 'unknown', state: 'S2', input: {}, records: [] }]);
    expect(exec.checkpoint).toBeNull();
    expect(await parts.bus.read('checkpoints')).toEqual([]);
  });
});

describe('on-host placement', () => {
  test('the frontend runs the workflow; each Task is a hop to the sandbox of its function', async () => {
    parts = await makeParts({ preset: 'per-function', busMode: 'hierarchical' }, false);
    const placement = new OnHostPlacement(true, new DirectTransport(), LIMITS, new SessionRegistry(parts.apps));
    const exec = parts.executions.create('seams', 'chain', null, Date.now());
    const result = await placement.run(parts.app, exec, { n: 5 }, new Date().toISOString());
    // The output is the bytes the last worker framed (a RawJson the link checked), read here as its value.
    expect(result.status).toBe('SUCCEEDED');
    expect(result.status === 'SUCCEEDED' && result.output).toBeInstanceOf(RawJson);
    expect(result.status === 'SUCCEEDED' && plain(result.output)).toEqual({ n: 11 });
    expect(exec.records.map((r) => [r.state, r.function])).toEqual([['S1', 'double'], ['S2', 'slow']]);
    // Per-function sandboxing: each function in a sandbox of its own.
    expect(new Set(exec.records.map((r) => r.sandboxId)).size).toBe(2);
    // The host-side engine's own history (kept because keepHistory is on).
    expect(exec.history.map((e) => e.type)).toContain('ExecutionSucceeded');
  });

  test("aborting the execution's controller (what a stop calls) ends it with States.Aborted, its hop told", async () => {
    parts = await makeParts({ preset: 'per-function', busMode: 'hierarchical' }, false);
    const placement = new OnHostPlacement(false, new DirectTransport(), LIMITS, new SessionRegistry(parts.apps));
    const exec = parts.executions.create('seams', 'chain', null, Date.now());
    const running = placement.run(parts.app, exec, { n: 5 }, new Date().toISOString());
    await waitFor(async () => exec.records.some((r) => r.state === 'S1'), 30_000);
    exec.abort.abort('stopped by the test');
    expect(await running).toMatchObject({ status: 'FAILED', error: 'States.Aborted' });
  });

  test("a Task's failure fails the execution with the function's error", async () => {
    parts = await makeParts({ preset: 'per-function' }, false);
    const placement = new OnHostPlacement(false, new DirectTransport(), LIMITS, new SessionRegistry(parts.apps));
    const exec = parts.executions.create('seams', 'failing', null, Date.now());
    const result = await placement.run(parts.app, exec, {}, new Date().toISOString());
    expect(result).toMatchObject({ status: 'FAILED', error: 'Error', cause: expect.stringContaining('no luck') });
    expect(exec.history).toEqual([]);
  });
});
