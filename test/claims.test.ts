/**
 * The claims suite end to end: `mfbench run claims --quick` as a user runs it (a real CLI process, the embedded platform
 * on the process backend, both presets), then the run directory's claims table: one row per claim (and scope), each
 * verdict an allowed one, the Fig. 2 rows of unconfigured remote platforms saying so, the cost model's self-hosted
 * panel fed by the run's own spiky samples, and the same table again from `mfbench report`. Never the verdicts
 * themselves: the machine is shared and noisy.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAIMS } from '../dist/experiments/claims/sources.js';
import { CLAIMS_CONFIGS, CLAIMS_EXPERIMENTS } from '../dist/experiments/claims/suite.js';
import { VERDICTS } from '../dist/experiments/claims/verdict.js';
import { findExperiment, RUN_STEPS } from '../dist/experiments/runner/registry.js';
import { processRun } from '../dist/report/process.js';
import type { HarnessManifest, StoredRun } from '../dist/report/run-dir.js';
import type { RunStep } from '../dist/report/types.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');
const RUN_TIMEOUT_MS = 240_000;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MFBENCH_'))) as Record<string, string>;
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { cwd: ROOT, env, timeout: RUN_TIMEOUT_MS, maxBuffer: 64 * 2 ** 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

type Row = Record<string, string | number | null>;

describe('mfbench run claims --quick (process backend, both presets)', () => {
  let parent: string;
  let dir: string;
  let out: { runDir: string; status: string; experiments: Array<{ name: string; status: string }>; summaries: Record<string, { summary: Row[] }> };
  let rows: Row[];

  beforeAll(async () => {
    parent = await mkdtemp(join(tmpdir(), 'mfbench-claims-'));
    dir = join(parent, 'run');
    const r = await cli(['run', 'claims', '--quick', '--backend', 'process', '--out', dir, '--json']);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    out = JSON.parse(r.stdout.trim()) as typeof out;
    rows = (JSON.parse(readFileSync(join(dir, 'claims.json'), 'utf8')) as { rows: Row[] }).rows;
  }, RUN_TIMEOUT_MS + 10_000);

  afterAll(async () => {
    if (parent) await rm(parent, { recursive: true, force: true });
  });

  it('ran the claims experiments on both presets at the suite\'s own quick configs, and says so in the manifest', () => {
    expect(out.runDir).toBe(dir);
    expect(out.experiments.map((e) => [e.name, e.status])).toEqual(CLAIMS_EXPERIMENTS.map((n) => [n, 'complete']));
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as HarnessManifest;
    expect(manifest.config.suite).toBe('claims');
    expect((manifest.config.variants as Array<{ preset: string }>).map((v) => v.preset)).toEqual(['grouped', 'per-function']);
    for (const e of manifest.experiments) expect(e.config).toEqual(CLAIMS_CONFIGS.quick[e.name as (typeof CLAIMS_EXPERIMENTS)[number]]);
  });

  it('writes the claims table as CSV and JSON: every claim has a row, every verdict is an allowed one', () => {
    const ids = Object.values(CLAIMS).map((c) => c.id);
    expect([...new Set(rows.map((r) => r.claim))]).toEqual(ids);
    for (const r of rows) {
      expect(VERDICTS, `${r.claim} ${r.scope}`).toContain(r.verdict);
      expect(String(r.source).length).toBeGreaterThan(20);
      expect(r.source_url).toMatch(/^https:\/\//);
    }
    const json = JSON.parse(readFileSync(join(dir, 'claims.json'), 'utf8')) as { verdicts: string[]; claims: Array<{ id: string }> };
    expect(json.verdicts).toEqual([...VERDICTS]);
    expect(json.claims.map((c) => c.id)).toEqual(ids);
    // The CSV holds the same rows (one line each: no field spans lines) under the same columns.
    const csv = readFileSync(join(dir, 'csv', 'claims.summary.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(rows.length + 1);
    expect(csv[0]).toBe(Object.keys(rows[0] as Row).join(','));
    expect(out.summaries.claims?.summary).toEqual(rows);
  });

  it('measures every claim that the run can: a number for each preset row, "not configured" for the remote platforms', () => {
    const scoped = (claim: string) => rows.filter((r) => r.claim === claim);
    // Ratios of times and of memory, and a number of spikes: positive whatever the noise.
    for (const id of ['sand-pipeline-speedup', 'nfv-fig4-crossover', 'nfv-fig4-self-hosted']) {
      expect(scoped(id).length, id).toBeGreaterThan(0);
      for (const r of scoped(id)) expect(Number(r.measured), `${id} ${String(r.scope)}: ${String(r.detail)}`).toBeGreaterThan(0);
    }
    // The per-hop ratio divides by a difference of medians, which noise can make tiny at this size: only its inputs are sure.
    expect(scoped('sand-interaction-latency').map((r) => r.scope)).toEqual(['microfunctions/process']);
    expect(String(scoped('sand-interaction-latency')[0]?.detail)).toMatch(/^per hop: grouped -?\d/);
    const fig2 = scoped('nfv-fig2-overhead');
    expect(fig2.map((r) => r.scope)).toEqual(['microfunctions/process/grouped', 'microfunctions/process/per-function', 'openwhisk', 'openfaas']);
    for (const r of fig2.slice(0, 2)) expect(Number(r.measured), String(r.detail)).toBeGreaterThan(1); // total > compute, per execution
    expect(fig2.slice(2).map((r) => r.verdict)).toEqual(['not configured', 'not configured']);
    expect(scoped('cold-start-ladder').map((r) => r.scope)).toEqual(['microfunctions/process/grouped', 'microfunctions/process/per-function']);
  });

  it('feeds the cost model the spiky data it just measured: the self-hosted panel has both presets', () => {
    const cost = JSON.parse(readFileSync(join(dir, 'cost-model.json'), 'utf8')) as { from: { dir: string } | null; summary: Row[] };
    expect(cost.from?.dir).toBe(dir);
    for (const preset of ['grouped', 'per-function']) {
      const held = cost.summary.find((r) => r.model === 'b' && r.item === `${preset}_memory_gib_s`);
      expect(Number(held?.value), preset).toBeGreaterThan(0);
    }
  });

  it('puts the claims table and the cost model in the HTML report', () => {
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    expect(html).toContain('<section id="claims">');
    expect(html).toContain('<section id="cost-model">');
    expect(html.indexOf('id="claims"')).toBeLessThan(html.indexOf('id="fig-cold-start"'));
    for (const c of Object.values(CLAIMS)) expect(html).toContain(c.id);
    expect(html).toContain('figures/fig-cost-model.png');
  });

  it('`mfbench report` regenerates the same claims table from the stored records', async () => {
    const before = readFileSync(join(dir, 'csv', 'claims.summary.csv'), 'utf8');
    const r = await cli(['report', dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'csv', 'claims.summary.csv'), 'utf8')).toBe(before);
  }, 120_000);
});

describe('the run-level steps on a stored run (test/fixtures/harness-run: a trimmed real quick run)', () => {
  let dir: string;

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a step that throws leaves its section with the error; the claims and the cost model are still written', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mfbench-claims-fixture-'));
    await cp(join(ROOT, 'test', 'fixtures', 'harness-run'), dir, { recursive: true });
    const broken: RunStep<StoredRun> = {
      id: 'broken',
      process: () => {
        throw new Error('price table unreadable');
      },
    };
    const result = await processRun(dir, findExperiment, [broken, ...RUN_STEPS]);
    expect(result.sections.map((s) => s.id)).toEqual(['broken', 'claims', 'cost-model']);
    expect(result.summaries.broken?.notes).toEqual(['MF_INTERNAL: price table unreadable']);
    const rows = (JSON.parse(readFileSync(join(dir, 'claims.json'), 'utf8')) as { rows: Row[] }).rows;
    expect([...new Set(rows.map((r) => r.claim))]).toEqual(Object.values(CLAIMS).map((c) => c.id));
    for (const r of rows) expect(VERDICTS).toContain(r.verdict);
    const html = readFileSync(result.report, 'utf8');
    expect(html.indexOf('<section id="broken">')).toBeLessThan(html.indexOf('<section id="claims">'));
    expect(html).toContain('price table unreadable');
  }, 120_000);
});
