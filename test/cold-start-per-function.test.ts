/**
 * The cold-start ladder under per-function sandboxing, quick size, embedded platform (real sandboxes): a
 * cold-worker request there starts a sandbox of its own, so after the warm-up round shows it the measured rounds skip
 * the rung; every measured cold-sandbox sample is confirmed by identity, and the headline series reach the gate's
 * minimum.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPERIMENTS } from '../dist/experiments/runner/registry.js';
import { COMPARE_DEFAULTS } from '../dist/report/compare/compare.js';
import type { RawRecord } from '../dist/report/run-dir.js';
import type { MetricRecord } from '../dist/report/types.js';
import { removeRun, runAndProcess } from './helpers/harness.js';

describe('cold-start, per-function preset', () => {
  let parent: string;
  let dir: string;
  let raw: RawRecord[];

  beforeAll(async () => {
    ({ parent, dir, raw } = await runAndProcess('mf-cs-pf-', {
      experiments: ['cold-start'],
      size: 'quick',
      seed: 3,
      variants: [{ platform: 'microfunctions', backend: 'process', preset: 'per-function' }],
    }));
  }, 480_000);

  afterAll(async () => {
    await removeRun(parent);
  });

  it('asks for a cold worker in the warm-up round only, and says why', async () => {
    const { rounds, coldWorkersPerRound, warmPerRound } = EXPERIMENTS['cold-start'].sizes.quick;
    const coldWorker = raw.filter((r) => r.expectedTemperature === 'cold-worker');
    expect(coldWorker.length).toBeGreaterThan(0);
    expect(coldWorker.every((r) => r.warmup)).toBe(true);
    // The first measured rounds' requests: one cold sandbox and the warm ones, no cold worker.
    expect(raw).toHaveLength(1 + coldWorker.length + warmPerRound + rounds * (1 + warmPerRound));
    expect(coldWorkersPerRound).toBeGreaterThan(0);
    const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as { experiments: Record<string, { notes: string[] }> };
    expect(summary.experiments['cold-start']!.notes.join('\n')).toMatch(/no cold-worker rung/);
  });

  it('confirms every measured cold sandbox by identity, enough for the gate', async () => {
    const { rounds } = EXPERIMENTS['cold-start'].sizes.quick;
    const cold = raw.filter((r) => r.expectedTemperature === 'cold-sandbox' && !r.warmup);
    expect(cold).toHaveLength(rounds);
    expect(cold.filter((r) => r.outcome === 'ok' && r.temperatureCheck === 'ok')).toHaveLength(rounds);
    const lines = (await readFile(join(dir, 'records.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as MetricRecord);
    const headline = lines.filter((m) => m.headline === true && m.outcome === 'ok' && m.warmup !== true);
    expect(headline.filter((m) => m.temperature === 'cold-sandbox').length).toBeGreaterThanOrEqual(COMPARE_DEFAULTS.minSamples);
    expect(headline.filter((m) => m.temperature === 'warm').length).toBeGreaterThanOrEqual(COMPARE_DEFAULTS.minSamples);
    // The cold-worker selector is grouped only: nothing of per-function is marked for it.
    expect(lines.some((m) => m.temperature === 'cold-worker' && m.headline === true)).toBe(false);
  });
});
