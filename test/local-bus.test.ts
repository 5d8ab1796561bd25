/**
 * The local bus end to end (real platform, agent and workers): payload sizes in the records are the bytes that were
 * framed, a pass-through chain carries a large payload intact, and an oversized result is refused by its framed size.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, chain, inlineFunction, testPlatform } from './helpers/platform.js';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import type { InvocationRecord } from '../dist/platform/records.js';

const ECHO = `export const handler = async (event) => event;`;
const STEPS = ['e1', 'e2', 'e3'];
const MAX_RESULT_BYTES = 256 * 1024;

describe('local bus', () => {
  let p: PlatformHandle;

  beforeAll(async () => {
    p = await testPlatform({ maxResultBytes: MAX_RESULT_BYTES });
    const deployed = await call(p, 'POST', '/apps', {
      name: 'bus',
      functions: [...STEPS.map((s) => inlineFunction(s, ECHO)), inlineFunction('grow', `export const handler = async (e) => ({ big: 'x'.repeat(e.n) });`)],
      workflows: { main: chain(STEPS), grow: chain(['grow']) },
    });
    expect(deployed.status).toBe(201);
  });

  afterAll(async () => {
    await p?.close();
  });

  test('records carry the framed byte counts (UTF-8 bytes of the JSON), and the payload passes through intact', async () => {
    const input = { text: 'é€'.repeat(20_000), n: [1, 2, 3] };
    const bytes = Buffer.byteLength(JSON.stringify(input));
    const r = await call(p, 'POST', '/apps/bus/workflows/main/executions', input);
    expect(r.body.status).toBe('SUCCEEDED');
    expect(r.body.output).toEqual(input);
    const records: InvocationRecord[] = r.body.records;
    expect(records.map((x) => x.function)).toEqual(STEPS);
    for (const rec of records) {
      expect(rec.inputBytes).toBe(bytes);
      expect(rec.outputBytes).toBe(bytes);
    }
  });

  test('a result over maxResultBytes fails with MF_RESULT_TOO_LARGE, sized by its frame; the worker keeps serving', async () => {
    const over = await call(p, 'POST', '/apps/bus/workflows/grow/executions', { n: MAX_RESULT_BYTES });
    expect(over.body.status).toBe('FAILED');
    expect(over.body.error).toBe('MF_RESULT_TOO_LARGE');
    expect(over.body.records[0].outputBytes).toBe(Buffer.byteLength(JSON.stringify({ big: 'x'.repeat(MAX_RESULT_BYTES) })));
    const under = await call(p, 'POST', '/apps/bus/workflows/grow/executions', { n: 10 });
    expect(under.body.status).toBe('SUCCEEDED');
    expect(under.body.records[0].workerPid).toBe(over.body.records[0].workerPid);
  });
});
