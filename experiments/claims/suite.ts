/**
 * The `claims` suite (docs/experiments.md#claims): the experiments behind the seeds' claims, on both presets, at sizes
 * of its own. Each headline series gets more than 20 measured samples (the report's threshold for a median interval,
 * and so for a verdict) in a few minutes on 2 cores; `--quick` is the smallest run that still fills every row (its
 * verdicts are mostly "descriptive only"), for tests and a first look.
 */
import { chainLength } from '../chain-length.js';
import { coldStart } from '../cold-start.js';
import { pipelineOverhead } from '../pipeline-overhead.js';
import { spiky } from '../spiky.js';
import type { Size } from '../../report/run-dir.js';

export const CLAIMS_EXPERIMENTS = ['cold-start', 'chain-length', 'pipeline-overhead', 'spiky'] as const;

/** The presets a claim compares (SAND's grouped sandboxing against a sandbox per function). */
export const CLAIMS_PRESETS = ['grouped', 'per-function'] as const;

/** The four-stage image pipeline of the NFV paper's Fig. 2 (with ingest and store stages: 6 Tasks). */
const IMAGE_PIPELINE = { workload: 'image-pipeline', size: 'small', workflow: 'sequential', stages: 6 } as const;

export const CLAIMS_CONFIGS: Readonly<Record<Size, Readonly<Record<(typeof CLAIMS_EXPERIMENTS)[number], object>>>> = {
  full: {
    // 21 rounds: 21 cold sandboxes, 21 pooled workers and 42 warm requests per preset, the fewest that give every rung
    // an interval; the cold sandboxes are most of its time (2.4 s each at load 20 on 2 cores).
    'cold-start': { ...coldStart.sizes.quick, rounds: 21, coldWorkersPerRound: 1, warmPerRound: 2 },
    // The per-hop estimate needs only the shortest and the longest chain.
    'chain-length': { ...chainLength.sizes.quick, lengths: [1, 8], warmup: 5, executions: 40 },
    'pipeline-overhead': { ...pipelineOverhead.sizes.quick, pipelines: [IMAGE_PIPELINE], warmup: 2, executions: 21 },
    // The self-hosted panel of Fig. 4 needs the spiky samples, not a long schedule.
    spiky: spiky.sizes.quick,
  },
  quick: {
    'cold-start': { ...coldStart.sizes.quick, rounds: 2, coldWorkersPerRound: 1, warmPerRound: 5, pauseMs: 100 },
    'chain-length': { ...chainLength.sizes.quick, lengths: [1, 4], warmup: 2, executions: 8 },
    'pipeline-overhead': { ...pipelineOverhead.sizes.quick, pipelines: [IMAGE_PIPELINE], warmup: 1, executions: 2 },
    // One spike (file seconds 120-180) at the quick size's scales: 5 s of schedule.
    spiky: { ...spiky.sizes.quick, fromS: 100, toS: 200, warmup: 2, tailMs: 3000 },
  },
};
