/**
 * Hierarchical storage end to end: functions in real worker processes use context.storage; the local tier lives in
 * the sandbox agent, the global tier in the platform's data directory.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startPlatform, type PlatformHandle } from '../dist/platform/frontend/index.js';
import { call, chain, inlineFunction, waitFor, alive } from './helpers/platform.js';

const STORE = `export const handler = async (event, context) => {
  const s = context.storage;
  switch (event.op) {
    case 'put': await s.put(event.key, event.bytes ? Buffer.from(event.value) : event.value, { mode: event.mode }); return 'ok';
    case 'get': { const v = await s.get(event.key, { tier: event.tier }); return Buffer.isBuffer(v) ? { bytes: v.toString() } : v; }
    case 'list': return s.list(event.prefix ?? '', { tier: event.tier });
    case 'delete': return s.delete(event.key, { tier: event.tier });
    case 'incr': return s.increment(event.key, event.by);
  }
};`;

function app(name: string) {
  return { name, functions: [inlineFunction('store', STORE)], workflows: { main: chain(['store']) } };
}

describe('context.storage', () => {
  let dataDir: string;
  let p: PlatformHandle;
  const run = (appName: string, input: unknown) => call(p, 'POST', `/apps/${appName}/functions/store/invocations`, input);

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mfst-'));
    p = await startPlatform({ port: 0, dataDir });
    expect((await call(p, 'POST', '/apps', app('a'))).status).toBe(201);
    expect((await call(p, 'POST', '/apps', app('b'))).status).toBe(201);
  });

  afterAll(async () => {
    await p?.close();
  });

  test('JSON values and bytes round-trip; list and delete work', async () => {
    expect((await run('a', { op: 'put', key: 'doc/1', value: { x: [1, 2] } })).body.output).toBe('ok');
    expect((await run('a', { op: 'put', key: 'doc/2', value: 'hello bytes', bytes: true })).body.output).toBe('ok');
    expect((await run('a', { op: 'get', key: 'doc/1' })).body.output).toEqual({ x: [1, 2] });
    expect((await run('a', { op: 'get', key: 'doc/2' })).body.output).toEqual({ bytes: 'hello bytes' });
    expect((await run('a', { op: 'list', prefix: 'doc/' })).body.output).toEqual(['doc/1', 'doc/2']);
    expect((await run('a', { op: 'delete', key: 'doc/1' })).body.output).toBe(true);
    expect((await run('a', { op: 'get', key: 'doc/1' })).body.output).toBeNull();
    expect((await run('a', { op: 'delete', key: 'doc/1' })).body.output).toBe(false);
  });

  test('the local tier stays in the sandbox; the global tier does not see it', async () => {
    await run('a', { op: 'put', key: 'scratch', value: 7, mode: 'local' });
    expect((await run('a', { op: 'get', key: 'scratch' })).body.output).toBe(7);
    expect((await run('a', { op: 'get', key: 'scratch', tier: 'global' })).body.output).toBeNull();
    expect((await run('a', { op: 'list', prefix: 'scr', tier: 'local' })).body.output).toEqual(['scratch']);
    expect((await run('a', { op: 'list', prefix: 'scr' })).body.output).toEqual([]);
  });

  test('increments are atomic under concurrent executions', async () => {
    const n = 40;
    const results = await Promise.all(Array.from({ length: n }, () => run('a', { op: 'incr', key: 'hits' })));
    const values = results.map((r) => r.body.output as number).sort((x, y) => x - y);
    expect(values).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect((await run('a', { op: 'get', key: 'hits', tier: 'global' })).body.output).toBe(n);
  });

  test('apps cannot see each other\'s keys', async () => {
    await run('a', { op: 'put', key: 'secret', value: 'of a' });
    expect((await run('b', { op: 'get', key: 'secret' })).body.output).toBeNull();
    expect((await run('b', { op: 'list', prefix: '' })).body.output).toEqual([]);
    await run('b', { op: 'put', key: 'secret', value: 'of b' });
    expect((await run('a', { op: 'get', key: 'secret' })).body.output).toBe('of a');
  });

  test('a bad key fails the invocation with MF_BAD_REQUEST and the platform keeps serving', async () => {
    const r = await run('a', { op: 'put', key: '', value: 1 });
    expect(r.body.status).toBe('FAILED');
    expect(r.body.error).toBe('MF_BAD_REQUEST');
    const n = await run('a', { op: 'incr', key: 'doc/2' });
    expect(n.body.error).toBe('MF_BAD_REQUEST'); // doc/2 holds bytes, not a number
    expect((await run('a', { op: 'get', key: 'secret' })).body.output).toBe('of a');
  });

  test('a new sandbox loses the local tier and keeps the global tier', async () => {
    await run('a', { op: 'put', key: 'only-local', value: 1, mode: 'local' });
    const agentPid = (await call(p, 'GET', '/apps/a')).body.sandboxes[0].agentPid;
    process.kill(agentPid, 'SIGKILL');
    await waitFor(() => !alive(agentPid));
    expect((await run('a', { op: 'get', key: 'only-local' })).body.output).toBeNull();
    expect((await run('a', { op: 'get', key: 'secret' })).body.output).toBe('of a');
  });

  test('the global tier is durable across platform restarts', async () => {
    await run('a', { op: 'put', key: 'durable', value: { kept: true } });
    await p.close();
    p = await startPlatform({ port: 0, dataDir });
    // The app comes back with the platform (its manifest is kept in the data folder).
    expect((await call(p, 'GET', '/apps/a')).status).toBe(200);
    expect((await run('a', { op: 'get', key: 'durable' })).body.output).toEqual({ kept: true });
    expect((await run('a', { op: 'get', key: 'hits' })).body.output).toBe(40);
  });
});
