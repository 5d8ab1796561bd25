/**
 * spiky and cost-model: the cost formulas pinned on hand-computed values, the replayed schedule and the resource
 * integrals on fixed inputs, the cost-model figure from the fixture run (test/fixtures/harness-run holds a trimmed real
 * quick spiky run), and an end-to-end quick spiky run on the embedded platform for both presets.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COST_MODEL_CONFIG, crossover, lambdaDailyCost, readPrices, runCostModel, vmCapacity, vmDailyCost, type AwsPrices } from '../dist/experiments/cost-model.js';
import { spiky, spikySchedule, usageFromRaw } from '../dist/experiments/spiky.js';
import { PNG_SCALE } from '../dist/report/charts/render.js';
import type { RawRecord } from '../dist/report/run-dir.js';
import { removeRun, runAndProcess } from './helpers/harness.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'harness-run');
const lambda = { requestPerMillion: { value: 0.2, status: 'x', source: 'x' }, gbSecond: { value: 0.0000166667, status: 'x', source: 'x' } };
const w = { functionMs: 100, memoryGB: 2, baseRps: 1, spikeRps: 1000, spikeSeconds: 60 };
const c5 = { vcpus: 2, memoryGiB: 4, hourly: 0.085 };

describe('cost-model (a): formulas', () => {
  it('Lambda: 86,400 requests of 100 ms at 2 GB cost 0.01728 + 0.288000576 = 0.305280576 USD', () => {
    const c = lambdaDailyCost(w, 0, lambda);
    expect(c.requests).toBe(86_400);
    expect(c.gbSeconds).toBeCloseTo(17_280, 9);
    expect(c.requestCost).toBeCloseTo(0.01728, 12);
    expect(c.durationCost).toBeCloseTo(0.288000576, 12);
    expect(c.total).toBeCloseTo(0.305280576, 12);
  });

  it('one spike of +1000 req/s for 60 s adds 60,000 requests: 0.2120004 USD', () => {
    expect(lambdaDailyCost(w, 1, lambda).requests).toBe(146_400);
    expect(lambdaDailyCost(w, 1, lambda).total - lambdaDailyCost(w, 0, lambda).total).toBeCloseTo(0.2120004, 10);
  });

  it('a c5.large serves 14 req/s (CPU 2 x 10 x 0.7; memory 2 x 10 = 20); the 1001 req/s peak needs 72 VMs: 146.88 USD/day', () => {
    expect(vmCapacity(w, c5, 0.7)).toEqual({ cpuBound: 14, memoryBound: 20, perVm: 14 });
    expect(vmDailyCost(w, 5, c5, 0.7)).toEqual({ vms: 72, total: 72 * 0.085 * 24 });
    expect(vmDailyCost(w, 0, c5, 0.7).vms).toBe(1); // no spike: the base rate alone
  });

  it('the crossover is (146.88 - 0.305280576) / 0.2120004 spikes a day', () => {
    expect(crossover(w, lambda, c5, 0.7)).toBeCloseTo((146.88 - 0.305280576) / 0.2120004, 6);
    expect(crossover(w, lambda, { ...c5, hourly: 100 }, 0.7)).toBeNull(); // beyond one spike a minute: never
  });

  it('the shipped price table has every price with a source and a status', () => {
    const p = readPrices<AwsPrices>(COST_MODEL_CONFIG.prices).data;
    for (const price of [p.lambda.requestPerMillion, p.lambda.gbSecond, p.ec2['c5.large']!]) {
      expect(price.source.length).toBeGreaterThan(10);
      expect(['cited', 'third-party', 'unverified']).toContain(price.status);
    }
    expect(p.lambda.gbSecond.value).toBe(0.0000166667);
    expect(p.ec2['c5.large']!.hourly).toBe(0.085);
  });
});

describe('spiky: schedule and resource integrals', () => {
  const quick = spiky.sizes.quick;

  it('replays nfv-spike compressed and scaled, deterministically in the seed', () => {
    const a = spikySchedule(quick, 3);
    expect(a.offsetsMs).toEqual(spikySchedule(quick, 3).offsetsMs);
    expect(a.offsetsMs).not.toEqual(spikySchedule(quick, 4).offsetsMs);
    expect(a.durationMs).toBeCloseTo((quick.toS - quick.fromS) * quick.timeScale * 1000, 9);
    expect(a.baseline).toBe(1);
    const spikes = a.phases.filter((p) => p.label.startsWith('spike'));
    // nfv-spike: spikes at [120, 180) and [360, 420) s of the file; 50 req/s -> 1 + 49 x spikeScale.
    expect(spikes.map((p) => [p.startMs, p.endMs])).toEqual([
      [(120 - quick.fromS) * quick.timeScale * 1000, (180 - quick.fromS) * quick.timeScale * 1000],
      [(360 - quick.fromS) * quick.timeScale * 1000, (420 - quick.fromS) * quick.timeScale * 1000],
    ].map(([x, y]) => [expect.closeTo(x!, 9), expect.closeTo(y!, 9)]));
    expect(spikes[0]!.label).toBe(`spike 1: ${1 + 49 * quick.spikeScale} req/s`);
  });

  it('integrates samples as steps, clipped to the span, and counts idle memory only when nothing is in flight', () => {
    const GiB = 1024 ** 3;
    const rec = (over: Partial<RawRecord> & { labels: RawRecord['labels']; at: number; end?: number }): RawRecord =>
      ({
        seq: 0, experiment: 'spiky', platform: 'microfunctions', backend: 'process', preset: 'grouped', variant: 'v', temperature: null, expectedTemperature: null,
        temperatureCheck: 'unchecked', warmup: false, outcome: 'ok', labels: over.labels,
        call: { kind: 'invocation', target: 'x', client: { intendedSend: over.at, actualSend: over.at, receive: over.end ?? over.at }, platform: null, outcome: { state: 'ok' }, requestBytes: 0 },
      }) as RawRecord;
    const t0 = 1_000_000;
    const sample = (ms: number, sandboxes: number, workers: number, gib: number) => rec({ at: t0 + ms, labels: { record: 'sample', offset_ms: ms, sandboxes, workers, pss_bytes: gib * GiB } });
    const raw = [
      sample(0, 1, 1, 1), // [0, 1000): 1 GiB, busy (a request 500-1500)
      sample(1000, 2, 3, 2), // [1000, 3000): 2 GiB; busy until 1500 -> not idle
      sample(3000, 0, 0, 0), // [3000, 4000): nothing
      sample(4000, 1, 1, 0.5),
      rec({ at: t0 + 500, end: t0 + 1500, labels: { record: 'request' } }),
    ];
    const [u] = usageFromRaw(raw);
    expect(u).toMatchObject({ spanS: 4, nodeS: 3, sandboxS: 1 + 4, workerS: 1 + 6, memoryGiBs: 1 + 4, idleMemoryGiBs: 0, peakPssMiB: 2048 });
    // Clipped to [0, 2000] ms: 1 s at 1 GiB + 1 s at 2 GiB.
    expect(usageFromRaw(raw, { fromMs: 0, toMs: 2000 })[0]).toMatchObject({ spanS: 2, memoryGiBs: 3 });
    // Without the request, the whole memory is idle.
    expect(usageFromRaw(raw.slice(0, 4))[0]!.idleMemoryGiBs).toBe(5);
  });
});

describe('cost-model: the figure from the fixture run', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mfh-cost-'));
    await cp(FIXTURE, dir, { recursive: true });
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('renders (a) and (b) to a non-empty SVG and PNG, with both presets priced', async () => {
    const out = await runCostModel({ from: dir });
    const svg = await readFile(out.svg, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('crossover');
    const m = /<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"/.exec(svg)!;
    const meta = await sharp(await readFile(out.png)).metadata();
    expect(meta.width).toBe(Math.round(Number(m[1]) * PNG_SCALE));
    expect(meta.height).toBe(Math.round(Number(m[2]) * PNG_SCALE));
    expect((await sharp(await readFile(out.png)).stats()).channels[0]!.stdev).toBeGreaterThan(5);
    const rows = (await readFile(join(dir, 'csv', 'cost-model.selfHosted.csv'), 'utf8')).trim().split('\n');
    expect(rows).toHaveLength(3); // header + grouped + per-function
    const provenance = JSON.parse(await readFile(join(dir, 'cost-model.json'), 'utf8'));
    expect(provenance.prices[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(provenance.from.runId).toMatch(/run-/);
  }, 60_000);

  it('refuses a run without spiky records, naming it', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'mfh-cost-empty-'));
    try {
      const m = JSON.parse(await readFile(join(FIXTURE, 'manifest.json'), 'utf8'));
      const { writeFile } = await import('node:fs/promises');
      await writeFile(join(empty, 'manifest.json'), JSON.stringify(m));
      await writeFile(join(empty, 'raw.jsonl'), '');
      await expect(runCostModel({ from: empty })).rejects.toThrow(/holds no spiky records/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('spiky end to end: quick, embedded platform, both presets', () => {
  let parent: string;
  let dir: string;
  let raw: RawRecord[];

  beforeAll(async () => {
    ({ parent, dir, raw } = await runAndProcess('mfh-spiky-', {
      experiments: ['spiky'],
      size: 'quick',
      seed: 5,
      variants: [
        { platform: 'microfunctions', backend: 'process', preset: 'grouped' },
        { platform: 'microfunctions', backend: 'process', preset: 'per-function' },
      ],
    }));
  }, 300_000);

  afterAll(async () => {
    await removeRun(parent);
  });

  it('stores every scheduled request with its drift flag, and the samples apart', () => {
    const schedule = spikySchedule(spiky.sizes.quick, 5);
    for (const preset of ['grouped', 'per-function']) {
      const mine = raw.filter((r) => r.preset === preset);
      const requests = mine.filter((r) => r.labels.record === 'request' && !r.warmup);
      expect(requests).toHaveLength(schedule.offsetsMs.length);
      for (const r of requests) expect(typeof r.labels.drift).toBe('boolean');
      expect(mine.filter((r) => r.warmup)).toHaveLength(spiky.sizes.quick.warmup);
      const samples = mine.filter((r) => r.labels.record === 'sample');
      // ~250 ms apart over the schedule and the tail; a loaded machine gets fewer.
      expect(samples.length).toBeGreaterThan(10);
      expect(samples.every((s) => s.labels.keep_alive_s === spiky.sizes.quick.keepAliveSeconds)).toBe(true);
      expect(Math.max(...samples.map((s) => Number(s.labels.sandboxes)))).toBeGreaterThan(0);
      expect(Math.max(...samples.map((s) => Number(s.labels.pss_bytes)))).toBeGreaterThan(10 * 1024 * 1024);
    }
  });

  it('shows reclaiming: keep-alive 2 s, and no sandbox is left at the end of the tail', async () => {
    const samples = (await readFile(join(dir, 'csv', 'spiky.samples.csv'), 'utf8')).trim().split('\n');
    expect(samples.length).toBeGreaterThan(20);
    const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')).experiments.spiky.summary;
    for (const s of summary) {
      expect(s.keep_alive_s).toBe(2);
      expect(s.max_sandboxes).toBeGreaterThanOrEqual(1);
      expect(typeof s.drift).toBe('boolean');
      expect(s.send_skew_ms_p99).toBeGreaterThanOrEqual(0); // the load generator's lateness, printed beside the drift flag
    }
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.experiments[0].config.keepAliveSeconds).toBe(2);
    // The grouped preset reclaims its one sandbox once the load is gone (per-function may still be draining a backlog).
    expect(summary.find((s: { preset: string }) => s.preset === 'grouped').sandboxes_at_end).toBe(0);
  });

  it('writes the per-window summaries over the whole schedule', async () => {
    const lines = (await readFile(join(dir, 'csv', 'spiky.windows.csv'), 'utf8')).trim().split('\n');
    const header = lines[0]!.split(',');
    expect(header).toEqual(expect.arrayContaining(['start_s', 'offered_per_s', 'requests', 'p50_ms', 'p99_ms']));
    const q = spiky.sizes.quick;
    const perPreset = Math.ceil(((q.toS - q.fromS) * q.timeScale * 1000) / q.windowMs);
    expect(lines.length - 1).toBeGreaterThanOrEqual(2 * perPreset);
    const counts = lines.slice(1).map((l) => Number(l.split(',')[header.indexOf('requests')]));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(2 * spikySchedule(q, 5).offsetsMs.length);
  });
});
