/**
 * The experiments by name, and the suites. `mfbench run`'s experiment choices come from these keys
 * (`ExperimentName = keyof typeof EXPERIMENTS`), so a new experiment is one file under experiments/ and one entry
 * here (docs/experiments.md#adding-an-experiment).
 */
import { MfError } from '../../platform/errors.js';
import { chainLength } from '../chain-length.js';
import { coldStart } from '../cold-start.js';
import { density } from '../density.js';
import { pipelineOverhead } from '../pipeline-overhead.js';
import { sessions } from '../sessions.js';
import { spiky } from '../spiky.js';
import { throughput } from '../throughput.js';
import type { AnyExperiment } from './types.js';
import type { Size } from '../../report/run-dir.js';

export const EXPERIMENTS = {
  'cold-start': coldStart,
  'chain-length': chainLength,
  throughput,
  'pipeline-overhead': pipelineOverhead,
  density,
  spiky,
  sessions,
} as const satisfies Record<string, AnyExperiment>;

export type ExperimentName = keyof typeof EXPERIMENTS;
export const EXPERIMENT_NAMES = Object.keys(EXPERIMENTS) as ExperimentName[];

/**
 * A suite runs its experiments, in registry order, at the suite's size. `sessions` is left out of `quick`, which
 * `npm start` runs and which must stay near 2.5 minutes: its quick size adds ~30 s (docs/experiments.md).
 */
export const SUITES: Readonly<Record<Size, readonly ExperimentName[]>> = {
  quick: EXPERIMENT_NAMES.filter((n) => n !== 'sessions'),
  full: EXPERIMENT_NAMES,
};

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
