import { describe, expect, it } from 'vitest';
import { CLAIMS_CONFIGS, CLAIMS_EXPERIMENTS } from '../../experiments/claims/suite.js';
import { EXPERIMENT_NAMES } from '../../experiments/runner/registry.js';
import { UsageError } from '../lib/output.js';
import { expandTargets } from './run.js';

describe('expandTargets: experiments and suites', () => {
  it.each([
    [['cold-start', 'spiky'], ['cold-start', 'spiky'], null],
    [['quick'], EXPERIMENT_NAMES.filter((e) => e !== 'sessions' && e !== 'multi-host' && e !== 'chaos'), 'quick'],
    [['full'], EXPERIMENT_NAMES, 'full'],
    [['claims'], CLAIMS_EXPERIMENTS, 'claims'],
    [['spiky', 'claims'], ['spiky', ...CLAIMS_EXPERIMENTS.filter((e) => e !== 'spiky')], 'claims'],
  ] as const)('%j', (targets, experiments, suite) => {
    const r = expandTargets(targets);
    expect(r.experiments).toEqual([...experiments]);
    expect(r.suite?.name ?? null).toBe(suite);
  });

  it('quick fixes its size; full and claims leave it to --quick; claims brings its presets and configs', () => {
    expect(expandTargets(['quick']).suite?.size).toBe('quick');
    expect(expandTargets(['full']).suite?.size).toBeUndefined();
    const claims = expandTargets(['claims']).suite;
    expect(claims?.size).toBeUndefined();
    expect(claims?.presets).toEqual(['grouped', 'per-function']);
    expect(claims?.configs).toBe(CLAIMS_CONFIGS);
  });

  it('a name that is neither is a usage error naming both lists', () => {
    expect(() => expandTargets(['claimz'])).toThrow(UsageError);
    expect(() => expandTargets(['claimz'])).toThrow(/suite \(quick, full, claims\)/);
  });
});
