/**
 * The hop transports, each on real sandboxes (process backend): a hop runs on a worker of its function and its
 * answer, records and logs come back; the journal transport also leaves the hop and its result on the global bus.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { plain } from '../../../dist/platform/asl/raw-json.js';
import { DirectTransport } from '../../../dist/platform/frontend/transport/direct.js';
import { JournalTransport } from '../../../dist/platform/frontend/transport/journal.js';
import type { HopTransport } from '../../../dist/platform/frontend/transport/transport.js';
import { makeParts, type Parts } from '../../../test/helpers/seams.js';

let parts: Parts | null = null;
let transport: HopTransport | null = null;

afterEach(async () => {
  await transport?.close();
  await parts?.close();
  parts = transport = null;
});

const variants: Array<[string, (p: Parts) => HopTransport]> = [
  ['direct', () => new DirectTransport()],
  ['journal', (p) => new JournalTransport(p.bus, p.apps, p.executions)],
];

describe.each(variants)('%s transport', (_name, make) => {
  test('a hop runs on a worker of its function; the answer, its record and its logs are kept with the execution', async () => {
    parts = await makeParts({ preset: 'per-function' }, false);
    transport = make(parts);
    const exec = parts.executions.create('seams', 'chain', null, Date.now());
    const done = await transport.hop(parts.app, exec, { fn: 'double', input: { n: 21 }, state: 'S1' });
    // The output may arrive as the sandbox's framed bytes (a RawJson): its value is what counts.
    expect({ ...done.result, ...(done.result.status === 'SUCCEEDED' ? { output: plain(done.result.output) } : {}) }).toEqual({ status: 'SUCCEEDED', output: { n: 42 } });
    expect(exec.t.dispatched).toBeGreaterThan(0);
    expect(exec.records).toHaveLength(1);
    expect(exec.records[0]).toMatchObject({ function: 'double', state: 'S1', temperature: 'cold-sandbox' });
    expect(parts.app.logs.map((l) => [l.message, l.executionId])).toEqual([['doubling 21', exec.executionId]]);
  });

  test("a function's error is an answer, not a platform fault", async () => {
    parts = await makeParts({ preset: 'per-function' }, false);
    transport = make(parts);
    const exec = parts.executions.create('seams', null, 'fail', Date.now());
    const done = await transport.hop(parts.app, exec, { fn: 'fail', input: {}, state: null });
    expect(done.result).toMatchObject({ status: 'FAILED', error: 'Error', cause: expect.stringContaining('no luck') });
  });
});

describe('journal transport', () => {
  test('the hop and its result travel through the global bus, keyed by execution', async () => {
    parts = await makeParts({ preset: 'per-function' }, false);
    transport = new JournalTransport(parts.bus, parts.apps, parts.executions);
    const exec = parts.executions.create('seams', 'chain', null, Date.now());
    await transport.hop(parts.app, exec, { fn: 'double', input: { n: 1 }, state: 'S1' });
    const hops = await parts.bus.read<{ fn: string; app: string; input: unknown }>('hops');
    expect(hops.map((m) => [m.key, m.payload.app, m.payload.fn, m.payload.input])).toEqual([[exec.executionId, 'seams', 'double', { n: 1 }]]);
    const results = await parts.bus.read<{ done?: { result: unknown } }>('hop-results');
    expect(results.map((m) => [m.key, m.payload.done?.result])).toEqual([[exec.executionId, { status: 'SUCCEEDED', output: { n: 2 } }]]);
  });

  test('a hop the dispatcher cannot place comes back over the bus as a typed error', async () => {
    parts = await makeParts({ preset: 'per-function' }, false);
    transport = new JournalTransport(parts.bus, parts.apps, parts.executions);
    const exec = parts.executions.create('seams', 'chain', null, Date.now());
    parts.apps.remove('seams');
    await expect(transport.hop(parts.app, exec, { fn: 'double', input: { n: 1 }, state: 'S1' })).rejects.toMatchObject({ code: 'MF_APP_NOT_FOUND' });
    const results = await parts.bus.read<{ error?: { code: string } }>('hop-results');
    expect(results.map((m) => m.payload.error?.code)).toEqual(['MF_APP_NOT_FOUND']);
  });
});
