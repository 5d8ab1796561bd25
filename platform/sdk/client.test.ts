/**
 * The SDK against a real platform (from dist/, as users run it) on port 0, plus the failure paths that need no
 * platform: a port nobody listens on, and a server that accepts the connection but never answers.
 */
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform } from '../../dist/platform/frontend/index.js';
import { ERROR_CODES, MfError, isMfError } from '../errors.js';
import { hello } from '../../workloads/hello/workload.js';
import { noopChain } from '../../workloads/noop-chain/workload.js';
import { MicroFunctionsClient, errorFromResponse } from './client.js';
import { checkManifestSize, filesFromDir, inlineManifest } from './code.js';

async function caught(p: Promise<unknown>): Promise<MfError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof MfError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('MicroFunctionsClient without a platform', () => {
  it('names the URL and hints at platform start when nothing listens', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const e = await caught(new MicroFunctionsClient({ url }).health());
    expect(e.code).toBe('MF_PLATFORM_UNREACHABLE');
    expect(e.message).toContain(url);
    expect(e.details.errno).toBe('ECONNREFUSED');
    expect(String(e.details.hint)).toMatch(/mfbench platform start/);
  });

  it('gives up after timeoutMs on a server that never answers', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as { port: number };
    try {
      const t0 = Date.now();
      const e = await caught(new MicroFunctionsClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 200 }).listApps());
      expect(e.code).toBe('MF_PLATFORM_UNREACHABLE');
      expect(e.message).toMatch(/no answer .* within 200 ms/);
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('sends an idempotent call again, once, when the connection is reset under it; never a POST', async () => {
    // A server that resets the first connection after reading the request, then answers every later one.
    let connections = 0;
    const server: Server = createServer((socket) => {
      const n = ++connections;
      socket.once('data', () => {
        if (n === 1) {
          socket.resetAndDestroy();
          return;
        }
        socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{"apps":[]}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const client = new MicroFunctionsClient({ url: `http://127.0.0.1:${port}` });
    try {
      expect(await client.listApps()).toEqual([]);
      expect(connections).toBe(2);

      connections = 0;
      const e = await caught(client.execute('app', 'main', { n: 1 }, { mode: 'async' }));
      expect(e.code).toBe('MF_PLATFORM_UNREACHABLE');
      expect(e.message).toMatch(/closed the connection during POST/);
      expect(connections).toBe(1);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('rejects a URL that is not http(s)', () => {
    expect(() => new MicroFunctionsClient({ url: 'not a url' })).toThrow(/not a valid platform URL/);
    expect(() => new MicroFunctionsClient({ url: 'ftp://x' })).toThrow(/must be http/);
  });
});

describe('errorFromResponse', () => {
  it.each([
    [404, { error: { code: 'MF_APP_NOT_FOUND', message: 'no app "x"', details: { app: 'x' } } }, 'MF_APP_NOT_FOUND', { app: 'x', status: 404 }],
    [401, { error: { code: 'MF_UNAUTHORIZED', message: 'token' } }, 'MF_UNAUTHORIZED', { status: 401 }],
    [400, { error: { code: 'MF_NOT_A_CODE', message: 'm' } }, 'MF_INTERNAL', { status: 400 }],
    [413, 'Payload Too Large', 'MF_PAYLOAD_TOO_LARGE', { status: 413 }],
    [502, '<html>bad gateway</html>', 'MF_INTERNAL', { status: 502 }],
  ])('HTTP %d %j -> %s', (status, body, code, details) => {
    const e = errorFromResponse(status, typeof body === 'string' ? body : JSON.stringify(body), 'GET', '/x', 'http://h');
    expect(e.code).toBe(code);
    expect(e.details).toMatchObject(details);
    expect(e.code in ERROR_CODES).toBe(true);
  });
});

describe('code helpers', () => {
  it('inlines a folder recursively as sorted relative paths, and refuses a manifest over the body limit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mf-code-'));
    await mkdir(join(dir, 'lib', 'deep'), { recursive: true });
    await writeFile(join(dir, 'index.mjs'), 'export const handler = async () => 1;');
    await writeFile(join(dir, 'lib', 'deep', 'data.bin'), Buffer.from([0, 1, 2, 255]));
    expect(filesFromDir(dir)).toEqual({
      'index.mjs': Buffer.from('export const handler = async () => 1;').toString('base64'),
      'lib/deep/data.bin': 'AAEC/w==',
    });
    const m = inlineManifest({ name: 'a', functions: [{ name: 'f', handler: 'index.handler', code: { dir } }], workflows: {} });
    expect(() => checkManifestSize(m, 1 << 20)).not.toThrow();
    let e: unknown;
    try {
      checkManifestSize(m, 100);
    } catch (err) {
      e = err;
    }
    expect(isMfError(e, 'MF_PAYLOAD_TOO_LARGE')).toBe(true);
    expect((e as MfError).message).toMatch(/over the platform's body limit of 100 bytes; largest files: f\/index.mjs/);
    expect(() => filesFromDir(join(dir, 'missing'))).toThrow(/does not exist/);
  });
});

describe('MicroFunctionsClient against a real platform', () => {
  let platform: Awaited<ReturnType<typeof startPlatform>>;
  let client: MicroFunctionsClient;

  beforeAll(async () => {
    platform = await startPlatform({ port: 0, dataDir: await mkdtemp(join(tmpdir(), 'mf-sdk-')) });
    client = new MicroFunctionsClient({ url: platform.url, token: platform.token });
  });
  afterAll(async () => {
    await platform?.close();
  });

  it('health answers without a token', async () => {
    const h = await new MicroFunctionsClient({ url: platform.url }).health();
    expect(h.ok).toBe(true);
    expect(typeof h.uptimeMs).toBe('number');
  });

  it('deploys, lists, executes (sync with records, async), reads executions, history and logs, invokes a function, deletes', async () => {
    const summary = await client.deploy(noopChain.app({ length: 3 }));
    expect(summary.name).toBe('noop-chain');
    expect(summary.functions.map((f) => f.name)).toEqual(['step1', 'step2', 'step3']);
    expect(summary.workflows).toEqual(['main']);
    expect((await client.listApps()).map((a) => a.name)).toContain('noop-chain');
    expect((await client.getApp('noop-chain')).functions).toHaveLength(3);

    const input = noopChain.generateInput('small', 1);
    const first = await client.execute('noop-chain', 'main', input);
    expect(first.status).toBe('SUCCEEDED');
    expect(noopChain.validateOutput(input, first.output)).toEqual({ ok: true });
    expect(first.records?.map((r) => r.temperature)).toEqual(['cold-sandbox', 'cold-worker', 'cold-worker']);
    const second = await client.execute('noop-chain', 'main', input, { records: false });
    expect(second.status).toBe('SUCCEEDED');
    expect(second.records).toBeUndefined();

    const started = await client.execute('noop-chain', 'main', { n: 2 }, { mode: 'async' });
    expect(typeof started.executionId).toBe('string');
    let e = await client.getExecution(started.executionId);
    for (let i = 0; i < 100 && e.status === 'RUNNING'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      e = await client.getExecution(started.executionId);
    }
    expect(e).toMatchObject({ executionId: started.executionId, app: 'noop-chain', workflow: 'main', status: 'SUCCEEDED', output: { n: 2 } });
    expect(e.records?.map((r) => r.temperature)).toEqual(['warm', 'warm', 'warm']);

    const history = await client.getHistory(first.executionId);
    expect(history.length).toBeGreaterThan(0);
    expect(history.some((h) => h.state === 'Step3')).toBe(true);

    const direct = await client.invokeFunction('noop-chain', 'step2', { direct: true });
    expect(direct.status).toBe('SUCCEEDED');
    expect(direct.output).toEqual({ direct: true });
    expect(direct.records).toHaveLength(1);

    expect(Array.isArray(await client.logs('noop-chain', { limit: 10 }))).toBe(true);
    expect(await client.deleteApp('noop-chain')).toEqual({ deleted: 'noop-chain' });
    expect((await caught(client.getApp('noop-chain'))).code).toBe('MF_APP_NOT_FOUND');
  });

  it('keeps log lines per execution', async () => {
    await client.deploy(hello.app());
    const e = await client.execute('hello', 'main', { name: 'sdk' });
    expect(e.status).toBe('SUCCEEDED');
    expect(hello.validateOutput({ name: 'sdk' }, e.output)).toEqual({ ok: true });
    const logs = await client.logs('hello', { execution: e.executionId });
    expect(Array.isArray(logs)).toBe(true);
    await client.deleteApp('hello');
  });

  it('turns error bodies into MfErrors with their code and HTTP status', async () => {
    const unknownApp = await caught(client.execute('nope', 'main', {}));
    expect(unknownApp.code).toBe('MF_APP_NOT_FOUND');
    expect(unknownApp.details.status).toBe(404);
    expect((await caught(client.getExecution('no-such-execution'))).code).toBe('MF_EXECUTION_NOT_FOUND');
    const noToken = await caught(new MicroFunctionsClient({ url: platform.url }).listApps());
    expect(noToken.code).toBe('MF_UNAUTHORIZED');
    expect(noToken.details.status).toBe(401);
    const wrongToken = await caught(new MicroFunctionsClient({ url: platform.url, token: 'wrong-token-123' }).listApps());
    expect(wrongToken.code).toBe('MF_UNAUTHORIZED');
    await client.deploy(hello.app());
    const again = await caught(client.deploy(hello.app()));
    expect(again.code).toBe('MF_APP_EXISTS');
    expect(again.details.status).toBe(409);
    expect((await caught(client.execute('hello', 'nope', {}))).code).toBe('MF_WORKFLOW_NOT_FOUND');
    expect((await caught(client.invokeFunction('hello', 'nope', {}))).code).toBe('MF_FUNCTION_NOT_FOUND');
    await client.deleteApp('hello');
  });

  it('validates a workflow without deploying: the problems at their states; and reads a deployed definition back', async () => {
    const ok = await client.validateWorkflow({ StartAt: 'A', States: { A: { Type: 'Task', Resource: 'f', End: true } } }, ['f']);
    expect(ok).toEqual({ valid: true, problems: [] });
    const bad = await client.validateWorkflow({ StartAt: 'A', States: { A: { Type: 'Task', Resource: 'f', Next: 'Nowhere' } } }, ['f']);
    expect(bad.valid).toBe(false);
    if (bad.valid) return;
    expect(bad.code).toBe('MF_ASL_INVALID');
    expect(bad.problems.some((p) => p.state === 'A' && p.message.includes('Nowhere'))).toBe(true);
    const unknownFn = await client.validateWorkflow({ StartAt: 'A', States: { A: { Type: 'Task', Resource: 'g', End: true } } }, ['f']);
    expect(unknownFn.valid).toBe(false);
    expect((await client.listApps()).map((a) => a.name)).not.toContain('definition');
    const notAMachine = await client.validateWorkflow(42);
    expect(notAMachine.valid).toBe(false);
    expect((await caught(client.validateWorkflow({ StartAt: 'A', States: {} }, 'f' as unknown as string[]))).code).toBe('MF_BAD_REQUEST');

    const app = noopChain.app({ length: 2 });
    await client.deploy({ ...app, name: 'wf-read' });
    expect(await client.getWorkflow('wf-read', 'main')).toEqual(app.workflows.main);
    const missing = await caught(client.getWorkflow('wf-read', 'nope'));
    expect(missing.code).toBe('MF_WORKFLOW_NOT_FOUND');
    await client.deleteApp('wf-read');
  });

  it('reads an app’s global storage tier: keys under a prefix, sorted and bounded, and one value as stored', async () => {
    const writer = `export const handler = async (event, context) => {
  for (const k of ['b/2', 'a/1', 'a/2', 'a/3']) await context.storage.put(k, { k });
  await context.storage.put('bin', new Uint8Array([1, 2, 3]));
  await context.storage.put('local-only', 1, { mode: 'local' });
  return {};
};`;
    await client.deploy({ name: 'st-read', functions: [{ name: 'w', handler: 'index.handler', code: { files: { 'index.mjs': Buffer.from(writer).toString('base64') } } }], workflows: {} });
    expect((await client.invokeFunction('st-read', 'w')).status).toBe('SUCCEEDED');
    expect(await client.storageKeys('st-read')).toEqual({ keys: ['a/1', 'a/2', 'a/3', 'b/2', 'bin'], truncated: false });
    expect(await client.storageKeys('st-read', { prefix: 'a/', limit: 2 })).toEqual({ keys: ['a/1', 'a/2'], truncated: true });
    expect(await client.storageValue('st-read', 'a/2')).toEqual({ key: 'a/2', value: { json: { k: 'a/2' } } });
    expect(await client.storageValue('st-read', 'bin')).toEqual({ key: 'bin', value: { bytes: 'AQID' } });
    expect(await client.storageValue('st-read', 'local-only')).toEqual({ key: 'local-only', value: null });
    expect((await caught(client.storageKeys('nope'))).code).toBe('MF_APP_NOT_FOUND');
    expect((await caught(client.storageKeys('st-read', { limit: 0 }))).code).toBe('MF_BAD_REQUEST');
    await client.deleteApp('st-read');
  });

  it('reads the metrics as Prometheus text', async () => {
    const text = await client.metrics();
    expect(text).toMatch(/^# (HELP|TYPE) /m);
  });
});

describe('MicroFunctionsClient against a platform that refuses code folders', () => {
  it('deploys a {dir} manifest by sending the same code inline', async () => {
    const platform = await startPlatform({ port: 0, dataDir: await mkdtemp(join(tmpdir(), 'mf-sdk-')), allowLocalCode: false });
    try {
      const client = new MicroFunctionsClient({ url: platform.url, token: platform.token });
      const manifest = hello.app();
      expect(manifest.functions.every((f) => 'dir' in f.code)).toBe(true);
      expect((await client.deploy(manifest)).name).toBe(manifest.name);
      expect((await client.execute(manifest.name, Object.keys(manifest.workflows ?? {})[0]!, {})).status).toBe('SUCCEEDED');
    } finally {
      await platform.close();
    }
  });
});
