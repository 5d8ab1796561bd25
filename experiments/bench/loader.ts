/**
 * The load generator of the throughput bench, in a process of its own so that it does not share the platform's
 * event loop: sends to one URL at one offered rate, open loop (experiments/load/open-loop.ts: each request at its
 * intended time, evenly spaced, whatever the earlier ones are doing), over at most `connections` keep-alive
 * connections, and sends back the raw samples. argv[2] is a JSON LoaderJob; the answer is one IPC message, a
 * LoaderAnswer.
 *
 * Not autocannon: its `overallRate` is a per-connection quota per second, refilled once a second, so at 100/s over
 * 100 connections every connection sends its one request at the same moment: a burst of 100 each second, whose
 * queue (median 50 ms for a 1 ms noop) was read as the platform's latency at 100/s.
 */
import { Agent, request } from 'node:http';
import { runOpenLoop } from '../load/open-loop.js';
import { constant } from '../load/schedule.js';

export interface LoaderJob {
  url: string;
  token: string;
  body: string;
  ratePerSec: number;
  durationS: number;
  connections: number;
}

export interface LoaderAnswer {
  /** Latency of every answered request, ms, from its intended send time (so a late send counts against it). */
  latencies: number[];
  /** Requests that got a status other than 200, request errors (resets) and timeouts. */
  failed: number;
  /** p99 of actual send − intended send, ms: how well the generator kept to its schedule. */
  sendSkewMsP99: number | null;
}

const TIMEOUT_MS = 10_000;

/** POSTs the body; resolves with the status once the answer is read to its end. */
function post(agent: Agent, url: URL, headers: Record<string, string | number>, body: Buffer, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'POST', agent, headers, signal }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]!) as LoaderJob;
  const url = new URL(job.url);
  const body = Buffer.from(job.body);
  const headers = { 'content-type': 'application/json', 'content-length': body.length, authorization: `Bearer ${job.token}` };
  const agent = new Agent({ keepAlive: true, maxSockets: job.connections });
  const run = await runOpenLoop(constant(job.ratePerSec, job.durationS * 1000), (_, signal) => post(agent, url, headers, body, signal), {
    deadlineMs: job.durationS * 1000 + TIMEOUT_MS,
  });
  agent.destroy();
  const ok = run.requests.filter((r) => r.outcome.state === 'ok' && r.value === 200);
  const lags = run.requests.flatMap((r) => (r.sendLagMs === null ? [] : [r.sendLagMs])).sort((a, b) => a - b);
  const answer: LoaderAnswer = {
    latencies: ok.map((r) => r.latencyMs!),
    failed: run.requests.length - ok.length,
    sendSkewMsP99: lags.length === 0 ? null : lags[Math.min(lags.length - 1, Math.ceil(0.99 * lags.length) - 1)]!,
  };
  process.send!(answer, () => process.exit(0));
}

void main();
