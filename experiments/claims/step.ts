/**
 * The claims step: a run-level processing step (report/process.ts) that writes the claims table of every run that
 * measured one of the claims' experiments: csv/claims.summary.csv, claims.json (the table with the claims' sources
 * and the allowed verdicts) and the first section of the HTML report. It feeds the cost model this run's spiky data.
 */
import { costModelSection } from '../cost-model.js';
import { CLAIMS } from './sources.js';
import { CLAIMS_EXPERIMENTS } from './suite.js';
import { claimsTable, type CostFindings } from './table.js';
import { VERDICTS } from './verdict.js';
import type { StoredRun } from '../../report/run-dir.js';
import type { Row, RunSection, RunStep } from '../../report/types.js';

const num = (v: Row[string] | undefined): number | null => (typeof v === 'number' ? v : null);

/** The cost model's findings the claims read, from its section over this run. */
export function costFindings(cost: RunSection): CostFindings {
  const item = (name: string) => num(cost.tables.summary.find((r) => r.model === 'a' && r.item === name)?.value);
  const memoryGiBs: Record<string, number> = {};
  for (const r of cost.tables.selfHosted ?? []) {
    const v = num(r.memory_gib_s);
    if (typeof r.preset === 'string' && v !== null) memoryGiBs[r.preset] = v;
  }
  return { crossover: item('crossover_spikes_per_day'), lambdaNoSpikesUsd: item('lambda_usd_per_day_no_spikes') ?? NaN, vmUsd: item('vm_usd_per_day') ?? NaN, memoryGiBs };
}

export function claimsSection(run: StoredRun): RunSection {
  const rows = claimsTable({ raw: run.raw, seed: run.manifest.seed, cost: costFindings(costModelSection(run)) });
  const count = (v: string) => rows.filter((r) => r.verdict === v).length;
  return {
    id: 'claims',
    title: 'Claims: what the seeds claim, what this run measured',
    caption:
      'One row per claim and scope: the number this run measured (a ratio expected above 1, with its 95% interval where every sample behind it has more than 20 values), ' +
      'the number claimed in the source where it states one, the source, and whether the direction reproduced: reproduced (interval above 1), not reproduced (below 1), ' +
      'inconclusive (across 1), descriptive only (too few samples for an interval), not measured (this run lacks the experiment or a preset), not configured (a remote platform the run had none of).',
    tables: { summary: rows },
    notes: [
      `${rows.length} rows: ${VERDICTS.map((v) => `${count(v)} ${v}`).join(', ')}.`,
      'The verdicts rest on 95% intervals, never on the point estimate alone; on a shared machine a verdict can move between runs, the direction of a clear effect should not.',
    ],
    json: { runId: run.manifest.runId, seed: run.manifest.seed, verdicts: VERDICTS, claims: Object.values(CLAIMS), rows },
  };
}

export const claimsStep: RunStep<StoredRun> = {
  id: 'claims',
  process: (run) => (run.raw.some((r) => (CLAIMS_EXPERIMENTS as readonly string[]).includes(r.experiment)) ? claimsSection(run) : null),
};
