/**
 * The multi-host experiment end to end (docs/experiments.md#multi-host): `mfbench run multi-host --quick` with a real
 * nats-server, real host agents and a real frontend, each host in a network namespace of its own where root allows
 * (MFBENCH_REQUIRE_NETNS=1, set by .ci/run, makes the loopback fallback a failure). Also the netns helper on its own:
 * a namespace reaches the bridge's address and nothing of the machine's loopback, and nothing is left behind.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { hostNetwork } from '../dist/experiments/multi-host/netns.js';
import { RUN_NATS_TESTS, noteNatsSkipped } from './helpers/nats.js';

noteNatsSkipped('the multi-host experiment test');

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');
const REQUIRE_NETNS = process.env.MFBENCH_REQUIRE_NETNS === '1';
const IS_ROOT = process.getuid?.() === 0;
const run = promisify(execFile);
const dirs: string[] = [];

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** This machine's namespaces and links whose names the helper uses (mfbench-*, mfb*). */
async function ourNetworkNames(): Promise<string[]> {
  if (!IS_ROOT) return [];
  const ns = (await run('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith('mfbench-'));
  const links = (await run('ip', ['-o', 'link', 'show'])).stdout.split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '').filter((n) => /^mfb[0-9a-f]{6}/.test(n));
  return [...ns, ...links];
}

/** Pids of processes whose command line names a multi-host round folder (what a leaked host or broker would show). */
function roundProcesses(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'latin1').includes('mfbench-multihost-')) out.push(Number(name));
    } catch {
      // gone already
    }
  }
  return out;
}

/** Runs `mfbench <args>` to its exit (bounded): its exit code, stdout and stderr. */
function mfbench(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      process.kill(child.pid!, 'SIGTERM');
      reject(new Error(`mfbench ${args.join(' ')} took longer than ${timeoutMs} ms:\n${stderr.slice(-3000)}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the netns helper', () => {
  test('each namespace reaches the bridge address, not the machine loopback; close() removes everything', async () => {
    const before = await ourNetworkNames();
    const network = await hostNetwork('auto', 2);
    try {
      if (REQUIRE_NETNS) expect(network.mode, `fell back: ${network.fallbackReason}`).toBe('netns');
      if (network.mode === 'loopback') {
        expect(network.brokerAddress).toBe('127.0.0.1');
        expect(network.hosts.map((h) => h.prefix)).toEqual([[], []]);
        return;
      }
      expect(new Set(network.hosts.map((h) => h.address)).size).toBe(2);
      const server = createServer((s) => s.end('bridge\n'));
      await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
      const { port } = server.address() as { port: number };
      try {
        const probe = (at: string, prefix: readonly string[]) =>
          run(prefix[0]!, [...prefix.slice(1), process.execPath, '-e',
            `const s=require('net').connect(${port},'${at}');s.setTimeout(5000,()=>{console.log('timeout');process.exit(0)});s.on('data',d=>{process.stdout.write(d);process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)})`]);
        for (const host of network.hosts) {
          expect((await probe(network.brokerAddress, host.prefix)).stdout.trim()).toBe('bridge');
          // 127.0.0.1 inside the namespace is its own loopback: the machine's server is not there.
          expect((await probe('127.0.0.1', host.prefix)).stdout.trim()).toBe('ECONNREFUSED');
        }
      } finally {
        server.close();
      }
    } finally {
      await network.close();
    }
    expect(await ourNetworkNames()).toEqual(before);
  }, 60_000);

  test('loopback asked for is loopback, with no fallback reason', async () => {
    const network = await hostNetwork('loopback', 3);
    expect({ mode: network.mode, fallbackReason: network.fallbackReason, address: network.brokerAddress, hosts: network.hosts.length }).toEqual({ mode: 'loopback', fallbackReason: null, address: '127.0.0.1', hosts: 3 });
    await network.close();
  });
});

describe('bad input to the multi-host experiment', () => {
  test('a remote platform is refused with MF_CONFIG_INVALID: the experiment starts its own processes', async () => {
    const out = await mkdtemp(join(tmpdir(), 'mf-multihost-bad-'));
    dirs.push(out);
    const { code, stdout, stderr } = await mfbench(['run', 'multi-host', '--quick', '--url', 'http://127.0.0.1:9', '--out', join(out, 'run'), '--no-report'], 120_000);
    expect(code).not.toBe(0);
    expect(stdout + stderr).toContain('MF_CONFIG_INVALID');
    expect(stdout + stderr).toContain('starts its own MicroFunctions processes');
  }, 150_000);
});

describe.runIf(RUN_NATS_TESTS)('mfbench run multi-host --quick, end to end', () => {
  test('1, 2 and 3 hosts: local, broker and cross-host hops, throughput and recovery after a host is SIGKILLed; a figure; nothing left behind', async () => {
    const out = await mkdtemp(join(tmpdir(), 'mf-multihost-'));
    dirs.push(out);
    const runDir = join(out, 'run');
    const namesBefore = await ourNetworkNames();
    const procsBefore = new Set(roundProcesses());
    const { code, stderr } = await mfbench(['run', 'multi-host', '--quick', '--backend', 'process', '--out', runDir, '--json'], 1_700_000);
    expect(code, stderr.slice(-3000)).toBe(0);

    type Raw = { preset: string; warmup: boolean; outcome: string; labels: Record<string, string | number | boolean>; call: { platform: { records: Array<{ host: string }> } | null } };
    const raw = (await readFile(join(runDir, 'raw.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Raw);
    const networks = new Set(raw.map((r) => r.labels.network));
    expect(networks.size).toBe(1);
    const network = [...networks][0];
    if (REQUIRE_NETNS) expect(network).toBe('netns');
    else expect(['netns', 'loopback']).toContain(network);
    console.log(`multi-host quick run on ${String(network)}: ${raw.length} requests`);

    const quick = { hops: 30, burst: 24, bursts: 2, capacity: 4 };
    for (const hosts of [1, 2, 3]) {
      const mine = raw.filter((r) => r.labels.hosts === hosts);
      const hops = mine.filter((r) => r.labels.phase === 'hops' && !r.warmup && r.preset === 'grouped');
      expect(hops.length).toBe(quick.hops);
      expect(hops.filter((r) => r.outcome === 'ok').length).toBe(quick.hops);
      // One closed loop per host: with several hosts, executions ran on more than one.
      const ranOn = new Set(hops.map((r) => r.call.platform?.records[0]?.host));
      if (hosts > 1) expect(ranOn.size).toBeGreaterThan(1);
      // Grouped: both Tasks on one host. Per-function: each series has its samples; with hop peers (2+ hosts) the
      // cross-host ones ran their two Tasks on two hosts, as their records say.
      for (const r of hops) expect(new Set(r.call.platform?.records.map((x) => x.host)).size).toBe(1);
      const perFunction = mine.filter((r) => r.labels.phase === 'hops' && !r.warmup && r.preset === 'per-function');
      expect(perFunction.every((r) => r.outcome === 'ok')).toBe(true);
      const twoHosts = perFunction.filter((r) => { const [a, b] = r.call.platform?.records ?? []; return a !== undefined && b !== undefined && a.host !== b.host; });
      expect(perFunction.length - twoHosts.length).toBeGreaterThanOrEqual(quick.hops);
      if (hosts > 1) expect(twoHosts.length).toBeGreaterThanOrEqual(quick.hops);
      else expect(twoHosts).toEqual([]);
      const bursts = mine.filter((r) => r.labels.phase === 'throughput' && !r.warmup);
      expect(bursts.length).toBe(quick.burst * quick.bursts);
      expect(bursts.every((r) => r.outcome === 'ok')).toBe(true);
      const recovery = mine.filter((r) => r.labels.phase === 'recovery');
      expect(recovery.length).toBe(hosts * quick.capacity);
      // Every execution completes once, whatever the kill; those placed on the killed host were placed again and
      // answered by another host.
      expect(recovery.filter((r) => r.outcome !== 'ok')).toEqual([]);
      const recovered = recovery.filter((r) => r.labels.recovered === true);
      expect(recovered.length).toBeGreaterThan(0);
      for (const r of recovered) expect(r.call.platform?.records.at(-1)?.host).not.toBe('h0');
      console.log(`${hosts} host(s): ${recovered.length} of ${recovery.length} executions recovered after SIGKILL of h0`);
    }

    const summary = await readFile(join(runDir, 'csv', 'multi-host.summary.csv'), 'utf8');
    for (const measure of ['local hop (ms)', 'broker hop (ms)', 'cross-host hop (ms)', 'frontend-host hop (ms)', 'throughput (executions/s)', 'recovery after a host kill (ms)']) expect(summary).toContain(measure);
    console.log(summary);
    // Every hop series, at every host count where it exists, from the stored records: n samples, a positive median.
    const [head, ...lines] = (await readFile(join(runDir, 'csv', 'multi-host.hops.csv'), 'utf8')).trim().split('\n');
    const cols = head!.split(',');
    const rows = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])) as Record<string, string>);
    for (const hosts of [1, 2, 3]) {
      for (const hop of hosts > 1 ? ['local', 'broker', 'cross-host', 'frontend-host'] : ['local', 'broker', 'frontend-host']) {
        const row = rows.find((r) => r.hop === hop && Number(r.hosts) === hosts);
        expect(row, `${hop} at ${hosts} host(s)`).toBeDefined();
        expect(Number(row!.ms_n)).toBeGreaterThanOrEqual(quick.hops);
        expect(Number(row!.ms_median)).toBeGreaterThan(0);
        expect(Number(row!.ms_p90)).toBeGreaterThanOrEqual(Number(row!.ms_median));
      }
      expect(rows.find((r) => r.hop === 'cross-host' && Number(r.hosts) === 1)).toBeUndefined();
    }
    expect(readdirSync(join(runDir, 'figures'))).toContain('fig-multi-host.svg');

    // Every namespace, link and process of the run is gone.
    expect(await ourNetworkNames()).toEqual(namesBefore);
    expect(roundProcesses().filter((pid) => !procsBefore.has(pid))).toEqual([]);
  }, 1_800_000);
});
