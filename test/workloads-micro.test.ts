/**
 * The microbenchmarks (noop, sleep, cpu, payload) end to end on a real platform (process backend): each deploys, runs
 * its inputs through `mfbench validate`'s own code, and every output passes its validator. Bad inputs fail with an
 * error naming the function, and the platform keeps serving.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { deployAndValidate } from '../dist/cli/commands/validate.js';
import { WORKLOADS } from '../dist/workloads/index.js';
import { useSuitePlatform } from './helpers/workload.js';

describe('microbenchmarks on the process backend', () => {
  const suite = useSuitePlatform();

  test.each([
    ['noop', ['small']],
    ['sleep', ['small', 'medium']],
    ['cpu', ['small', 'medium']],
    ['payload', ['small', 'medium', 'large', 'xlarge']],
  ] as const)('%s: every output is valid, cold then warm', async (name, sizes) => {
    const w = WORKLOADS[name];
    const r = await deployAndValidate(suite.client, w, w.app(), { sizes, seed: 7, workflow: 'main', runs: 2, app: name, replace: false, keep: false });
    for (const input of r.inputs) for (const run of input.runs) expect(run.verdict, `${name} ${input.size} run ${run.run}`).toEqual({ ok: true });
    expect(r.ok).toBe(true);
    const first = r.inputs[0]!.runs[0]!;
    expect(first.stages).toHaveLength(1);
    expect(first.stages[0]!.temperature).toBe('cold-sandbox');
    expect(r.inputs[0]!.runs[1]!.stages[0]!.temperature).toBe('warm');
    if (name === 'sleep') expect(r.inputs[1]!.runs[1]!.stages[0]!.computeMs).toBeGreaterThanOrEqual(99);
  });

  test('a bad sleep input fails naming the function, and the next execution succeeds', async () => {
    const w = WORKLOADS.sleep;
    await suite.client.deploy(w.app());
    const bad = await suite.client.execute('sleep', 'main', { ms: 'soon' });
    expect(bad.status).toBe('FAILED');
    expect(bad.error).toBe('InvalidInput');
    expect(JSON.parse(bad.cause!).errorMessage).toMatch(/^sleep: "ms" must be a number/);
    const input = w.generateInput('small', 1);
    const good = await suite.client.execute('sleep', 'main', input);
    expect(w.validateOutput(input, good.output)).toEqual({ ok: true });
    await suite.client.deleteApp('sleep');
  });
});

describe('mfbench validate (the CLI)', () => {
  const cli = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, [cli, ...args], { env: { ...process.env, MFBENCH_URL: '' } }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  test('on an embedded platform: --json prints the verdicts and per-stage times, exit 0 when all pass', async () => {
    const r = await run(['validate', 'noop', '--json', '--runs', '2']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ workload: 'noop', ok: true, inputs: [{ size: 'small', ok: true }] });
    expect(result.inputs[0].runs[1].stages[0]).toMatchObject({ function: 'noop', temperature: 'warm', outcome: 'ok' });
    expect(result.inputs[0].runs[1].stages[0].computeMs).toBeGreaterThanOrEqual(0);
  });

  test('an unknown size is a usage error (exit 2) naming the known sizes', async () => {
    const r = await run(['validate', 'sleep', '--size', 'huge']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no size "huge" \(known: small, medium, large\)/);
  });
});
