/**
 * The open-loop runner against real HTTP servers on loopback (port 0), each in its own child process so that the
 * server's work does not share the load generator's event loop. Timing-sensitive: vitest runs test files serially
 * (vitest.config.ts), and each bound below is stated with its reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { constant, poisson } from '../experiments/load/schedule.js';
import { runOpenLoop } from '../experiments/load/open-loop.js';

/**
 * Server modes: 'fast' answers at once; 'serial' serves one request at a time, `ms` each (a queue, like a single
 * worker); 'hang' never answers.
 */
const SERVER = `
const http = require('node:http');
const [mode, ms] = [process.argv[1], Number(process.argv[2])];
let busyUntil = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (mode === 'hang') return;
    if (mode === 'fast') return res.end('ok');
    const now = Date.now();
    busyUntil = Math.max(busyUntil, now) + ms;
    setTimeout(() => res.end('ok'), busyUntil - now);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

interface Server {
  url: string;
  child: ChildProcess;
}

async function startServer(mode: 'fast' | 'serial' | 'hang', ms = 0): Promise<Server> {
  const child = spawn(process.execPath, ['-e', SERVER, mode, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/`, child };
}

/** A GET over a keep-alive agent; rejects on a non-200 answer or an abort. */
function getter(url: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const send = (_i: number, signal: AbortSignal) =>
    new Promise<number>((resolve, reject) => {
      const req = request(url, { agent, signal }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(res.statusCode) : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });
  return { send, close: () => agent.destroy() };
}

/**
 * The send-lag bound holds on a machine that is not oversubscribed. When other processes keep more runnable threads
 * than there are cores (1-minute load average >= cores), the OS deschedules the generator for tens of ms, which no
 * user-space scheduler can prevent; the bound is then not testable and its test is skipped, saying why (visible in
 * the summary as a skip, never as a pass). In an experiment the drift flag reports the same condition.
 */
function oversubscribed(): string | null {
  const load = loadavg()[0] as number;
  const cores = cpus().length;
  return load >= cores ? `machine oversubscribed (1-min load average ${load.toFixed(1)} on ${cores} cores): the send-lag bound cannot be tested now` : null;
}

const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.child.kill();
});

describe('open-loop runner on loopback', () => {
  let fast: Server;
  let serial: Server;
  let hang: Server;
  beforeAll(async () => {
    fast = await startServer('fast');
    serial = await startServer('serial', 20);
    hang = await startServer('hang');
    servers.push(fast, serial, hang);
  });

  it('keeps a 200 req/s schedule: every request issued at or after its intended time, latency from the intended time', async () => {
    const g = getter(fast.url);
    const r = await runOpenLoop(constant(200, 2000), g.send);
    g.close();
    expect(r.intended).toBe(400);
    expect(r.issued).toBe(400);
    expect(r.ok).toBe(400);
    for (const q of r.requests) {
      expect(q.sentAt!).toBeGreaterThanOrEqual(q.intendedAt);
      expect(q.latencyMs).toBeCloseTo(q.receivedAt! - q.intendedAt, 9);
      expect(q.latencyMs!).toBeGreaterThanOrEqual(q.serviceMs!);
      expect(q.value).toBe(200);
    }
    // the flag agrees with the lags measured
    expect(r.drift).toBe(r.driftReport.lateFraction > 0.1);
    // A bound that holds even on an oversubscribed machine (measured there: p50 < 1 ms, p99 20-57 ms at load 7-14);
    // the tight bound below runs when the machine is not oversubscribed.
    expect(r.driftReport.sendLagMs!.p50).toBeLessThan(2);
    expect(r.driftReport.sendLagMs!.p99).toBeLessThan(100);
  });

  it('keeps a 200 req/s schedule: p99 send lag < 5 ms, no drift (on a machine that is not oversubscribed)', async (ctx) => {
    const busy = oversubscribed();
    if (busy !== null) ctx.skip(busy);
    // Bound: Node timers fire 1-4 ms late on this shared 2-core machine; the runner sleeps until 2 ms before each
    // send and then yields until due, so the lag left is the event loop's turn time, well under 5 ms at p99.
    const g = getter(fast.url);
    const r = await runOpenLoop(constant(200, 5000), g.send);
    g.close();
    expect(r.intended).toBe(1000);
    expect(r.issued).toBe(1000);
    expect(r.ok).toBe(1000);
    expect(r.driftReport.sendLagMs!.p99).toBeLessThan(5);
    expect(r.driftReport.sendLagMs!.p50).toBeLessThan(1);
    expect(r.driftReport.sendLagMs!.p50).toBeGreaterThanOrEqual(0);
    expect(r.drift).toBe(false);
    expect(r.driftReasons).toEqual([]);
  });

  it('a Poisson schedule keeps its bursts too (on a machine that is not oversubscribed)', async (ctx) => {
    const busy = oversubscribed();
    if (busy !== null) ctx.skip(busy);
    const g = getter(fast.url);
    const r = await runOpenLoop(poisson(200, 3000, 42), g.send);
    g.close();
    expect(r.issued).toBe(r.intended);
    expect(r.driftReport.sendLagMs!.p99).toBeLessThan(5);
    expect(r.drift).toBe(false);
  });

  it('a slow server does not delay the sends: latency from the intended time grows instead', async () => {
    // The serial server serves 50 req/s (20 ms each); we offer 100 req/s for 2 s. A closed-loop client would slow
    // down to 50 req/s and report ~20 ms; open-loop, the queue (and the latency) grows by ~10 ms per request.
    const g = getter(serial.url);
    const r = await runOpenLoop(constant(100, 2000), g.send);
    g.close();
    expect(r.issued).toBe(200);
    expect(r.ok).toBe(200);
    expect(r.maxInFlightSeen).toBeGreaterThan(50);
    // The sends stay on schedule however slow the server is: their lag stays two orders of magnitude below the
    // queueing delay (this holds even on a busy machine; the 5 ms bound is the test above).
    expect(r.driftReport.sendLagMs!.p99).toBeLessThan(50);
    const lat = r.requests.map((q) => q.latencyMs!);
    // the last request waits for the 199 before it: ~200·20 ms − 1990 ms ≈ 2 s
    expect(lat[199]!).toBeGreaterThan(1500);
    const firstQuarter = lat.slice(0, 50).sort((a, b) => a - b)[25]!;
    const lastQuarter = lat.slice(150).sort((a, b) => a - b)[25]!;
    expect(lastQuarter).toBeGreaterThan(firstQuarter + 1000);
  });

  it('flags drift when the in-flight cap makes sends impossible (wait: late sends; drop: missing sends)', async () => {
    const g = getter(serial.url);
    const waited = await runOpenLoop(constant(100, 1000), g.send, { maxInFlight: 5 });
    expect(waited.issued).toBe(100);
    expect(waited.maxInFlightSeen).toBe(5);
    expect(waited.drift).toBe(true);
    expect(waited.driftReasons.join('\n')).toMatch(/left more than 10 ms after their intended time/);
    expect(waited.driftReport.sendLagMs!.max).toBeGreaterThan(500);

    const dropped = await runOpenLoop(constant(100, 1000), g.send, { maxInFlight: 5, whenFull: 'drop' });
    g.close();
    // the server completes ~50 req/s and only 5 may be outstanding: about half of the 100 cannot be sent
    expect(dropped.notSent).toBeGreaterThan(30);
    expect(dropped.issued + dropped.notSent).toBe(100);
    expect(dropped.requests.filter((q) => q.outcome.state === 'not-sent').every((q) => q.outcome.state === 'not-sent' && q.outcome.reason === 'max-in-flight')).toBe(true);
    expect(dropped.drift).toBe(true);
    expect(dropped.driftReasons.join('\n')).toMatch(/issued \d+ of 100 intended requests/);
  });

  it('stops at the deadline: outstanding requests are aborted and recorded as timeouts', async () => {
    const g = getter(hang.url);
    const signals: AbortSignal[] = [];
    const t = Date.now();
    const r = await runOpenLoop(constant(20, 500), (i, signal) => (signals.push(signal), g.send(i, signal)), { deadlineMs: 1000 });
    g.close();
    expect(Date.now() - t).toBeLessThan(2000);
    expect(r.timeouts).toBe(10);
    expect(r.requests.every((q) => q.outcome.state === 'timeout' && q.receivedAt === null && q.latencyMs === null)).toBe(true);
    expect(signals.every((s) => s.aborted)).toBe(true);
  });
});
