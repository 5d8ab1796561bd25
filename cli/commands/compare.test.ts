/**
 * `mfbench compare` and `mfbench history` end to end: the real CLI (dist/cli/main.js) on run directories written to
 * a temp folder from seeded samples. Assertions are on stdout, stderr and the exit code.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededRng } from '../../report/stats/random.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

function latencies(n: number, seed: number, factor = 1): number[] {
  const rng = seededRng(seed);
  return Array.from({ length: n }, () => 5 * Math.exp(0.25 * Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng())) * factor);
}

async function writeRun(root: string, name: string, startedAt: string, commit: string, values: number[], extra: object[] = []): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'manifest.json'), JSON.stringify({ runId: name, kind: 'test', startedAt, git: { commit, dirty: false }, config: {} }));
  const lines = [
    ...values.map((value) => ({ experiment: 'chain-length', platform: 'microfunctions/grouped', metric: 'client_latency_ms', temperature: 'warm', value, outcome: 'ok' })),
    ...extra,
  ];
  await writeFile(join(dir, 'records.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return dir;
}

describe('mfbench compare / history', () => {
  let root: string;
  let base: string;
  let same: string;
  let slow: string;
  let slightly: string;
  let tiny: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'mf-cli-compare-'));
    base = await writeRun(root, 'r1-base', '2026-01-01T00:00:00.000Z', 'c1'.repeat(20), latencies(300, 1));
    same = await writeRun(root, 'r2-same', '2026-01-02T00:00:00.000Z', 'c2'.repeat(20), latencies(300, 2));
    slow = await writeRun(root, 'r3-slow', '2026-01-03T00:00:00.000Z', 'c3'.repeat(20), latencies(300, 3, 2));
    slightly = await writeRun(root, 'r4-3pct', '2026-01-04T00:00:00.000Z', 'c4'.repeat(20), latencies(300, 4, 1.03));
    tiny = await writeRun(root, 'r5-tiny', '2026-01-05T00:00:00.000Z', 'c5'.repeat(20), latencies(5, 5, 3));
    await mkdir(join(root, 'not-a-run'));
  });

  it('passes two runs of the same distribution (exit 0, table on stdout, verdict on stderr)', async () => {
    const r = await cli(['compare', base, same]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^experiment\s+platform\s+metric/);
    expect(r.stdout).toMatch(/chain-length\s+microfunctions\/grouped\s+client_latency_ms\s+warm/);
    expect(r.stdout).toMatch(/\bsame\b/);
    expect(r.stderr).toMatch(/compare: pass/);
    expect(r.stderr).toMatch(/not interleaved \(baseline started 2026-.*\).*mfbench ab <ref-a> <ref-b>/);
  });

  it('catches an injected 2x slowdown (exit 1)', async () => {
    const r = await cli(['compare', base, slow]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\bslower\b/);
    expect(r.stderr).toMatch(/compare: FAIL: 1 of 1 series slower by more than 10%/);
  });

  it('does not fail on a 3% slowdown at the default 10% threshold', async () => {
    const r = await cli(['compare', base, slightly, '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]!);
    expect(report.pass).toBe(true);
    expect(report.series[0].verdict).toBe('same');
    expect(report.options).toEqual({ threshold: 0.1, level: 0.95, resamples: 2000, seed: 1, minSamples: 20 });
  });

  it('tiny samples give "insufficient data" and do not fail the gate', async () => {
    const r = await cli(['compare', base, tiny, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).series[0]).toMatchObject({ verdict: 'insufficient data', regression: false });
  });

  it('--threshold moves the gate; a bad run dir or option is a usage error', async () => {
    expect((await cli(['compare', base, slow, '--threshold', '1.5'])).code).toBe(2);
    const missing = await cli(['compare', base, join(root, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/error MF_CONFIG_INVALID: no such run directory/);
  });

  it('history: the median per run, oldest first, with commits; non-runs are listed on stderr', async () => {
    const r = await cli(['history', root, '--metric', 'client_latency_ms', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const h = JSON.parse(r.stdout);
    expect(h.points.map((p: { runId: string }) => p.runId)).toEqual(['r1-base', 'r2-same', 'r3-slow', 'r4-3pct', 'r5-tiny']);
    expect(h.points[0].commit).toBe('c1'.repeat(20));
    expect(h.points[2].median / h.points[0].median).toBeGreaterThan(1.8);
    expect(h.points[4].ci).toBeNull();
    expect(h.skipped.map((s: { dir: string }) => s.dir)).toEqual([join(root, 'not-a-run')]);
    const table = await cli(['history', root, '--metric', 'client_latency_ms']);
    expect(table.stdout.split('\n')[0]).toMatch(/^started\s+run\s+commit/);
    expect(table.stdout).toMatch(/c1c1c1c1c1\s+chain-length/);
    expect(table.stderr).toMatch(/skipped 1 directory/);
  });
});
