/**
 * One trial of an A/B comparison (docs/statistics.md#the-ab-gate), run as a child process of `mfbench ab`: starts the
 * platform of ONE side (its startPlatform, imported from that side's dist/), measures the benchmark against it, and
 * prints the raw samples as one JSON line on stdout. The measuring code is this checkout's for both sides, so only
 * the platform differs between A and B.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { chainDefinition, freshDataDir, REPO, removeDataDirs, runIfMain, timedPost } from '../bench/common.js';
import { KeepAliveClient } from '../bench/http-client.js';

type PlatformModule = typeof import('../../platform/frontend/index.js');

/** Raw samples of the `hop` benchmark, in ms: warm 1-Task and 10-Task chains, interleaved. */
export interface HopSamples {
  chain1: number[];
  chain10: number[];
}

const NOOP_DIR = join(REPO, 'experiments', 'bench', 'functions', 'noop');

/** Warm executions of a 1-Task and a 10-Task chain of noops, interleaved, after a warm-up of each. */
export async function measureHop(startPlatform: PlatformModule['startPlatform'], samples: number, warmup: number): Promise<HopSamples> {
  const dir = await freshDataDir('ab-trial');
  const platform = await startPlatform({ port: 0, dataDir: dir, keepHistory: false });
  const client = new KeepAliveClient(platform.url, platform.token);
  try {
    const fns = Array.from({ length: 10 }, (_, i) => `f${i + 1}`);
    await platform.platform.deploy({
      name: 'ab-hop',
      functions: fns.map((name) => ({ name, handler: 'index.handler', code: { dir: NOOP_DIR } })),
      workflows: { chain1: chainDefinition(fns.slice(0, 1)), chain10: chainDefinition(fns) },
    });
    const sample = async (chain: string, i: number) => (await timedPost(client, `/apps/ab-hop/workflows/${chain}/executions?records=false`, { n: i })).ms;
    const out: HopSamples = { chain1: [], chain10: [] };
    for (let i = 0; i < warmup + samples; i++) {
      const one = await sample('chain1', i);
      const ten = await sample('chain10', i);
      if (i < warmup) continue;
      out.chain1.push(one);
      out.chain10.push(ten);
    }
    return out;
  } finally {
    client.close();
    await platform.close();
    await removeDataDirs([dir]);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'platform-dist': { type: 'string' }, samples: { type: 'string' }, warmup: { type: 'string' } } });
  const dist = values['platform-dist'];
  if (dist === undefined) throw new Error('usage: trial --platform-dist <dist folder> --samples <n> --warmup <n>');
  const { startPlatform } = (await import(pathToFileURL(join(dist, 'platform', 'frontend', 'index.js')).href)) as PlatformModule;
  const samples = await measureHop(startPlatform, Number(values.samples ?? 100), Number(values.warmup ?? 20));
  process.stdout.write(JSON.stringify(samples) + '\n');
}

runIfMain(import.meta.url, 'ab trial', main);
