/**
 * One side of an A/B comparison (docs/statistics.md#the-ab-gate), run as a child process of `mfbench ab`: starts the
 * platform of ONE side (its startPlatform, imported from that side's dist/) and measures blocks of the benchmark
 * against it when asked. The measuring code is this checkout's for both sides, so only the platform differs.
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { chainDefinition, freshDataDir, REPO, removeDataDirs, runIfMain, timedPost } from '../bench/common.js';
import { KeepAliveClient } from '../bench/http-client.js';
import { CpuMeter, descendants } from '../bench/proc-cpu.js';
import { meanHopMs, type HopRecord } from '../../report/hops.js';

type PlatformModule = typeof import('../../platform/frontend/index.js');

/** Raw samples of the `hop` benchmark, in ms: warm 1-Task and 10-Task chains, interleaved. */
export interface HopSamples {
  /** Client latency of each 1-Task execution. */
  chain1: number[];
  /** Client latency of each 10-Task execution. */
  chain10: number[];
  /** The mean hop of each 10-Task execution from the platform's own records (report/hops.ts: handler to next handler). */
  hops: number[];
  /**
   * On-CPU time of the sandbox's processes (agent and workers: every descendant of the side's process) while each
   * 1-Task and each 10-Task execution ran, ms (proc-cpu.ts); windows are contiguous, so no CPU time falls between.
   */
  cpu1: number[];
  cpu10: number[];
}

const NOOP_DIR = join(REPO, 'experiments', 'bench', 'functions', 'noop');

/**
 * One side of an A/B comparison, kept alive for the session: its platform is started, the app deployed and warmed up
 * once; then `block(n)` measures n interleaved pairs of a 1-Task and a 10-Task execution.
 */
export async function openHopSide(startPlatform: PlatformModule['startPlatform'], warmup: number) {
  const dir = await freshDataDir('ab-side');
  const platform = await startPlatform({ port: 0, dataDir: dir, keepHistory: false });
  const client = new KeepAliveClient(platform.url, platform.token);
  const close = async () => {
    client.close();
    await platform.close();
    await removeDataDirs([dir]);
  };
  let i = 0;
  const block = async (n: number): Promise<HopSamples> => {
    const out: HopSamples = { chain1: [], chain10: [], hops: [], cpu1: [], cpu10: [] };
    // The sandbox's processes, once per block: all are up after the warm-up, and a scan of /proc is too slow per request.
    const cpu = CpuMeter.open(descendants(process.pid));
    try {
      let c0 = cpu.read();
      for (let k = 0; k < n; k++) {
        out.chain1.push((await timedPost(client, '/apps/ab-hop/workflows/chain1/executions?records=false', { n: i++ })).ms);
        const c1 = cpu.read();
        const ten = await timedPost(client, '/apps/ab-hop/workflows/chain10/executions', { n: i++ });
        const c2 = cpu.read();
        out.cpu1.push((c1 - c0) / 1e6);
        out.cpu10.push((c2 - c1) / 1e6);
        c0 = c2;
        out.chain10.push(ten.ms);
        const hop = meanHopMs(ten.answer.records as HopRecord[]);
        if (hop !== null) out.hops.push(hop);
      }
    } finally {
      cpu.close();
    }
    return out;
  };
  try {
    const fns = Array.from({ length: 10 }, (_, i) => `f${i + 1}`);
    await platform.platform.deploy({
      name: 'ab-hop',
      functions: fns.map((name) => ({ name, handler: 'index.handler', code: { dir: NOOP_DIR } })),
      workflows: { chain1: chainDefinition(fns.slice(0, 1)), chain10: chainDefinition(fns) },
    });
    await block(warmup);
  } catch (err) {
    await close(); // a side that cannot start leaves no platform and no data folder behind
    throw err;
  }
  return { block, close };
}

/**
 * The child's protocol on stdin/stdout, one JSON line each way: it prints {"ready": true} once warmed up, then for
 * each line `{"samples": n}` it reads, the block's raw samples; at the end of stdin it closes its platform and exits.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'platform-dist': { type: 'string' }, warmup: { type: 'string' } } });
  const dist = values['platform-dist'];
  if (dist === undefined) throw new Error('usage: side --platform-dist <dist folder> --warmup <n>');
  const { startPlatform } = (await import(pathToFileURL(join(dist, 'platform', 'frontend', 'index.js')).href)) as PlatformModule;
  const side = await openHopSide(startPlatform, Number(values.warmup ?? 20));
  try {
    process.stdout.write(JSON.stringify({ ready: true }) + '\n');
    for await (const line of createInterface({ input: process.stdin })) {
      const { samples } = JSON.parse(line) as { samples: number };
      process.stdout.write(JSON.stringify(await side.block(samples)) + '\n');
    }
  } finally {
    await side.close();
  }
}

runIfMain(import.meta.url, 'ab side', main);
