/**
 * The experiments by name, and the suites. `mfbench run`'s experiment choices come from these keys
 * (`ExperimentName = keyof typeof EXPERIMENTS`), so a new experiment is one file under experiments/ and one entry
 * here (docs/experiments.md#adding-an-experiment).
 */
import { MfError } from '../../platform/errors.js';
import { chainLength } from '../chain-length.js';
import { chaos } from '../chaos.js';
import { claimsStep } from '../claims/step.js';
import { CLAIMS_CONFIGS, CLAIMS_EXPERIMENTS, CLAIMS_PRESETS } from '../claims/suite.js';
import { costModelStep } from '../cost-model.js';
import { coldStart } from '../cold-start.js';
import { density } from '../density.js';
import { multiHost } from '../multi-host.js';
import { pipelineOverhead } from '../pipeline-overhead.js';
import { sessions } from '../sessions.js';
import { spiky } from '../spiky.js';
import { throughput } from '../throughput.js';
import type { AnyExperiment } from './types.js';
import type { Size, StoredRun } from '../../report/run-dir.js';
import type { RunStep } from '../../report/types.js';

export const EXPERIMENTS = {
  'cold-start': coldStart,
  'chain-length': chainLength,
  throughput,
  'pipeline-overhead': pipelineOverhead,
  density,
  spiky,
  sessions,
  'multi-host': multiHost,
  chaos,
} as const satisfies Record<string, AnyExperiment>;

export type ExperimentName = keyof typeof EXPERIMENTS;
export const EXPERIMENT_NAMES = Object.keys(EXPERIMENTS) as ExperimentName[];

/** A named set of experiments `mfbench run <suite>` runs, in order. */
export interface Suite {
  experiments: readonly ExperimentName[];
  /** The size it always runs at; unset: `--quick` chooses (full otherwise). */
  size?: Size;
  /** The presets it runs on when `--preset` is not given. */
  presets?: readonly string[];
  /** Per size, configs of its own that replace an experiment's size config (the manifest records what ran). */
  configs?: Readonly<Record<Size, Readonly<Partial<Record<ExperimentName, object>>>>>;
}

export const SUITES: Readonly<Record<string, Suite>> = {
  // `sessions`, `multi-host` and `chaos` stay out of quick, which `npm start` runs and which must stay near 2.5
  // minutes: their quick sizes add ~40 s, ~2 min and ~2 min, and the last two need a nats-server (docs/experiments.md).
  quick: { experiments: EXPERIMENT_NAMES.filter((n) => n !== 'sessions' && n !== 'multi-host' && n !== 'chaos'), size: 'quick' },
  full: { experiments: EXPERIMENT_NAMES },
  claims: { experiments: CLAIMS_EXPERIMENTS, presets: CLAIMS_PRESETS, configs: CLAIMS_CONFIGS },
};

/**
 * The run-level processing steps, in report order: the claims table of any run that measured a claim's experiment,
 * and the cost model of any run that measured spiky (fed that run's samples).
 */
export const RUN_STEPS: readonly RunStep<StoredRun>[] = [claimsStep, costModelStep];

export function isExperimentName(name: string): name is ExperimentName {
  return Object.hasOwn(EXPERIMENTS, name);
}

/**
 * The experiment of that name, or undefined: the lookup the processing step (report/process.ts) takes, which skips
 * the entries of an experiment since removed from the registry.
 */
export function findExperiment(name: string): AnyExperiment | undefined {
  return isExperimentName(name) ? EXPERIMENTS[name] : undefined;
}

export function getExperiment(name: string): AnyExperiment {
  if (!isExperimentName(name)) {
    throw new MfError('MF_BAD_REQUEST', `no experiment named "${name}" (known: ${EXPERIMENT_NAMES.join(', ')}; suites: ${Object.keys(SUITES).join(', ')})`, {
      experiment: name,
    });
  }
  return EXPERIMENTS[name];
}
