/**
 * noop-chain: a sequence of N Task states, each running its own function (step1..stepN) that returns its event.
 * One function per step (all sharing one code folder) is deliberate: the first execution then starts a worker for
 * every step, so its temperatures are cold-sandbox for step 1 and cold-worker for steps 2..N (with workers started on
 * first use), and later executions are warm throughout. A single shared function would make steps 2..N warm at once.
 */
import { join } from 'node:path';
import type { AppManifest } from '../../platform/manifest.js';
import { checkKnownParams, intParam, jsonDiff, sizeOf } from '../params.js';
import { workloadDir } from '../paths.js';
import { randomString, seededRandom } from '../random.js';
import type { Workload, WorkloadParams } from '../types.js';

export interface NoopChainInput {
  n: number;
  payload?: string;
}

export const NOOP_CHAIN_DEFAULT_LENGTH = 5;
export const NOOP_CHAIN_MAX_LENGTH = 100;

const SIZES = {
  tiny: { payloadBytes: 0 },
  small: { payloadBytes: 64 },
  medium: { payloadBytes: 16 * 1024 },
  large: { payloadBytes: 1024 * 1024 },
} as const;

/** The state name of step i (1-based). */
export function noopStateName(i: number): string {
  return `Step${i}`;
}

export const noopChain: Workload<NoopChainInput, NoopChainInput> = {
  name: 'noop-chain',
  description: 'A chain of N Task states (one function per step) that pass their input on unchanged: per-hop overhead.',
  sizes: SIZES,
  params: { length: { description: `number of Task states (1..${NOOP_CHAIN_MAX_LENGTH})`, default: NOOP_CHAIN_DEFAULT_LENGTH } },
  workflow: 'main',

  app(params: WorkloadParams = {}): AppManifest {
    checkKnownParams('noop-chain', params, ['length']);
    const length = intParam('noop-chain', params, 'length', NOOP_CHAIN_DEFAULT_LENGTH, 1, NOOP_CHAIN_MAX_LENGTH);
    const dir = join(workloadDir('noop-chain'), 'functions', 'noop');
    const functions = Array.from({ length }, (_, k) => ({ name: `step${k + 1}`, handler: 'index.handler', code: { dir } }));
    const states: Record<string, unknown> = {};
    for (let i = 1; i <= length; i++) {
      states[noopStateName(i)] = i < length
        ? { Type: 'Task', Resource: `step${i}`, Next: noopStateName(i + 1) }
        : { Type: 'Task', Resource: `step${i}`, End: true };
    }
    return {
      name: 'noop-chain',
      functions,
      workflows: { main: { Comment: `noop-chain: ${length} Task states`, StartAt: noopStateName(1), States: states } },
    };
  },

  generateInput(size: string, seed: number): NoopChainInput {
    const { payloadBytes } = sizeOf('noop-chain', SIZES, size);
    const rand = seededRandom(seed);
    const n = Math.floor(rand() * 1_000_000);
    return payloadBytes === 0 ? { n } : { n, payload: randomString(rand, payloadBytes) };
  },

  validateOutput(input: NoopChainInput, output: unknown) {
    // Every step returns its event, so the chain's output is its input.
    return jsonDiff(input, output);
  },
};
