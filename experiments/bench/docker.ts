/**
 * `npm run bench:docker`: the cold-start ladder on the docker backend, measured in one run:
 *
 * - docker cold-sandbox: a new container (a fresh app is deployed and invoked once: container create + start, agent
 *   boot, deploy into the sandbox, worker start, the invocation);
 * - grouped cold-worker: the first invocation of a new function in a running app container;
 * - warm: an existing worker in a running container;
 * - and, for reference, the engine's floor: a bare `docker run --rm --network none` of node on the runtime image,
 *   sampled alternately with the cold sandboxes so that their ratio is taken under the same machine load.
 *
 * Each is a median over >= 20 samples, over HTTP with a keep-alive client, as in bench/core.ts. Measuring (`measure*`)
 * only collects samples and the records that prove each sample's temperature; raw samples and the run manifest are
 * written to results/runs/<run-id>/ before `summarize` computes and `summaryTable` formats. The table goes to stderr,
 * one JSON object is the last line on stdout.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from 'simple-statistics';
import { now } from '../../platform/clock.js';
import { PRESET_NAMES, type PresetName } from '../../platform/config.js';
import { startPlatform, type PlatformHandle } from '../../platform/frontend/index.js';
import type { InvocationRecord } from '../../platform/records.js';
import { DockerBackend } from '../../platform/sandbox/docker/backend.js';
import { connectDocker, engineVersion, type Docker } from '../../platform/sandbox/docker/engine.js';
import { buildRuntimeImage, NODE_IN_IMAGE } from '../../platform/sandbox/docker/image.js';
import { LABEL } from '../../platform/sandbox/docker/owner.js';
import { medianCI } from '../../report/stats/intervals.js';
import { formatTable } from '../../report/table.js';
import { runManifest } from '../manifest.js';
import { chainDefinition, freshDataDir, recordAndReport, removeDataDirs, REPO, runIfMain, sleep, timedPost } from './common.js';
import { KeepAliveClient } from './http-client.js';

const NOOP_DIR = join(REPO, 'experiments', 'bench', 'functions', 'noop');

interface Sizes {
  coldSandbox: number;
  coldWorker: number;
  warmup: number;
  warm: number;
  dockerRun: number;
  chain: number;
}
const SIZES: Record<'full' | 'quick', Sizes> = {
  full: { coldSandbox: 30, coldWorker: 30, warmup: 100, warm: 500, dockerRun: 20, chain: 200 },
  quick: { coldSandbox: 20, coldWorker: 20, warmup: 30, warm: 100, dockerRun: 20, chain: 50 },
};

/** Raw samples in milliseconds, and the records that prove each sample's temperature. */
interface Samples {
  coldSandbox: number[];
  coldSandboxRecords: InvocationRecord[];
  coldWorker: number[];
  coldWorkerRecords: InvocationRecord[];
  warm: number[];
  warmRecords: InvocationRecord[];
  /** create + start + wait + auto-remove of `node -e 0` on the runtime image, no platform involved. */
  dockerRun: number[];
  /** Warm 5-step chain end to end under each preset (empty when the platform has no presets yet). */
  chain5: Record<string, number[]>;
}

const noop = (name: string) => ({ name, handler: 'index.handler', code: { dir: NOOP_DIR } });

/**
 * Each sample deploys a fresh app and invokes it once: the invocation creates its container. The engine's floor (a
 * bare `docker run` of node) is sampled just before each of the first `floor.runs` of them, so that the ratio of the
 * two compares samples taken under the same load on a shared, noisy machine.
 */
async function measureColdSandbox(p: PlatformHandle, client: KeepAliveClient, floor: { docker: Docker; image: string; runs: number }, n: number, progress: (s: string) => void) {
  progress(`docker cold-sandbox: ${n} fresh apps, each invoked once (a new container each), alternating with ${floor.runs} bare docker runs of node`);
  const out = { coldSandbox: [] as number[], coldSandboxRecords: [] as InvocationRecord[], dockerRun: [] as number[] };
  // One unmeasured round first: the backend's first create also connects to the engine and checks the image.
  for (let i = -1; i < Math.max(n, floor.runs); i++) {
    if (i >= 0 && i < floor.runs) out.dockerRun.push(await dockerRunOnce(floor.docker, floor.image));
    if (i >= n) continue;
    const app = `cs${i < 0 ? 'x' : i}`;
    await p.platform.deploy({ name: app, functions: [noop('f')], workflows: {} });
    const { ms, answer } = await timedPost(client, `/apps/${app}/functions/f/invocations`, { i });
    if (i >= 0) {
      out.coldSandbox.push(ms);
      out.coldSandboxRecords.push(answer.records[0]);
    }
    await p.platform.deleteApp(app); // removes the container, outside the measurement
    await sleep(100);
  }
  return out;
}

/** One running container; each sample is the first invocation of another of its functions. Then warm samples. */
async function measureColdWorkerAndWarm(p: PlatformHandle, client: KeepAliveClient, sizes: Sizes, progress: (s: string) => void) {
  const fns = Array.from({ length: sizes.coldWorker }, (_, i) => `c${i + 1}`);
  await p.platform.deploy({ name: 'bench-cw', functions: [noop('c0'), ...fns.map(noop)], workflows: {} });
  await timedPost(client, '/apps/bench-cw/functions/c0/invocations', {}); // creates the container
  await sleep(1000); // let the pool boot, as a container that has been up for a moment
  progress(`grouped cold-worker: ${fns.length} first invocations of new functions in one running container`);
  const out = { coldWorker: [] as number[], coldWorkerRecords: [] as InvocationRecord[], warm: [] as number[], warmRecords: [] as InvocationRecord[] };
  for (const fn of fns) {
    const { ms, answer } = await timedPost(client, `/apps/bench-cw/functions/${fn}/invocations`, {});
    out.coldWorker.push(ms);
    out.coldWorkerRecords.push(answer.records[0]);
    await sleep(200); // room for the pool to refill, as between sporadic requests
  }
  progress(`warm: ${sizes.warmup} warm-up, then ${sizes.warm} samples`);
  for (let i = 0; i < sizes.warmup; i++) await timedPost(client, '/apps/bench-cw/functions/c0/invocations', { i });
  for (let i = 0; i < sizes.warm; i++) {
    const { ms, answer } = await timedPost(client, '/apps/bench-cw/functions/c0/invocations', { i });
    out.warm.push(ms);
    out.warmRecords.push(answer.records[0]);
  }
  await p.platform.deleteApp('bench-cw');
  return out;
}

/** The engine's floor: `docker run --rm --network none <image> node -e 0`, through the API as the CLI does it; ms. */
async function dockerRunOnce(docker: Docker, image: string): Promise<number> {
  const t0 = now();
  const c = await docker.createContainer({
    Image: image,
    Cmd: [NODE_IN_IMAGE, '-e', '0'],
    Labels: { [LABEL.testbed]: '1', [LABEL.owner]: `${hostname()}:${process.pid}` },
    HostConfig: { NetworkMode: 'none', AutoRemove: true },
  });
  const removed = c.wait({ condition: 'removed' });
  await c.start();
  const r = (await removed) as { StatusCode?: number };
  const ms = now() - t0;
  if (r.StatusCode !== 0) throw new Error(`docker run of node exited with ${r.StatusCode}`);
  return ms;
}

// ------------------------------------------------------------------ per-preset chains (the lead's part of issue 3)

/**
 * Warm 5-step chain end to end under each policy preset on the docker backend. Both platforms run at once and
 * their samples alternate, so that the ratio between the presets is measured under the same machine conditions.
 */
async function measureChain5Presets(n: number, progress: (s: string) => void): Promise<Record<PresetName, number[]>> {
  const steps = ['s1', 's2', 's3', 's4', 's5'];
  const path = '/apps/chain5/workflows/main/executions?records=false';
  const running: Array<{ preset: PresetName; platform: PlatformHandle; client: KeepAliveClient }> = [];
  const dirs: string[] = [];
  try {
    for (const preset of PRESET_NAMES) {
      dirs.push(await freshDataDir(`bench-docker-${preset}`));
      const platform = await startPlatform({ port: 0, dataDir: dirs.at(-1)!, backend: 'docker', preset });
      running.push({ preset, platform, client: new KeepAliveClient(platform.url, platform.token) });
      await platform.platform.deploy({ name: 'chain5', functions: steps.map(noop), workflows: { main: chainDefinition(steps) } });
    }
    progress(`chain5 under ${PRESET_NAMES.join(' and ')}: warm-up, then ${n} samples each, alternating`);
    for (let i = 0; i < 20; i++) for (const r of running) await timedPost(r.client, path, { i });
    const out = Object.fromEntries(PRESET_NAMES.map((p) => [p, [] as number[]])) as Record<PresetName, number[]>;
    for (let i = 0; i < n; i++) for (const r of running) out[r.preset].push((await timedPost(r.client, path, { i })).ms);
    return out;
  } finally {
    for (const r of running) {
      r.client.close();
      await r.platform.close();
    }
    await removeDataDirs(dirs);
  }
}

export async function measure(sizes: Sizes, docker: Docker, image: string, progress: (s: string) => void): Promise<Samples> {
  const dataDir = await freshDataDir('bench-docker');
  const p = await startPlatform({ port: 0, dataDir, backend: 'docker' });
  const client = new KeepAliveClient(p.url, p.token);
  let ladder;
  try {
    const cold = await measureColdSandbox(p, client, { docker, image, runs: sizes.dockerRun }, sizes.coldSandbox, progress);
    const rest = await measureColdWorkerAndWarm(p, client, sizes, progress);
    ladder = { ...cold, ...rest };
  } finally {
    client.close();
    await p.close();
    await removeDataDirs([dataDir]);
  }
  const chain5 = await measureChain5Presets(sizes.chain, progress);
  return { ...ladder, chain5 };
}

// ------------------------------------------------------------------ statistics (pure)

export interface Summary {
  docker_cold_sandbox_ms_p50: number;
  docker_cold_worker_ms_p50: number;
  docker_warm_ms_p50: number;
  docker_run_node_ms_p50: number;
  /** Of the cold-sandbox latency, the platform's sandbox start (create() to app deployed), p50. */
  docker_sandbox_start_ms_p50: number;
  /** The phases of the cold sandbox (docs/records.md), p50 each: container created and started; agent dialled back; a worker ready. */
  docker_sandbox_create_ms_p50: number;
  docker_sandbox_connect_ms_p50: number;
  docker_cold_worker_ready_ms_p50: number;
  /** Cold-worker as a fraction of cold-sandbox (issue 3's target: <= 0.10). */
  cold_worker_over_cold_sandbox: number;
  /** Cold sandbox over the bare `docker run` of node, both measured in this run (issue 14's target: <= 1.2). */
  cold_sandbox_over_docker_run: number;
  /** 95% confidence intervals of the three medians (Le Boudec's order-statistic interval); null with 20 samples or fewer. */
  ci95: { cold_sandbox: [number, number] | null; cold_worker: [number, number] | null; warm: [number, number] | null };
  chain5_grouped_ms_p50?: number;
  chain5_perfunction_ms_p50?: number;
  samples: { cold_sandbox: number; cold_worker: number; warm: number; docker_run: number; chain5: number };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** The median's 95% interval (report/stats: Le Boudec, docs/statistics.md), rounded; null for n <= 20, which gets none. */
function medianCi95(xs: number[]): [number, number] | null {
  const { ci } = medianCI(xs, 0.95);
  return ci.available ? [round(ci.lower), round(ci.upper)] : null;
}

export function summarize(s: Samples): Summary {
  const check = (records: InvocationRecord[], temperature: InvocationRecord['temperature'], what: string) => {
    const wrong = records.filter((r) => r.temperature !== temperature).length;
    if (wrong > 0) throw new Error(`${wrong} ${what} sample(s) were not ${temperature} by their records; the measurement is invalid`);
  };
  check(s.coldSandboxRecords, 'cold-sandbox', 'cold-sandbox');
  check(s.coldWorkerRecords, 'cold-worker', 'cold-worker');
  check(s.warmRecords, 'warm', 'warm');
  const coldSandbox = median(s.coldSandbox);
  const coldWorker = median(s.coldWorker);
  const out: Summary = {
    docker_cold_sandbox_ms_p50: round(coldSandbox),
    docker_cold_worker_ms_p50: round(coldWorker),
    docker_warm_ms_p50: round(median(s.warm)),
    docker_run_node_ms_p50: round(median(s.dockerRun)),
    docker_sandbox_start_ms_p50: round(median(s.coldSandboxRecords.map((r) => r.coldStart.sandboxStartMs ?? NaN))),
    docker_sandbox_create_ms_p50: round(median(s.coldSandboxRecords.map((r) => r.coldStart.sandboxCreateMs ?? NaN))),
    docker_sandbox_connect_ms_p50: round(median(s.coldSandboxRecords.map((r) => r.coldStart.sandboxConnectMs ?? NaN))),
    docker_cold_worker_ready_ms_p50: round(median(s.coldSandboxRecords.map((r) => r.t.workerReady - r.t.queued))),
    cold_worker_over_cold_sandbox: round(coldWorker / coldSandbox),
    cold_sandbox_over_docker_run: round(coldSandbox / median(s.dockerRun)),
    ci95: { cold_sandbox: medianCi95(s.coldSandbox), cold_worker: medianCi95(s.coldWorker), warm: medianCi95(s.warm) },
    samples: { cold_sandbox: s.coldSandbox.length, cold_worker: s.coldWorker.length, warm: s.warm.length, docker_run: s.dockerRun.length, chain5: s.chain5.grouped?.length ?? 0 },
  };
  if (s.chain5.grouped?.length) out.chain5_grouped_ms_p50 = round(median(s.chain5.grouped));
  if (s.chain5['per-function']?.length) out.chain5_perfunction_ms_p50 = round(median(s.chain5['per-function']));
  return out;
}

// ------------------------------------------------------------------ formatting

export function summaryTable(s: Summary): string {
  const ci = (c: [number, number] | null) => (c === null ? 'no 95% CI with 20 samples or fewer' : `95% CI ${c[0]}-${c[1]} ms`);
  const rows: Array<[string, string, string]> = [
    ['bare docker run of node (engine floor), p50', `${s.docker_run_node_ms_p50} ms`, 'issue 3: about 300 ms on this machine'],
    ['docker cold-sandbox (new container), p50', `${s.docker_cold_sandbox_ms_p50} ms`, ci(s.ci95.cold_sandbox)],
    ['  of which sandbox start (create -> deployed)', `${s.docker_sandbox_start_ms_p50} ms`, ''],
    ['    container created and started', `${s.docker_sandbox_create_ms_p50} ms`, ''],
    ['    agent dialled back (from create)', `${s.docker_sandbox_connect_ms_p50} ms`, 'may end before the container start returns'],
    ['  then a worker ready for the invocation', `${s.docker_cold_worker_ready_ms_p50} ms`, ''],
    ['grouped cold-worker (running container), p50', `${s.docker_cold_worker_ms_p50} ms`, ci(s.ci95.cold_worker)],
    ['  cold-sandbox / bare docker run', `${s.cold_sandbox_over_docker_run}`, 'target <= 1.2; goal 1.1'],
    ['  cold-worker / cold-sandbox', `${(s.cold_worker_over_cold_sandbox * 100).toFixed(1)} %`, 'target <= 10 %'],
    ['warm invocation, p50', `${s.docker_warm_ms_p50} ms`, ci(s.ci95.warm)],
  ];
  if (s.chain5_grouped_ms_p50 !== undefined) rows.push(['warm 5-step chain, preset grouped, p50', `${s.chain5_grouped_ms_p50} ms`, '']);
  if (s.chain5_perfunction_ms_p50 !== undefined) {
    const ratio = s.chain5_grouped_ms_p50 ? ` (${(s.chain5_perfunction_ms_p50 / s.chain5_grouped_ms_p50).toFixed(1)}x grouped; target >= 5x)` : '';
    rows.push(['warm 5-step chain, preset per-function, p50', `${s.chain5_perfunction_ms_p50} ms`, ratio.trim()]);
  }
  return formatTable(null, rows, { align: ['left', 'right', 'left'] });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } } });
  const sizes = values.quick ? SIZES.quick : SIZES.full;
  const progress = (s: string) => process.stderr.write(`[bench:docker] ${s}\n`);
  const docker = await connectDocker();
  const image = await buildRuntimeImage({ docker, progress });
  const manifest = runManifest('bench-docker', {
    sizes,
    backend: 'docker',
    docker: { engine: await engineVersion(docker), image: image.tag, limits: new DockerBackend().describeLimits() },
  });
  const samples = await measure(sizes, docker, image.tag, progress);
  await recordAndReport(manifest, samples, values.out, summarize, summaryTable);
}


runIfMain(import.meta.url, 'bench:docker', main);
