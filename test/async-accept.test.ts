/**
 * Accepting an async execution does not wait for the work: 1,000 concurrent `?mode=async` submissions to a real
 * `mfbench platform start` process, from a keep-alive node:http client on loopback. The accept latency distribution
 * is printed beside the same client's against a bare node:http server on the same machine (what the kernel, the
 * client and the load on the machine cost by themselves); the assertions are on counts and a generous bound only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { Agent, createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, chain, inlineFunction } from './helpers/platform.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');
const SUBMISSIONS = 1000;

/** Sends `n` POSTs at once; resolves with each one's latency (ms, sorted) and answer. */
async function burst(port: number, path: string, headers: Record<string, string>, n: number): Promise<{ latencies: number[]; answers: Array<{ status: number; body: string }> }> {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const latencies: number[] = [];
  try {
    const answers = await Promise.all(
      Array.from(
        { length: n },
        (_, i) =>
          new Promise<{ status: number; body: string }>((resolve, reject) => {
            const sent = performance.now();
            const req = request({ host: '127.0.0.1', port, method: 'POST', path, headers: { 'content-type': 'application/json', ...headers }, agent }, (res) => {
              let body = '';
              res.setEncoding('utf8');
              res.on('data', (d: string) => (body += d));
              res.on('end', () => {
                latencies.push(performance.now() - sent);
                resolve({ status: res.statusCode ?? 0, body });
              });
            });
            req.on('error', reject);
            req.end(JSON.stringify({ i }));
          }),
      ),
    );
    return { latencies: latencies.sort((a, b) => a - b), answers };
  } finally {
    agent.destroy();
  }
}

function distribution(sorted: number[]): string {
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(0);
  return `p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, p99 ${at(0.99)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`;
}

describe('async acceptance under load', () => {
  let child: ChildProcess;
  let p: { url: string; token: string };

  beforeAll(async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mf-accept-'));
    child = spawn(process.execPath, [MAIN, 'platform', 'start', '--port', '0', '--data-dir', dataDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`platform start exited (${code})`)));
    });
    p = JSON.parse(first) as { url: string; token: string };
    const fn = `export const handler = async (event) => ({ ...event, seen: (event.seen ?? 0) + 1 });`;
    expect((await call(p, 'POST', '/apps', { name: 'accept', functions: [inlineFunction('f', fn)], workflows: { main: chain(['f', 'f', 'f']) } })).status).toBe(201);
    // One execution first, so the burst measures accepting rather than the first sandbox's start.
    expect((await call(p, 'POST', '/apps/accept/workflows/main/executions', {})).body.status).toBe('SUCCEEDED');
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  test(`${SUBMISSIONS} concurrent async submissions are all accepted, and every execution completes`, async () => {
    // The same client against a server that does nothing: the floor this machine sets today.
    const bare = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(202, { 'content-type': 'application/json' }).end('{"executionId":"x"}'));
    });
    await new Promise<void>((resolve) => bare.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
    const floor = await burst((bare.address() as { port: number }).port, '/', {}, SUBMISSIONS);
    await new Promise<void>((resolve) => bare.close(() => resolve()));

    const started = performance.now();
    const platform = await burst(Number(new URL(p.url).port), '/apps/accept/workflows/main/executions?mode=async', { authorization: `Bearer ${p.token}` }, SUBMISSIONS);
    const acceptedMs = performance.now() - started;
    console.log(`accept latency, ${SUBMISSIONS} concurrent async submissions: ${distribution(platform.latencies)}; all accepted in ${acceptedMs.toFixed(0)} ms`);
    console.log(`same client, bare node:http server:             ${distribution(floor.latencies)}`);

    expect(platform.answers.map((a) => a.status)).toEqual(new Array(SUBMISSIONS).fill(202));
    const ids = platform.answers.map((a) => (JSON.parse(a.body) as { executionId: string }).executionId);
    expect(new Set(ids).size).toBe(SUBMISSIONS);
    // Generous: on an idle machine this is well under a second; the point is that no submission waits for work.
    expect(platform.latencies.at(-1)!).toBeLessThan(90_000);

    // Nothing accepted is lost: every execution ends, and ends well.
    const statuses = new Map<string, number>();
    const deadline = Date.now() + 120_000;
    let pending = ids;
    while (pending.length > 0 && Date.now() < deadline) {
      const still: string[] = [];
      for (const id of pending) {
        const e = await call(p, 'GET', `/executions/${id}?records=false`);
        if (e.body.status === 'RUNNING') still.push(id);
        else statuses.set(e.body.status, (statuses.get(e.body.status) ?? 0) + 1);
      }
      pending = still;
      if (pending.length > 0) await new Promise((r) => setTimeout(r, 250));
    }
    console.log(`submitted ${SUBMISSIONS}, completed ${statuses.get('SUCCEEDED') ?? 0}, failed ${SUBMISSIONS - (statuses.get('SUCCEEDED') ?? 0) - pending.length}, lost ${pending.length}`);
    expect(pending).toEqual([]);
    expect(statuses.get('SUCCEEDED')).toBe(SUBMISSIONS);
  }, 300_000);
});
