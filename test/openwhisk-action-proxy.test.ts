/**
 * The action proxy of OpenWhisk blackbox images (harness/openwhisk/action-proxy.ts) as the invoker drives it, run
 * here as a child process on loopback with an action folder of our own: /init loads the folder's package "main" and
 * copies `env`; a second /init, code at /init, /run before /init are refused; /run sets __OW_* and answers the
 * result; a non-object result and a throwing main answer 502, after which the proxy is stopped (403); the sentinel
 * follows each activation on stdout and stderr. The same proxy in a real container: test/openwhisk-blackbox.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

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

async function startProxy(): Promise<{ post: (route: string, body: unknown) => Promise<{ status: number; body: any }>; stdout: () => string }> {
  dir = await mkdtemp(join(tmpdir(), 'owproxy-'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'a', main: 'main.js' }));
  await writeFile(join(dir, 'main.js'), ACTION);
  const port = await freePort();
  const proc = spawn(process.execPath, [PROXY], { env: { ...process.env, MFBENCH_ACTION_DIR: dir, MFBENCH_PROXY_PORT: String(port), MFBENCH_PROXY_HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const post = async (route: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}/${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
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
});
