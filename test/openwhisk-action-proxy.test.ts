/**
 * The action proxy of OpenWhisk blackbox images (harness/openwhisk/action-proxy.ts) as the invoker drives it, run
 * here as a child process on loopback with an action folder of our own: /init loads the folder's package "main" and
 * copies `env`; a second /init, code at /init, /run before /init are refused; /run sets __OW_* and answers the
 * result; a non-object result and a throwing main answer 502, after which the proxy is stopped (403); the sentinel
 * follows each activation on stdout and stderr; our function wrapper's result is serialised once, by the wrapper, and
 * answered as the same JSON. The same proxy in a real container: test/openwhisk-blackbox.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { functionEntries } from '../dist/harness/openwhisk/package.js';
import { metaOf } from '../dist/harness/openwhisk/wire.js';

const PROXY = join(import.meta.dirname, '..', 'dist', 'harness', 'openwhisk', 'action-proxy.js');
const SENTINEL = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX';

const ACTION = `'use strict';
exports.main = async function main(params) {
  if (params.mode === 'string') return 'not a dictionary';
  if (params.mode === 'throw') throw new Error('boom');
  return { got: params, activation: process.env.__OW_ACTIVATION_ID, fromInit: process.env.FROM_INIT };
};
`;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

let child: ChildProcess | null = null;
let dir: string | null = null;

afterEach(async () => {
  child?.kill('SIGKILL');
  child = null;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = null;
});

/** Counts how often its output was serialised (toJSON runs once per JSON.stringify) and reports it in the next output. */
const COUNTING = `let serialised = 0;
export const handler = async (e) => ({ echo: e, serialisedBefore: serialised, counter: { toJSON() { serialised++; return 'c'; } } });`;

async function startProxy(files: Array<{ path: string; data: string | Buffer } | { path: string; file: string }> = [{ path: 'package.json', data: JSON.stringify({ name: 'a', main: 'main.js' }) }, { path: 'main.js', data: ACTION }]): Promise<{ post: (route: string, body: unknown) => Promise<{ status: number; body: any; text: string }>; stdout: () => string }> {
  dir = await mkdtemp(join(tmpdir(), 'owproxy-'));
  for (const f of files) {
    await mkdir(dirname(join(dir, f.path)), { recursive: true });
    await (('file' in f) ? copyFile(f.file, join(dir, f.path)) : writeFile(join(dir, f.path), f.data));
  }
  const port = await freePort();
  const proc = spawn(process.execPath, [PROXY], { env: { ...process.env, MFBENCH_ACTION_DIR: dir, MFBENCH_PROXY_PORT: String(port), MFBENCH_PROXY_HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const post = async (route: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}/${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    // The answer's bytes ride along unenumerated, so a test can compare them and toEqual sees status and body only.
    return Object.defineProperty({ status: res.status, body: JSON.parse(text) }, 'text', { value: text }) as { status: number; body: any; text: string };
  };
  // The proxy listens shortly after it starts: retry the first request for a bounded while.
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await fetch(`http://127.0.0.1:${port}/`, { method: 'GET' });
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { post, stdout: () => out };
}

describe('OpenWhisk blackbox action proxy', () => {
  it('runs the action the image carries, with the invoker\'s /init and /run contract', async () => {
    const p = await startProxy();
    expect(await p.post('run', { value: {} })).toEqual({ status: 403, body: { error: 'System not initialized.' } });
    expect((await p.post('init', { value: { name: 'a', main: 'main', code: 'UEsDBA==', binary: true } })).status).toBe(403);
    expect(await p.post('init', { value: { name: 'a', main: 'main', binary: false, env: { FROM_INIT: 'yes' } } })).toEqual({ status: 200, body: { OK: true } });
    expect((await p.post('init', { value: { name: 'a', main: 'main' } })).status).toBe(403);
    const r = await p.post('run', { value: { x: 1 }, activation_id: 'abc123' });
    expect(r).toEqual({ status: 200, body: { got: { x: 1 }, activation: 'abc123', fromInit: 'yes' } });
    expect(p.stdout().split('\n').filter((l) => l === SENTINEL)).toHaveLength(1);
    expect(await p.post('run', { value: { mode: 'string' } })).toEqual({ status: 502, body: { error: 'The action did not return a dictionary.' } });
  }, 60_000);

  it('a main that throws answers 502 and stops the proxy: every later /run is 403', async () => {
    const p = await startProxy();
    await p.post('init', { value: { name: 'a', main: 'main' } });
    const r = await p.post('run', { value: { mode: 'throw' } });
    expect(r.status).toBe(502);
    expect(r.body.error).toMatch(/^An error has occurred: Error: boom/);
    expect(await p.post('run', { value: {} })).toEqual({ status: 403, body: { error: 'System not ready, status is stopped.' } });
  }, 60_000);

  it('our function wrapper\'s result is serialised once, and answered as the JSON it would have been', async () => {
    const fn = { name: 'counting', handler: 'index.handler', code: { files: { 'index.mjs': Buffer.from(COUNTING).toString('base64') } } };
    const p = await startProxy(functionEntries(fn));
    expect((await p.post('init', { value: { name: 'counting', main: 'main' } })).status).toBe(200);
    // A storage grant takes the wrapper through its payload-size check (inline here: no storage call is made).
    const grant = { url: 'http://127.0.0.1:9', token: 'unused' };
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await p.post('run', { value: { __mf_event: { i }, __mf_storage: grant }, activation_id: `act${i}` }));
    for (const [i, r] of runs.entries()) {
      expect(r.status).toBe(200);
      expect(r.body.__mf_event).toEqual({ echo: { i }, serialisedBefore: i, counter: 'c' });
      expect(metaOf(r.body)).toMatchObject({ previous: i });
      // The wrapper's text is exactly what serialising the result would give: same keys, same order, same bytes.
      expect(r.text).toBe(JSON.stringify({ __mf_event: r.body.__mf_event, __mf_meta: r.body.__mf_meta }));
    }
    // Without a grant there is no size check: the proxy serialises the result, once.
    const plain = await p.post('run', { value: { __mf_event: { i: 3 } } });
    expect(plain.body.__mf_event).toEqual({ echo: { i: 3 }, serialisedBefore: 3, counter: 'c' });
    const after = await p.post('run', { value: { __mf_event: { i: 4 }, __mf_storage: grant } });
    expect(after.body.__mf_event.serialisedBefore).toBe(4);
  }, 60_000);
});
