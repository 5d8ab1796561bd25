/**
 * The load generator of the throughput bench, in a process of its own so that it does not share the platform's
 * event loop: runs autocannon at one offered rate against one URL and sends back the raw samples.
 * argv[2] is a JSON LoaderJob; the answer is one IPC message, a LoaderAnswer.
 */
import { runAutocannon } from '../load/autocannon.js';

export interface LoaderJob {
  url: string;
  token: string;
  body: string;
  ratePerSec: number;
  durationS: number;
  connections: number;
}

export interface LoaderAnswer {
  /** Latency of every answered request, ms (autocannon's response time). */
  latencies: number[];
  /** Requests that got a status other than 200, and request errors (timeouts, resets). */
  failed: number;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]!) as LoaderJob;
  const run = await runAutocannon({
    url: job.url,
    method: 'POST',
    body: job.body,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${job.token}` },
    connections: job.connections,
    overallRate: job.ratePerSec,
    duration: job.durationS,
    timeout: 10,
  });
  const answer: LoaderAnswer = {
    latencies: run.samples.filter((s) => s.statusCode === 200).map((s) => s.latencyMs),
    failed: run.samples.filter((s) => s.statusCode !== 200).length + run.errors.length,
  };
  process.send!(answer, () => process.exit(0));
}

void main();
