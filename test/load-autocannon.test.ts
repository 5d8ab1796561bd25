/**
 * autocannon wrappers against a real loopback HTTP server (in this process: autocannon's own client does the
 * timing, and these tests check counts and that raw samples match autocannon's own result, not timing bounds).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedLoop, fixedRate, runAutocannon } from '../experiments/load/autocannon.js';

let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/fail') {
        res.statusCode = 500;
        res.end('no');
      } else setTimeout(() => res.end('ok'), 2);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('autocannon load with raw samples', () => {
  it('closed loop: one sample per response, matching autocannon totals', async () => {
    const run = await closedLoop({ url: `${url}/`, connections: 4, amount: 200 });
    expect(run.samples).toHaveLength(200);
    expect(run.result.requests.total).toBe(200);
    expect(run.result['2xx']).toBe(200);
    expect(run.errors).toEqual([]);
    expect(run.samples.every((s) => s.statusCode === 200 && s.latencyMs > 1 && s.bytes > 0)).toBe(true);
    // the server answers after a 2 ms timer (Node may fire it up to 1 ms early against hrtime), hence > 1 above
    const max = Math.max(...run.samples.map((s) => s.latencyMs));
    expect(Math.abs(run.result.latency.max - max)).toBeLessThanOrEqual(1); // autocannon's histogram has 1 ms resolution
  });

  it('fixed rate: paced by overallRate', async () => {
    const run = await fixedRate({ url: `${url}/`, connections: 2, ratePerSec: 50, duration: 2 });
    // 2 s at 50 req/s: about 100. autocannon paces in one-second windows of 50, and on a busy machine its stop
    // timer can fire after a third window opened (CI once saw exactly 150), so at most duration + 1 windows; unpaced,
    // two connections to this server send thousands in 2 s.
    expect(run.samples.length).toBeGreaterThanOrEqual(80);
    expect(run.samples.length).toBeLessThanOrEqual(50 * (2 + 1));
  });

  it('keeps non-2xx answers as samples with their status', async () => {
    const run = await runAutocannon({ url: `${url}/fail`, connections: 1, amount: 10 });
    expect(run.samples.map((s) => s.statusCode)).toEqual(Array(10).fill(500));
    expect(run.result.non2xx).toBe(10);
  });

  it('refuses worker threads (the samples would be lost)', () => {
    expect(() => runAutocannon({ url, workers: 2 } as never)).toThrow(/workers/);
  });
});
