/**
 * cost-model: what the spiky workload costs. Produces Figure `fig-cost-model`.
 *
 * (a) Public cloud, after Figure 4 of "Will Serverless Computing Revolutionize NFV?" (Aditya et al., Proc. IEEE 2019):
 *     a `functionMs` function at `memoryGB`, `baseRps` requests/s all day, plus N spikes a day that add `spikeRps`
 *     requests/s for `spikeSeconds`. Serverless pays per request and per GB-second; the VM alternative is provisioned
 *     for the peak (base + spike), all day, at the on-demand hourly price. Pure computation over a dated, sourced price
 *     table (experiments/data/prices/aws-<date>.json): prices are data, never code.
 * (b) Self-hosted: the resources each preset held in a stored `spiky` run (experiments/spiky.ts `usageFromRaw`:
 *     node-seconds, sandbox-seconds, memory GiB-seconds from the samples, and the part held while nothing was in flight),
 *     priced per GiB-hour and per node-hour from experiments/data/prices/self-hosted-<date>.json.
 *
 * How one VM's capacity is assumed (configurable): the function is CPU-bound for its whole `functionMs`, so one vCPU
 * serves 1000 / functionMs requests/s at 100% busy; a VM is run at `vmUtilization` of that (headroom for queueing
 * and the OS), and never runs more executions at once than its memory holds at `memoryGB` each (Little's law:
 * concurrency = rate x functionMs). For c5.large (2 vCPUs, 4 GiB), 100 ms and 2 GB: CPU 2 x 10 x 0.7 = 14 req/s,
 * memory 2 executions / 0.1 s = 20 req/s, so 14 req/s per VM.
 *
 * It runs as a processing step, not in the runner (it has no requests of its own): `costModelStep`, a run-level step
 * of every run that measured spiky, fed that run's samples; and `mfbench cost-model [--from <spiky-run-dir>]
 * [--out <dir>]` for a stored run, which writes csv/cost-model.*.csv, figures/fig-cost-model.{vl.json,svg,png} and
 * cost-model.json into the run directory (or --out); without --from only (a). docs/experiments.md#cost-model.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MfError } from '../platform/errors.js';
import { costModelSpec } from '../report/charts/specs/cost-model.js';
import { repoRoot } from '../workloads/paths.js';
import { readRun, type RawRecord, type StoredRun } from '../report/run-dir.js';
import { round4 } from './runner/describe.js';
import { usageFromRaw, usageSpan, type SpikyConfig, type Usage } from './spiky.js';
import type { FigureInfo, Processed, Row, RunSection, RunStep } from '../report/types.js';

export interface CostModelConfig {
  /** Price tables, file names in experiments/data/prices. */
  prices: string;
  selfHostedPrices: string;
  functionMs: number;
  memoryGB: number;
  baseRps: number;
  /** Requests/s a spike adds on top of the base rate. */
  spikeRps: number;
  spikeSeconds: number;
  /** The x axis of (a): spikes per day. */
  spikesPerDay: number[];
  vmType: string;
  vmUtilization: number;
  daysPerMonth: number;
}

export const COST_MODEL_CONFIG: CostModelConfig = {
  prices: 'aws-2026-11-22.json',
  selfHostedPrices: 'self-hosted-2026-11-22.json',
  functionMs: 100,
  memoryGB: 2,
  baseRps: 1,
  spikeRps: 1000,
  spikeSeconds: 60,
  spikesPerDay: [0, 1, 2, 5, 10, 20, 50, 100, 150, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1200, 1440],
  vmType: 'c5.large',
  vmUtilization: 0.7,
  daysPerMonth: 30,
};

export const COST_MODEL_FIGURE: FigureInfo = {
  id: 'fig-cost-model',
  title: 'Cost model: serverless vs VMs, and what each preset held',
  caption:
    '(a) Daily cost of a 100 ms, 2 GB function at 1 request/s plus N one-minute spikes of 1000 requests/s per day: AWS Lambda (per request + per GB-s) vs c5.large VMs provisioned for the peak all day; the dotted line marks the crossover. ' +
    '(b) From the stored spiky run: node-seconds (time with at least one sandbox alive), memory GiB-seconds (PSS of the sandboxes, the part held while idle hatched) and their price, per preset.',
};

interface Price {
  value: number;
  status: string;
  source: string;
}

export interface AwsPrices {
  lookedUpOn: string;
  region: string;
  lambda: { requestPerMillion: Price; gbSecond: Price };
  ec2: Record<string, Price & { hourly: number; vcpus: number; memoryGiB: number }>;
}

export interface SelfHostedPrices {
  lookedUpOn: string;
  perGiBHour: Price;
  nodeHour: Price;
}

export function pricesDir(): string {
  return join(repoRoot(), 'experiments', 'data', 'prices');
}

/** Reads a price table; `file` is a name in experiments/data/prices or a path. Returns the data and its sha256. */
export function readPrices<T>(file: string): { data: T; path: string; sha256: string } {
  const path = file.includes('/') ? resolve(file) : join(pricesDir(), file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new MfError('MF_CONFIG_INVALID', `cost-model: cannot read the price table ${path}: ${(err as Error).message}`, { path });
  }
  return { data: JSON.parse(text) as T, path, sha256: createHash('sha256').update(text).digest('hex') };
}

// ------------------------------------------------------------------ (a) the public-cloud model (pure)

export interface Workload {
  functionMs: number;
  memoryGB: number;
  baseRps: number;
  spikeRps: number;
  spikeSeconds: number;
}

/** Requests in a day with `n` spikes. */
export function requestsPerDay(w: Workload, n: number): number {
  return w.baseRps * 86_400 + n * w.spikeRps * w.spikeSeconds;
}

/** Lambda's daily bill: requests x request price + requests x duration x memory x GB-s price (no free tier). */
export function lambdaDailyCost(w: Workload, n: number, p: AwsPrices['lambda']): { requests: number; gbSeconds: number; requestCost: number; durationCost: number; total: number } {
  const requests = requestsPerDay(w, n);
  const gbSeconds = requests * (w.functionMs / 1000) * w.memoryGB;
  const requestCost = (requests / 1e6) * p.requestPerMillion.value;
  const durationCost = gbSeconds * p.gbSecond.value;
  return { requests, gbSeconds, requestCost, durationCost, total: requestCost + durationCost };
}

/** Requests/s one VM serves (see the file comment): min of its CPU and memory bounds. */
export function vmCapacity(w: Workload, vm: { vcpus: number; memoryGiB: number }, utilization: number): { cpuBound: number; memoryBound: number; perVm: number } {
  const cpuBound = vm.vcpus * (1000 / w.functionMs) * utilization;
  const memoryBound = Math.floor(vm.memoryGiB / w.memoryGB) / (w.functionMs / 1000);
  return { cpuBound, memoryBound, perVm: Math.min(cpuBound, memoryBound) };
}

/** VMs for the peak, up all day. Independent of the number of spikes, as long as there is at least one. */
export function vmDailyCost(w: Workload, n: number, vm: { vcpus: number; memoryGiB: number; hourly: number }, utilization: number): { vms: number; total: number } {
  const peak = w.baseRps + (n > 0 ? w.spikeRps : 0);
  const vms = Math.ceil(peak / vmCapacity(w, vm, utilization).perVm);
  return { vms, total: vms * vm.hourly * 24 };
}

/** The number of spikes a day above which Lambda costs more than the peak-provisioned VMs (null: never, within a day). */
export function crossover(w: Workload, p: AwsPrices['lambda'], vm: { vcpus: number; memoryGiB: number; hourly: number }, utilization: number): number | null {
  const base = lambdaDailyCost(w, 0, p).total;
  const perSpike = lambdaDailyCost(w, 1, p).total - base;
  const vms = vmDailyCost(w, 1, vm, utilization).total;
  const n = (vms - base) / perSpike;
  const maxSpikes = 86_400 / w.spikeSeconds;
  return n >= 0 && n <= maxSpikes ? n : null;
}

// ------------------------------------------------------------------ (b) self-hosted (pure)

/** Six significant digits: tiny dollar amounts stay readable in CSV. */
const sig6 = (x: number): number => Number(x.toPrecision(6));

export function selfHostedRows(usage: readonly Usage[], p: SelfHostedPrices): Row[] {
  return usage.map((u) => ({
    variant: u.variant,
    preset: u.preset,
    span_s: u.spanS,
    node_s: u.nodeS,
    sandbox_s: u.sandboxS,
    worker_s: u.workerS,
    memory_gib_s: u.memoryGiBs,
    idle_memory_gib_s: u.idleMemoryGiBs,
    peak_pss_mib: u.peakPssMiB,
    memory_cost_usd: sig6((u.memoryGiBs / 3600) * p.perGiBHour.value),
    idle_memory_cost_usd: sig6((u.idleMemoryGiBs / 3600) * p.perGiBHour.value),
    node_cost_usd: sig6((u.nodeS / 3600) * p.nodeHour.value),
  }));
}

/** Everything of the figure from the config, the price tables and (optionally) a spiky run's raw records. */
export function costModelProcess(
  config: CostModelConfig,
  aws: AwsPrices,
  self: SelfHostedPrices,
  spiky: { raw: readonly RawRecord[]; config: SpikyConfig; dir: string } | null,
): Processed {
  const vm = aws.ec2[config.vmType];
  if (vm === undefined) throw new MfError('MF_CONFIG_INVALID', `cost-model: the price table has no VM type "${config.vmType}" (has: ${Object.keys(aws.ec2).join(', ')})`, { option: 'vmType' });
  const w: Workload = config;
  const cap = vmCapacity(w, vm, config.vmUtilization);
  const curve: Row[] = config.spikesPerDay.flatMap((n) => {
    const l = lambdaDailyCost(w, n, aws.lambda);
    const v = vmDailyCost(w, n, vm, config.vmUtilization);
    return [
      { spikes_per_day: n, option: 'serverless (Lambda)', usd_per_day: round4(l.total), usd_per_month: round4(l.total * config.daysPerMonth), requests_per_day: l.requests, gb_seconds: round4(l.gbSeconds), vms: null },
      { spikes_per_day: n, option: `VMs for the peak (${config.vmType})`, usd_per_day: round4(v.total), usd_per_month: round4(v.total * config.daysPerMonth), requests_per_day: l.requests, gb_seconds: null, vms: v.vms },
    ];
  });
  const n = crossover(w, aws.lambda, vm, config.vmUtilization);
  const vmsPeak = vmDailyCost(w, 1, vm, config.vmUtilization).vms;
  const summary: Row[] = [
    { model: 'a', item: 'lambda_usd_per_day_no_spikes', value: round4(lambdaDailyCost(w, 0, aws.lambda).total) },
    { model: 'a', item: 'lambda_usd_per_spike', value: round4(lambdaDailyCost(w, 1, aws.lambda).total - lambdaDailyCost(w, 0, aws.lambda).total) },
    { model: 'a', item: 'vm_requests_per_s_each', value: round4(cap.perVm) },
    { model: 'a', item: 'vms_for_peak', value: vmsPeak },
    { model: 'a', item: 'vm_usd_per_day', value: round4(vmDailyCost(w, 1, vm, config.vmUtilization).total) },
    { model: 'a', item: 'crossover_spikes_per_day', value: n === null ? null : round4(n) },
  ];
  const notes = [
    `(a) Prices: Lambda ${aws.lambda.requestPerMillion.value} USD per 1M requests (${aws.lambda.requestPerMillion.status}) and ${aws.lambda.gbSecond.value} USD per GB-s (${aws.lambda.gbSecond.status}); ${config.vmType} ${vm.hourly} USD/h (${vm.status}); ${aws.region}, looked up ${aws.lookedUpOn}; no free tier.`,
    `(a) One ${config.vmType} (${vm.vcpus} vCPUs, ${vm.memoryGiB} GiB) serves ${round4(cap.perVm)} req/s of a ${config.functionMs} ms function: CPU bound ${round4(cap.cpuBound)} (at ${config.vmUtilization * 100}% utilisation), memory bound ${round4(cap.memoryBound)} (${config.memoryGB} GB per execution). The peak of ${config.baseRps + config.spikeRps} req/s needs ${vmsPeak} VMs, all day.`,
    n === null ? '(a) Serverless stays cheaper at every spike count up to one a minute.' : `(a) Serverless is cheaper below ${round4(n)} spikes a day; above, the peak-provisioned VMs are.`,
  ];
  const span = spiky === null ? null : usageSpan(spiky.config);
  const selfHosted = spiky === null ? [] : selfHostedRows(usageFromRaw(spiky.raw.filter((r) => r.experiment === 'spiky'), span ?? undefined), self);
  for (const r of selfHosted) summary.push({ model: 'b', item: `${String(r.preset)}_memory_gib_s`, value: r.memory_gib_s ?? null }, { model: 'b', item: `${String(r.preset)}_node_s`, value: r.node_s ?? null });
  notes.push(
    spiky === null
      ? '(b) No spiky run given (--from): the self-hosted panel is empty.'
      : `(b) From the spiky run ${spiky.dir}: resources integrated over its samples from the schedule's start to ${((span?.toMs ?? 0) / 1000).toFixed(1)} s (the schedule and its idle tail, the same stretch for every preset); priced at ${self.perGiBHour.value} USD per GiB-hour (${self.perGiBHour.status}) and ${self.nodeHour.value} USD per node-hour (${self.nodeHour.status}). A node counts while the app holds at least one sandbox.`,
  );
  return { metrics: [], tables: { summary, curve, selfHosted }, notes };
}

// ------------------------------------------------------------------ the processing step (CLI)

export interface CostModelOutput {
  dir: string;
  svg: string;
  png: string;
  csv: string[];
  summary: Row[];
  notes: string[];
}

/**
 * The cost model over the price tables and, when given, a stored run's spiky records: the report section with its
 * tables, figure spec and provenance (which price tables, by hash, and which run the numbers came from).
 */
export function costModelSection(run: StoredRun | null, config: CostModelConfig = COST_MODEL_CONFIG): RunSection {
  const aws = readPrices<AwsPrices>(config.prices);
  const self = readPrices<SelfHostedPrices>(config.selfHostedPrices);
  const spikyEntry = run?.manifest.experiments.find((e) => e.name === 'spiky');
  const processed = costModelProcess(config, aws.data, self.data, run === null || spikyEntry === undefined ? null : { raw: run.raw, config: spikyEntry.config as unknown as SpikyConfig, dir: run.dir });
  return {
    id: 'cost-model',
    title: COST_MODEL_FIGURE.title,
    caption: COST_MODEL_FIGURE.caption,
    figure: { id: COST_MODEL_FIGURE.id, spec: costModelSpec(processed.tables, COST_MODEL_FIGURE, config) },
    tables: processed.tables,
    notes: processed.notes,
    json: {
      config,
      prices: [
        { path: aws.path, sha256: aws.sha256 },
        { path: self.path, sha256: self.sha256 },
      ],
      from: run === null ? null : { dir: run.dir, runId: run.manifest.runId, commit: run.manifest.git.commit, dirty: run.manifest.git.dirty },
      summary: processed.tables.summary,
      notes: processed.notes,
    },
  };
}

/**
 * The cost model as a run-level processing step (report/process.ts): a run that measured spiky gets the figure with
 * its self-hosted panel (b) fed from that run's own samples, with no `--from` needed.
 */
export const costModelStep: RunStep<StoredRun> = {
  id: 'cost-model',
  process: (run) => (run.raw.some((r) => r.experiment === 'spiky') ? costModelSection(run) : null),
};

/** Reads the price tables (and the spiky run), computes, renders and writes into `out`. */
export async function runCostModel(options: { from?: string; out?: string; config?: CostModelConfig }): Promise<CostModelOutput> {
  const config = options.config ?? COST_MODEL_CONFIG;
  const run = options.from === undefined ? null : readRun(resolve(options.from));
  if (run !== null && !run.raw.some((r) => r.experiment === 'spiky')) {
    throw new MfError('MF_BAD_REQUEST', `cost-model: ${run.dir} holds no spiky records (run \`mfbench run spiky\` first)`, { path: run.dir });
  }
  const out = resolve(options.out ?? run?.dir ?? join(repoRoot(), 'results', `cost-model-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  const section = costModelSection(run, config);
  const { renderSpec } = await import('../report/charts/render.js');
  const { toCsv } = await import('../report/process.js');
  mkdirSync(join(out, 'csv'), { recursive: true });
  mkdirSync(join(out, 'figures'), { recursive: true });
  const csv: string[] = [];
  for (const [name, rows] of Object.entries(section.tables)) {
    const file = join(out, 'csv', `cost-model.${name}.csv`);
    writeFileSync(file, toCsv(rows));
    csv.push(file);
  }
  const spec = (section.figure as NonNullable<RunSection['figure']>).spec;
  const rendered = await renderSpec(spec);
  const base = join(out, 'figures', COST_MODEL_FIGURE.id);
  writeFileSync(`${base}.vl.json`, JSON.stringify(spec, null, 2) + '\n');
  writeFileSync(`${base}.svg`, rendered.svg);
  writeFileSync(`${base}.png`, rendered.png);
  writeFileSync(join(out, 'cost-model.json'), JSON.stringify(section.json, null, 2) + '\n');
  return { dir: out, svg: `${base}.svg`, png: `${base}.png`, csv, summary: section.tables.summary, notes: section.notes };
}
