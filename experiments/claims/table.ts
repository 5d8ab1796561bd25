/**
 * The claims table: one row per claim and scope (preset, platform), from a run's raw records and the cost model.
 * Pure: the same records give the same table (the bootstraps are seeded with the run's seed). What each claim says
 * and where it comes from is in sources.ts; how a direction is judged is in verdict.ts.
 */
import { medianInPlace } from '../../report/compare/bootstrap.js';
import { e2eMs, exclusion, groupBy, round4 } from '../runner/describe.js';
import { computeSumMs, taskRecords } from '../pipeline-overhead.js';
import { CLAIMS, REMOTE_PLATFORMS, type Claim } from './sources.js';
import { bootstrapMedians, combineVerdicts, exactVerdict, medianRatio, pairedRatio, ratioVerdict, type RatioEvidence, type Verdict } from './verdict.js';
import type { RawRecord } from '../../report/run-dir.js';
import type { Row } from '../../report/types.js';

/** What the cost model gives the claims (experiments/cost-model.ts `costModelProcess`). */
export interface CostFindings {
  /** Spikes a day where Lambda's daily cost meets the peak-provisioned VMs' (null: no crossover within a day). */
  crossover: number | null;
  lambdaNoSpikesUsd: number;
  vmUsd: number;
  /** Memory GiB-s held per preset over this run's spiky schedule (empty when the run has no spiky samples). */
  memoryGiBs: Record<string, number>;
}

export interface ClaimInput {
  raw: readonly RawRecord[];
  seed: number;
  cost: CostFindings;
}

/** The median the bootstraps use (the mean of the two middle values for an even count). */
const median = (xs: readonly number[]): number => (xs.length === 0 ? Number.NaN : medianInPlace(Float64Array.from(xs)));

const GROUPED = 'grouped';
const PER_FUNCTION = 'per-function';

/** A row of the table: the claim's constants beside what this run measured. */
function row(claim: Claim, scope: string, evidence: RatioEvidence | null, verdict: Verdict, detail: string): Row {
  return {
    claim: claim.id,
    scope,
    statement: claim.statement,
    measured: evidence === null || !Number.isFinite(evidence.ratio) ? null : round4(evidence.ratio),
    ci_lower: evidence?.lower == null ? null : round4(evidence.lower),
    ci_upper: evidence?.upper == null ? null : round4(evidence.upper),
    n: evidence?.n ?? null,
    measured_as: claim.measured,
    claimed: claim.claimed.value,
    claimed_text: claim.claimed.text,
    source: `${claim.source.paper}, ${claim.source.where}`,
    source_url: claim.source.url,
    direction: claim.direction,
    verdict,
    detail: evidence === null ? detail : `${detail}${detail === '' ? '' : '; '}${evidence.method}`,
  };
}

/** Records that count for statistics, of one experiment, on the embedded platform's presets (the SAND comparisons). */
const counted = (raw: readonly RawRecord[], experiment: string): RawRecord[] => raw.filter((r) => r.experiment === experiment && exclusion(r) === null);

/** The embedded platform's backends seen in an experiment's records, each compared across presets. */
const backendsOf = (rows: readonly RawRecord[]): string[] => [...new Set(rows.filter((r) => r.platform === 'microfunctions').map((r) => r.backend))];

const ofPreset = (rows: readonly RawRecord[], backend: string, preset: string): RawRecord[] =>
  rows.filter((r) => r.platform === 'microfunctions' && r.backend === backend && r.preset === preset);

const missingPresets = (claim: Claim, experiment: string, scope: string): Row =>
  row(claim, scope, null, 'not measured', `needs ${experiment} on both presets (mfbench run claims, or --preset grouped,per-function)`);

// ------------------------------------------------------------------ SAND: interaction latency

/**
 * Per-hop latency from the client clock: (median at the longest chain − median at length 1) / (extra hops), per preset;
 * the ratio per-function / grouped, bootstrapped over the four samples.
 */
export function interactionLatencyRows(raw: readonly RawRecord[], seed: number): Row[] {
  const claim = CLAIMS.interactionLatency;
  const rows = counted(raw, 'chain-length');
  const backends = backendsOf(rows);
  if (backends.length === 0) return [missingPresets(claim, 'chain-length', 'microfunctions')];
  return backends.map((backend) => {
    const scope = `microfunctions/${backend}`;
    const g = ofPreset(rows, backend, GROUPED);
    const p = ofPreset(rows, backend, PER_FUNCTION);
    const lengths = [...new Set(g.map((r) => Number(r.labels.length)))].filter((l) => p.some((r) => Number(r.labels.length) === l)).sort((a, b) => a - b);
    if (lengths.length < 2) return missingPresets(claim, 'chain-length (two lengths or more)', scope);
    const [short, long] = [lengths[0] as number, lengths[lengths.length - 1] as number];
    const at = (rs: RawRecord[], l: number): number[] => rs.filter((r) => Number(r.labels.length) === l).map(e2eMs).filter(Number.isFinite);
    const samples = [at(g, short), at(g, long), at(p, short), at(p, long)];
    const e = bootstrapMedians(samples, ([g1, gL, p1, pL]) => ((pL as number) - (p1 as number)) / ((gL as number) - (g1 as number)), seed);
    const hops = long - short;
    const perHop = (a: number[], b: number[]): string => ((median(b) - median(a)) / hops).toFixed(2);
    return row(claim, scope, e, ratioVerdict(e), `per hop: grouped ${perHop(samples[0]!, samples[1]!)} ms, per-function ${perHop(samples[2]!, samples[3]!)} ms (lengths ${short} and ${long})`);
  });
}

// ------------------------------------------------------------------ NFV Fig. 2 and SAND's pipeline speedup

const isImagePipeline = (r: RawRecord): boolean => r.labels.workload === 'image-pipeline' && taskRecords(r).length === Number(r.labels.stages);

/** Per preset (and per remote platform the run measured) the median of total / compute of each execution. */
export function pipelineOverheadRows(raw: readonly RawRecord[]): Row[] {
  const claim = CLAIMS.pipelineOverhead;
  const rows = counted(raw, 'pipeline-overhead').filter(isImagePipeline);
  const out: Row[] = [];
  const variants = groupBy(rows, (r) => r.variant);
  for (const preset of [GROUPED, PER_FUNCTION]) {
    if (![...variants.values()].some((rs) => rs[0]?.platform === 'microfunctions' && rs[0].preset === preset)) {
      out.push(row(claim, `microfunctions/${preset}`, null, 'not measured', 'no image-pipeline executions on this preset in this run'));
    }
  }
  for (const [variant, rs] of variants) {
    const e = pairedRatio(rs.map((r) => e2eMs(r) / computeSumMs(r)));
    out.push(row(claim, variant, e, ratioVerdict(e), `median total ${median(rs.map(e2eMs)).toFixed(1)} ms, compute ${median(rs.map(computeSumMs)).toFixed(1)} ms`));
  }
  for (const platform of REMOTE_PLATFORMS) {
    if (!rows.some((r) => r.platform === platform)) out.push(row(claim, platform, null, 'not configured', `no ${platform} remote configured for this run (docs/platforms.md)`));
  }
  return out;
}

/** SAND's abstract: the image pipeline's median total time, per-function over grouped, per backend. */
export function pipelineSpeedupRows(raw: readonly RawRecord[], seed: number): Row[] {
  const claim = CLAIMS.pipelineSpeedup;
  const rows = counted(raw, 'pipeline-overhead').filter(isImagePipeline);
  const backends = backendsOf(rows);
  if (backends.length === 0) return [missingPresets(claim, 'pipeline-overhead with image-pipeline', 'microfunctions')];
  return backends.map((backend) => {
    const g = ofPreset(rows, backend, GROUPED).map(e2eMs);
    const p = ofPreset(rows, backend, PER_FUNCTION).map(e2eMs);
    if (g.length === 0 || p.length === 0) return missingPresets(claim, 'pipeline-overhead with image-pipeline', `microfunctions/${backend}`);
    const e = medianRatio(g, p, seed);
    return row(claim, `microfunctions/${backend}`, e, ratioVerdict(e), 'per-function stands in for the container-per-function platform (OpenWhisk in the paper)');
  });
}

// ------------------------------------------------------------------ NFV Fig. 4: the cost model and the self-hosted panel

export function costRows(cost: CostFindings): Row[] {
  const crossover = CLAIMS.costCrossover;
  const holds = cost.crossover !== null && cost.lambdaNoSpikesUsd < cost.vmUsd;
  const model: RatioEvidence | null = cost.crossover === null ? null : { ratio: cost.crossover, lower: null, upper: null, n: 1, method: 'computed from the dated price tables (no sampling)' };
  // A crossover is a number of spikes a day, not a ratio: judged exactly, its interval columns stay empty.
  const out: Row[] = [row(crossover, 'model (AWS prices)', model, exactVerdict(holds), `Lambda ${cost.lambdaNoSpikesUsd.toFixed(4)} USD/day without spikes, VMs for the peak ${cost.vmUsd.toFixed(2)} USD/day`)];
  const self = CLAIMS.selfHostedMemory;
  const g = cost.memoryGiBs[GROUPED];
  const p = cost.memoryGiBs[PER_FUNCTION];
  if (g === undefined || p === undefined) {
    out.push(missingPresets(self, 'spiky', 'microfunctions'));
  } else {
    const e: RatioEvidence = { ratio: p / g, lower: null, upper: null, n: 1, method: 'one integral per preset in one run: no interval, no verdict' };
    out.push(row(self, 'microfunctions', e, ratioVerdict(e), `grouped ${g.toFixed(2)} GiB-s, per-function ${p.toFixed(2)} GiB-s`));
  }
  return out;
}

// ------------------------------------------------------------------ the cold-start ladder

/** The rungs, warmest first; a cold-start record's rung from its expected temperature and its worker's origin. */
export const RUNGS = ['warm', 'pool', 'cold worker', 'cold sandbox'] as const;

export function rungOf(r: RawRecord): (typeof RUNGS)[number] | null {
  const origin = r.call.platform?.records[0]?.workerOrigin;
  if (r.expectedTemperature === 'warm') return 'warm';
  if (r.expectedTemperature === 'cold-sandbox') return 'cold sandbox';
  if (r.expectedTemperature === 'cold-worker') return origin === 'pool' ? 'pool' : origin === 'spawn' ? 'cold worker' : null;
  return null;
}

/**
 * Per variant: each measured rung against the next measured one (a rung with no sample, e.g. no spawned worker
 * because the pool supplied them all, is named in the detail and skipped). The measured number is the smallest
 * adjacent ratio, the weakest step of the ladder.
 */
export function ladderRows(raw: readonly RawRecord[], seed: number): Row[] {
  const claim = CLAIMS.coldStartLadder;
  const rows = counted(raw, 'cold-start');
  if (rows.length === 0) return [row(claim, 'microfunctions', null, 'not measured', 'no cold-start records in this run')];
  return [...groupBy(rows, (r) => r.variant)].map(([variant, rs]) => {
    const byRung = RUNGS.map((rung) => ({ rung, xs: rs.filter((r) => rungOf(r) === rung).map(e2eMs).filter(Number.isFinite) }));
    const present = byRung.filter((b) => b.xs.length > 0);
    const absent = byRung.filter((b) => b.xs.length === 0).map((b) => b.rung);
    const steps = present.slice(1).map((b, i) => ({ from: present[i]!.rung, to: b.rung, e: medianRatio(present[i]!.xs, b.xs, seed + i) }));
    if (steps.length === 0) return row(claim, variant, null, 'not measured', `fewer than two rungs measured${absent.length > 0 ? ` (none: ${absent.join(', ')})` : ''}`);
    const weakest = steps.reduce((a, b) => ((b.e?.ratio ?? Infinity) < (a.e?.ratio ?? Infinity) ? b : a));
    const medians = present.map((b) => `${b.rung} ${median(b.xs).toFixed(1)} ms (n = ${b.xs.length})`).join(', ');
    const detail = `medians: ${medians}; weakest step ${weakest.from} → ${weakest.to}${absent.length > 0 ? `; no sample for: ${absent.join(', ')}` : ''}`;
    return row(claim, variant, weakest.e, combineVerdicts(steps.map((s) => ratioVerdict(s.e))), detail);
  });
}

/** The whole table, claims in the order of sources.ts. */
export function claimsTable(input: ClaimInput): Row[] {
  return [
    ...interactionLatencyRows(input.raw, input.seed),
    ...pipelineOverheadRows(input.raw),
    ...pipelineSpeedupRows(input.raw, input.seed),
    ...costRows(input.cost),
    ...ladderRows(input.raw, input.seed),
  ];
}
