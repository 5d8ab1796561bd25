/**
 * Micro benchmark of a global bus (not a test): the JournalBus, or JetStreamBus with --broker nats://…: publish latency with and without fsync, publish throughput with
 * many publishes in flight, and the publish -> deliver -> ack latency of one hop through a consumer group (the
 * per-function baseline's path). Run: npx vite-node platform/bus/global/bench.ts [--n 5000] [--dir /some/disk]
 * Prints one JSON line on stdout; a readable summary on stderr. The numbers go in docs/bus.md.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectBroker } from '../../broker.js';
import { JetStreamBus } from './jetstream.js';
import { JournalBus } from './journal-bus.js';
import type { GlobalBus } from './types.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

const N = Number(arg('n', '5000'));
const base = arg('dir', tmpdir());
const broker = arg('broker', '');

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function summary(samplesUs: number[]): { p50: number; p99: number; mean: number } {
  const s = [...samplesUs].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  return { p50: round(quantile(s, 0.5)), p99: round(quantile(s, 0.99)), mean: round(s.reduce((a, b) => a + b, 0) / s.length) };
}

const payload = { executionId: 'exec-0123456789', state: 'Resize', input: { bucket: 'images', key: 'photo-42.jpg', width: 640 }, pad: 'x'.repeat(120) };

async function sequential(bus: GlobalBus, topic: string, n: number, sync: boolean): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n + 200; i++) {
    const t0 = process.hrtime.bigint();
    await bus.publish(topic, `exec-${i % 100}`, payload, { sync });
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    if (i >= 200) samples.push(us); // warm-up
  }
  return samples;
}

async function throughput(bus: GlobalBus, topic: string, n: number, inFlight: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += inFlight) {
    const batch: Promise<number>[] = [];
    for (let j = 0; j < inFlight && i + j < n; j++) batch.push(bus.publish(topic, `exec-${(i + j) % 100}`, payload));
    await Promise.all(batch);
  }
  return Math.round(n / (Number(process.hrtime.bigint() - t0) / 1e9));
}

async function hop(bus: GlobalBus, topic: string, n: number): Promise<number[]> {
  const samples: number[] = [];
  let resolveNext: (() => void) | null = null;
  await bus.subscribe(topic, 'agent', () => {
    resolveNext?.();
  });
  for (let i = 0; i < n + 200; i++) {
    const delivered = new Promise<void>((r) => (resolveNext = r));
    const t0 = process.hrtime.bigint();
    await bus.publish(topic, `exec-${i % 100}`, payload);
    await delivered;
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    if (i >= 200) samples.push(us);
  }
  return samples;
}

const dir = await mkdtemp(join(base, 'mf-bus-bench-'));
const nc = broker === '' ? null : await connectBroker(broker);
const bus: GlobalBus = nc === null ? new JournalBus(dir) : await JetStreamBus.open(nc);
try {
  const nosync = summary(await sequential(bus, 'nosync', N, false));
  const sync = summary(await sequential(bus, 'sync', Math.max(200, Math.floor(N / 10)), true));
  const tput = await throughput(bus, 'tput', N * 4, 64);
  const hopUs = summary(await hop(bus, 'hop', Math.max(200, Math.floor(N / 2))));
  const result = {
    bus_publish_us_p50: nosync.p50,
    bus_publish_us_p99: nosync.p99,
    bus_publish_sync_us_p50: sync.p50,
    bus_publish_sync_us_p99: sync.p99,
    bus_publish_per_s_64_in_flight: tput,
    bus_hop_us_p50: hopUs.p50,
    bus_hop_us_p99: hopUs.p99,
    payload_bytes: JSON.stringify(payload).length,
    n: N,
    bus: nc === null ? 'journal' : 'jetstream',
    node: process.version,
  };
  process.stderr.write(
    `publish (await each, no fsync): p50 ${nosync.p50} us, p99 ${nosync.p99} us\n` +
      `publish (await each, fsync):    p50 ${sync.p50} us, p99 ${sync.p99} us\n` +
      `publish, 64 in flight:          ${tput} messages/s\n` +
      `publish -> delivered (one hop): p50 ${hopUs.p50} us, p99 ${hopUs.p99} us\n`,
  );
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  await bus.close();
  await nc?.close();
  await rm(dir, { recursive: true, force: true });
}
