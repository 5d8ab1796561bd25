/**
 * Why a preset falls behind, from the run's own records: the processing step on real run directories gives the
 * throughput timeline and spiky's scaling table (CSV and figure), whose cold starts and sandboxes agree with the raw
 * records. test/fixtures/scaling-run is the throughput part of a real quick run (both presets, the unloaded phase and
 * the 25/s step, where per-function falls behind); test/fixtures/harness-run holds a real spiky run.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processRun, toCsv, type ProcessResult } from '../dist/report/process.js';
import { readRun, type RawRecord } from '../dist/report/run-dir.js';
import { EXPERIMENTS, findExperiment } from '../dist/experiments/runner/registry.js';
import type { MetricRecord, Row } from '../dist/report/types.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');

/** What the raw records themselves say for one variant: cold records by temperature, distinct sandboxes. */
function fromRecords(raw: readonly RawRecord[]) {
  const recs = raw.flatMap((r) => r.call.platform?.records ?? []);
  return {
    coldSandbox: recs.filter((r) => r.temperature === 'cold-sandbox').length,
    coldWorker: recs.filter((r) => r.temperature === 'cold-worker').length,
    sandboxes: new Set(recs.map((r) => r.sandboxId)).size,
  };
}

const sum = (rows: Row[], f: string): number => rows.reduce((n, r) => n + Number(r[f]), 0);
const max = (rows: Row[], f: string): number => Math.max(...rows.map((r) => Number(r[f])));

function checkAgainstRecords(rows: Row[], raw: readonly RawRecord[]): void {
  const truth = fromRecords(raw);
  expect(sum(rows, 'cold_sandbox')).toBe(truth.coldSandbox);
  expect(sum(rows, 'cold_worker')).toBe(truth.coldWorker);
  expect(max(rows, 'sandboxes_created')).toBe(truth.sandboxes);
  expect(sum(rows, 'requests')).toBe(raw.length);
  for (const r of rows) {
    expect(Number(r.sandboxes_in_use)).toBeLessThanOrEqual(Number(r.sandboxes_created));
    expect(Number(r.end_s) - Number(r.start_s)).toBeGreaterThan(0);
  }
  // Windows follow each other without gaps, so that a chart's time axis has no holes.
  for (let i = 1; i < rows.length; i++) expect(rows[i]!.start_s).toBe(rows[i - 1]!.end_s);
}

describe('scaling over time, from the records', () => {
  let dir: string;
  let result: ProcessResult;
  let raw: RawRecord[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mf-scaling-'));
    await cp(join(FIXTURES, 'scaling-run'), dir, { recursive: true });
    result = await processRun(dir, findExperiment);
    raw = readRun(dir).raw;
  }, 120_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('throughput: the timeline CSV agrees with the records, per variant', async () => {
    expect(result.csv).toContain('csv/throughput.timeline.csv');
    const run = readRun(dir);
    const rows = EXPERIMENTS.throughput.process(raw, run.manifest.experiments[0]!.config as never).tables.timeline!;
    // The CSV is that table, as written by the processing step.
    expect(await readFile(join(dir, 'csv', 'throughput.timeline.csv'), 'utf8')).toBe(toCsv(rows));
    const variants = [...new Set(raw.map((r) => r.variant))];
    expect(variants).toHaveLength(2);
    for (const v of variants) checkAgainstRecords(rows.filter((r) => r.variant === v), raw.filter((r) => r.variant === v));
    // The design made visible: at the same 25/s, per-function started many sandboxes, grouped one.
    const created = (preset: string) => max(rows.filter((r) => r.preset === preset), 'sandboxes_created');
    expect(created('grouped')).toBe(1);
    expect(created('per-function')).toBeGreaterThan(4);
  });

  it('throughput: the figure shows latency, sandboxes in use and cold starts over time', async () => {
    const spec = await readFile(join(dir, 'figures', 'fig-throughput.vl.json'), 'utf8');
    for (const title of ['Latency over time', 'Sandboxes in use', 'Cold starts begun']) expect(spec).toContain(title);
    const svg = await readFile(join(dir, 'figures', 'fig-throughput.svg'), 'utf8');
    expect(svg).toContain('Cold starts per window');
    const html = await readFile(result.report, 'utf8');
    expect(html).toContain('throughput.timeline.csv');
  });

  it('marks the unloaded warm latency as the headline series, in the stream and the report', async () => {
    const lines = (await readFile(join(dir, 'records.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as MetricRecord);
    const headline = lines.filter((m) => m.headline === true);
    expect(headline.length).toBeGreaterThan(0);
    for (const m of headline) expect([m.metric, m.temperature, m.labels?.phase, m.labels?.rate]).toEqual(['client_latency_ms', 'warm', 'unloaded', 0]);
    expect(lines.some((m) => m.labels?.phase === 'sweep' && m.headline === true)).toBe(false);
    const html = await readFile(result.report, 'utf8');
    expect(html).toContain('Series for the regression gate');
    expect(html).toContain('client_latency_ms warm phase=unloaded rate=0');
  });

  it('spiky: the scaling table agrees with the records, per variant', () => {
    const run = readRun(join(FIXTURES, 'harness-run'));
    const entry = run.manifest.experiments.find((e) => e.name === 'spiky')!;
    const spikyRaw = run.raw.filter((r) => r.experiment === 'spiky');
    const processed = EXPERIMENTS.spiky.process(spikyRaw, entry.config as never);
    const rows = processed.tables.scaling!;
    for (const v of [...new Set(spikyRaw.map((r) => r.variant))]) {
      const requests = spikyRaw.filter((r) => r.variant === v && r.labels.record !== 'sample');
      const mine = rows.filter((r) => r.variant === v);
      expect(mine.length).toBeGreaterThan(0);
      checkAgainstRecords(mine, requests);
    }
    expect(JSON.stringify(EXPERIMENTS.spiky.chart(processed, entry.config as never))).toContain('Cold starts per window');
  });
});
