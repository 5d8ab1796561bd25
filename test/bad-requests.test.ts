/**
 * Bad requests get a typed 400 (or 408), never a 500, and leave the platform serving: deep JSON, malformed
 * %-escapes (on every route, with or without a token), code file paths that name no file, handlers that climb out
 * of their code, bodies that never finish. The Authorization scheme is matched case-insensitively.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import { call, chain, inlineFunction, testPlatform } from './helpers/platform.js';

const ECHO = `export const handler = async (event) => event;`;

/** Sends raw bytes on a fresh connection; resolves with everything the server sent before it closed. */
function raw(url: string, bytes: string, options: { keepOpenMs?: number } = {}): Promise<{ text: string; closedByServer: boolean }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    let closedByServer = false;
    const giveUp = setTimeout(() => socket.destroy(), options.keepOpenMs ?? 30_000);
    socket.on('data', (d) => (text += d.toString()));
    socket.on('end', () => (closedByServer = true));
    socket.on('close', () => {
      clearTimeout(giveUp);
      resolve({ text, closedByServer });
    });
    socket.on('error', reject);
    socket.write(bytes);
  });
}

describe('bad requests', () => {
  let p: PlatformHandle;

  beforeAll(async () => {
    p = await testPlatform({ requestTimeoutSeconds: 1 });
    const r = await call(p, 'POST', '/apps', { name: 'req', functions: [inlineFunction('echo', ECHO)], workflows: { main: chain(['echo']) } });
    expect(r.status).toBe(201);
  });
  afterAll(async () => {
    await p?.close();
  });

  const stillServing = async () => {
    const r = await call(p, 'POST', '/apps/req/workflows/main/executions', { ok: 1 });
    expect(r.body).toMatchObject({ status: 'SUCCEEDED', output: { ok: 1 } });
  };

  test('JSON nested 100,000 levels deep is a 400 naming the depth limit', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const r = await call(p, 'POST', '/apps/req/workflows/main/executions', undefined, { raw: deep });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'MF_BAD_REQUEST', details: { maxDepth: 128 } });
    // Brackets inside strings are not nesting; 128 levels are fine.
    const strings = await call(p, 'POST', '/apps/req/workflows/main/executions', { s: '[[[[{{{{'.repeat(1000) });
    expect(strings.body.status).toBe('SUCCEEDED');
    const nested = await call(p, 'POST', '/apps/req/workflows/main/executions', undefined, { raw: '['.repeat(127) + '{"a":1}' + ']'.repeat(127) });
    expect(nested.body.status).toBe('SUCCEEDED');
    await stillServing();
  });

  test('a malformed %-escape in a path is a 400, with or without a token', async () => {
    for (const token of [p.token, null]) {
      for (const [method, path] of [
        ['POST', '/apps/%E0%A4%A/workflows/main/executions'],
        ['GET', '/apps/%zz'],
        ['GET', '/executions/%'],
        ['POST', '/executions/%FF%FE/stop'],
      ] as const) {
        const r = await call(p, method, path, method === 'POST' ? {} : undefined, { token });
        expect(r.status, `${method} ${path}`).toBe(400);
        expect(r.body.error.code).toBe('MF_BAD_REQUEST');
      }
    }
    await stillServing();
  });

  test.each([
    ['an empty path', ''],
    ['"."', '.'],
    ['"./"', './'],
    ['a folder', 'lib/'],
    ['"a/.."', 'a/..'],
  ])('a code file path that names no file (%s) is refused at deploy without a host path', async (_label, path) => {
    const r = await call(p, 'POST', '/apps', {
      name: 'paths',
      functions: [{ name: 'f', handler: 'index.handler', code: { files: { 'index.mjs': Buffer.from(ECHO).toString('base64'), [path]: 'eA==' } } }],
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('MF_MANIFEST_INVALID');
    expect(JSON.stringify(r.body)).not.toContain(p.dataDir);
  });

  test('two code paths that clash are refused at deploy without a host path', async () => {
    const r = await call(p, 'POST', '/apps', {
      name: 'clash',
      functions: [{ name: 'f', handler: 'index.handler', code: { files: { 'index.mjs': Buffer.from(ECHO).toString('base64'), a: 'eA==', 'a/b.js': 'eA==' } } }],
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('MF_MANIFEST_INVALID');
    expect(JSON.stringify(r.body)).not.toContain(p.dataDir);
    expect((await call(p, 'GET', '/apps/clash')).status).toBe(404);
  });

  test.each(['../index.handler', 'lib/../../index.handler', '/etc/index.handler'])('a handler outside its code (%s) is refused at deploy', async (handler) => {
    const r = await call(p, 'POST', '/apps', { name: 'climb', functions: [{ ...inlineFunction('f', ECHO), handler }] });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('MF_MANIFEST_INVALID');
  });

  test('a missing handler file is named without the host folder inline code was written to', async () => {
    const r = await call(p, 'POST', '/apps', { name: 'nohandler', functions: [{ ...inlineFunction('f', ECHO), handler: 'other.handler' }] });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('MF_HANDLER_NOT_FOUND');
    expect(JSON.stringify(r.body)).not.toContain(p.dataDir);
  });

  test('the Authorization scheme is case-insensitive', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer', 'bEaReR']) {
      const res = await fetch(`${p.url}/apps`, { headers: { authorization: `${scheme} ${p.token}` } });
      expect(res.status, scheme).toBe(200);
    }
    const wrong = await fetch(`${p.url}/apps`, { headers: { authorization: `Basic ${p.token}` } });
    expect(wrong.status).toBe(401);
  });

  test('a body that never finishes is answered 408 MF_REQUEST_TIMEOUT and its connection closed', async () => {
    const { host } = new URL(p.url);
    const started = Date.now();
    const answer = await raw(
      p.url,
      `POST /apps/req/workflows/main/executions HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"partial":`,
    );
    const tookMs = Date.now() - started;
    expect(answer.text).toMatch(/^HTTP\/1\.1 408/);
    expect(answer.text).toContain('MF_REQUEST_TIMEOUT');
    expect(answer.closedByServer).toBe(true);
    // requestTimeoutSeconds is 1 here; anything well under Node's default of 300 s shows the bound applies.
    expect(tookMs).toBeLessThan(60_000);
    await stillServing();
  });
});
