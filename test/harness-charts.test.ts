/**
 * Every experiment's figure renders from stored records alone (no platform): the processing step on a fixture run
 * directory (test/fixtures/harness-run: a real quick run, trimmed) gives a non-empty SVG and a PNG of exactly
 * PNG_SCALE times the SVG's size, valid metric-stream lines, and the same CSV every time.
 */
import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processRun, type ProcessResult } from '../dist/report/process.js';
import { EXPERIMENT_NAMES, findExperiment } from '../dist/experiments/runner/registry.js';
import { PNG_SCALE } from '../dist/report/charts/render.js';
import { metricRecordProblem } from '../dist/report/compare/stream.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'harness-run');

describe('figures from stored records', () => {
  let dir: string;
  let result: ProcessResult;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mfh-charts-'));
    await cp(FIXTURE, dir, { recursive: true });
    result = await processRun(dir, findExperiment);
  }, 60_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('has a fixture for every registered experiment', () => {
    expect(result.figures.map((f) => f.experiment).sort()).toEqual([...EXPERIMENT_NAMES].sort());
  });

  it.each(EXPERIMENT_NAMES.map((n) => [n]))('%s renders to a non-empty SVG and a PNG of the expected size', async (name) => {
    const fig = result.figures.find((f) => f.experiment === name);
    expect(fig).toBeDefined();
    const svg = await readFile(fig!.svg, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.length).toBeGreaterThan(2000);
    expect(svg).toContain('<text'); // titles, axes and legends are text, not missing
    expect(fig!.width).toBeGreaterThan(300);
    expect(fig!.height).toBeGreaterThan(200);
    const meta = await sharp(await readFile(fig!.png)).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBe(Math.round(fig!.width * PNG_SCALE));
    expect(meta.height).toBe(Math.round(fig!.height * PNG_SCALE));
    // Not a blank image: a rendered chart has many distinct pixel values.
    const stats = await sharp(await readFile(fig!.png)).stats();
    expect(stats.channels[0]!.stdev).toBeGreaterThan(5);
  });

  it('writes only valid metric-stream lines', async () => {
    const lines = (await readFile(join(dir, 'records.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(metricRecordProblem(JSON.parse(line))).toBeNull();
  });

  it('gives the same CSV when processed again', async () => {
    const names = (await readdir(join(dir, 'csv'))).sort();
    const first = await Promise.all(names.map((n) => readFile(join(dir, 'csv', n), 'utf8')));
    await processRun(dir, findExperiment);
    const second = await Promise.all(names.map((n) => readFile(join(dir, 'csv', n), 'utf8')));
    expect(second).toEqual(first);
  });
});
