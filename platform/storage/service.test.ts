/**
 * The storage service and its client as functions on other platforms use them: a real HTTP server on port 0, the
 * real client over fetch. Apps stay apart by token, a revoked app loses its data, bad requests get typed errors,
 * and the local tier is per container (per client), as docs/storage.md says.
 */
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveStorageHost } from '../../harness/storage-host.js';
import { remoteStorage } from './remote.js';
import { MAX_OPERATION_BYTES, StorageService } from './service.js';
import { STORAGE_PATH } from './service-protocol.js';

const services: StorageService[] = [];
async function start(): Promise<StorageService> {
  const s = await StorageService.start();
  services.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

/** Rejects with the Error a function would see; resolves to its name (the error code). */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).name;
  }
  return 'resolved';
}

async function post(url: string, token: string, body: string): Promise<{ status: number; json: { ok: boolean; error?: { code: string; message: string } } }> {
  const res = await fetch(`${url}${STORAGE_PATH}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
  return { status: res.status, json: (await res.json()) as { ok: boolean } };
}

describe('storage service', () => {
  it('serves every operation of context.storage: JSON, bytes, list, increment, delete', async () => {
    const s = await start();
    const st = remoteStorage(s.grant('app-a'));
    await st.put('samples/1', { n: [1, 2, 3] });
    await st.put('blob', Buffer.from([0, 1, 254, 255]));
    expect(await st.get('samples/1')).toEqual({ n: [1, 2, 3] });
    expect(await st.get('blob')).toEqual(Buffer.from([0, 1, 254, 255]));
    expect(await st.get('absent')).toBeNull();
    expect(await st.list('samples/')).toEqual(['samples/1']);
    expect(await st.increment('count')).toBe(1);
    expect(await st.increment('count', 41)).toBe(42);
    expect(await st.delete('samples/1')).toBe(true);
    expect(await st.delete('samples/1')).toBe(false);
    expect(await st.list('')).toEqual(['blob', 'count']);
  });

  it('keeps apps apart: a token reaches only its own app', async () => {
    const s = await start();
    const a = remoteStorage(s.grant('app-a'));
    const b = remoteStorage(s.grant('app-b'));
    await a.put('k', 'from a');
    expect(await b.get('k')).toBeNull();
    expect(await b.list('')).toEqual([]);
    // A second grant of the same app (another function of it) sees the same keys.
    expect(await remoteStorage(s.grant('app-a')).get('k')).toBe('from a');
  });

  it('keeps the local tier in each container: another container reads only what went global', async () => {
    const s = await start();
    const grant = s.grant('app');
    const here = remoteStorage(grant);
    const there = remoteStorage(grant);
    await here.put('cache', 1, { mode: 'local' });
    await here.put('shared', 2);
    expect(await here.get('cache')).toBe(1);
    expect(await there.get('cache')).toBeNull();
    expect(await there.get('shared')).toBe(2);
    expect(await here.list('', { tier: 'local' })).toEqual(['cache']);
  });

  it('refuses a wrong or revoked token, and revoke deletes the app data', async () => {
    const s = await start();
    const grant = s.grant('app');
    await remoteStorage(grant).put('k', 'v');
    expect(await codeOf(remoteStorage({ url: s.url, token: 'not-a-token' }).get('k'))).toBe('MF_UNAUTHORIZED');
    await s.revoke('app');
    expect(await codeOf(remoteStorage(grant).get('k'))).toBe('MF_UNAUTHORIZED');
    expect(await remoteStorage(s.grant('app')).get('k')).toBeNull();
  });

  it('answers malformed requests with typed errors and keeps serving', async () => {
    const s = await start();
    const { token } = s.grant('app');
    const notJson = await post(s.url, token, '{"op":');
    expect([notJson.status, notJson.json.error?.code]).toEqual([400, 'MF_BAD_REQUEST']);
    const unknownOp = await post(s.url, token, JSON.stringify({ op: 'drop', key: 'k' }));
    expect([unknownOp.status, unknownOp.json.error?.code]).toEqual([400, 'MF_BAD_REQUEST']);
    const badTier = await post(s.url, token, JSON.stringify({ op: 'get', key: 'k', tier: 'nearby' }));
    expect(badTier.json.error?.message).toContain('"tier" must be one of auto, local, global');
    const badValue = await post(s.url, token, JSON.stringify({ op: 'put', key: 'k', value: 3, mode: 'global' }));
    expect(badValue.json.error?.code).toBe('MF_BAD_REQUEST');
    const emptyKey = await post(s.url, token, JSON.stringify({ op: 'get', key: '', tier: 'auto' }));
    expect(emptyKey.json.error?.code).toBe('MF_BAD_REQUEST');
    const nan = await post(s.url, token, JSON.stringify({ op: 'increment', key: 'n', by: 'one' }));
    expect(nan.json.error?.code).toBe('MF_BAD_REQUEST');
    const wrongRoute = await fetch(`${s.url}/v1/other`, { method: 'POST', body: '{}' });
    expect(wrongRoute.status).toBe(404);
    await remoteStorage({ url: s.url, token }).put('k', 'still serving');
    expect(await remoteStorage({ url: s.url, token }).get('k')).toBe('still serving');
  });

  it('refuses an oversized operation by its declared length without reading it', async () => {
    const s = await start();
    const { token } = s.grant('app');
    const { port } = new URL(s.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: STORAGE_PATH, method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-length': MAX_OPERATION_BYTES + 1 } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.write('{"op":"put"');
    });
    expect(status).toBe(413);
  });

  it('says where it tried when the service cannot be reached', async () => {
    const s = await start();
    const grant = s.grant('app');
    await s.close();
    const st = remoteStorage(grant);
    const err = await st.get('k').then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.name).toBe('MF_STORAGE_FAILED');
    expect(err?.message).toContain(grant.url);
    expect(err?.message).toContain('MFBENCH_STORAGE_URL');
  });

  it('deletes its temporary folder on close, and reports an address it cannot bind as MF_CONFIG_INVALID', async () => {
    const s = await start();
    const { port } = new URL(s.url);
    const dir = s.dir;
    const clash = await StorageService.start({ port: Number(port) }).then(
      () => 'bound',
      (e: { code?: string }) => e.code,
    );
    expect(clash).toBe('MF_CONFIG_INVALID');
    await remoteStorage(s.grant('app')).put('k', 'v');
    expect(existsSync(dir)).toBe(true);
    await s.close();
    expect(existsSync(dir)).toBe(false);
  });
});

describe('resolveStorageHost (MFBENCH_STORAGE_LISTEN / MFBENCH_STORAGE_URL)', () => {
  it.each([
    [{}, {}, { host: '127.0.0.1', port: 0, url: null }],
    [{ storageListen: '0.0.0.0:7070', storageUrl: 'http://bench-host:7070' }, {}, { host: '0.0.0.0', port: 7070, url: 'http://bench-host:7070' }],
    [{}, { MFBENCH_STORAGE_LISTEN: '172.17.0.1' }, { host: '172.17.0.1', port: 0, url: null }],
    [{}, { MFBENCH_STORAGE_LISTEN: ':9000' }, { host: '127.0.0.1', port: 9000, url: null }],
    [{}, { MFBENCH_STORAGE_LISTEN: '[::1]:9000' }, { host: '::1', port: 9000, url: null }],
    [{ storageUrl: 'http://bench-host:7070/' }, {}, { host: '127.0.0.1', port: 0, url: 'http://bench-host:7070' }],
    [{ storageListen: '10.0.0.1:1' }, { MFBENCH_STORAGE_LISTEN: '127.0.0.2:2' }, { host: '10.0.0.1', port: 1, url: null }],
  ])('%j with env %j resolves to %j', (o, env, expected) => {
    expect(resolveStorageHost(o, env)).toEqual(expected);
  });

  it.each([
    [{ storageListen: 'host:99999' }, 'storageListen'],
    [{ storageListen: 'a:b:c' }, 'storageListen'],
    [{ storageUrl: 'not a url' }, 'storageUrl'],
    [{ storageUrl: 'ftp://bench-host:7070' }, 'storageUrl'],
    [{ storageListen: '0.0.0.0:7070' }, 'storageUrl'],
    [{ storageListen: '[::]:7070' }, 'storageUrl'],
  ])('refuses %j naming the option', (o, option) => {
    expect(() => resolveStorageHost(o, {})).toThrow(expect.objectContaining({ code: 'MF_CONFIG_INVALID', details: { option } }));
  });
});
