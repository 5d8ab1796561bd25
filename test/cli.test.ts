/**
 * The mfbench command line end to end: a real `mfbench platform start --port 0` child process, and the real CLI
 * (dist/cli/main.js, as `npx mfbench` runs it) against it. Assertions are on stdout, stderr and exit codes.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with a clean environment (no MFBENCH_* from the caller unless given). */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MFBENCH_'))) as Record<string, string>;
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { cwd: ROOT, env: { ...base, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The only JSON value on stdout (a --json command must print nothing else there). */
function json(r: Run): any {
  const lines = r.stdout.trim().split('\n');
  expect(lines, `stdout of a --json command: ${r.stdout}\nstderr: ${r.stderr}`).toHaveLength(1);
  return JSON.parse(lines[0] as string);
}

describe('mfbench against a real platform process', () => {
  let child: ChildProcess;
  let url: string;
  let token: string;
  let env: Record<string, string>;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let platformStderr = '';

  beforeAll(async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mf-cli-'));
    child = spawn(process.execPath, [MAIN, 'platform', 'start', '--port', '0', '--data-dir', dataDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => (platformStderr += d.toString()));
    exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const firstLine = await new Promise<string>((resolve, reject) => {
      const rl = createInterface({ input: child.stdout! });
      rl.once('line', (line) => resolve(line));
      child.once('exit', (code) => reject(new Error(`platform start exited (${code}) before its first line: ${platformStderr}`)));
    });
    const first = JSON.parse(firstLine) as { url: string; token: string };
    expect(Object.keys(first).sort()).toEqual(['token', 'url']);
    url = first.url;
    token = first.token;
    env = { MFBENCH_URL: url, MFBENCH_TOKEN: token };
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });

  it('platform start: first stdout line {url, token}, human lines on stderr, and it serves', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(token.length).toBeGreaterThanOrEqual(8);
    // The human lines go to stderr, right after the JSON line on stdout; give the pipe a moment.
    for (let i = 0; i < 100 && !/listening on http/.test(platformStderr); i++) await new Promise((r) => setTimeout(r, 20));
    expect(platformStderr).toMatch(/listening on http/);
    for (let i = 0; i < 100 && !/console: open/.test(platformStderr); i++) await new Promise((r) => setTimeout(r, 20));
    expect(platformStderr).toContain(`console: open ${url}/console/`);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const consolePage = await fetch(`${url}/console/`);
    expect(consolePage.status).toBe(200);
    expect(await consolePage.text()).toContain('<script type="module" src="/console/main.js">');
  });

  let firstExecutionId = '';

  it('deploy workloads/noop-chain --json prints the app summary', async () => {
    const r = await cli(['deploy', 'workloads/noop-chain', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const summary = json(r);
    expect(summary.name).toBe('noop-chain');
    expect(summary.functions.map((f: { name: string }) => f.name)).toEqual(['step1', 'step2', 'step3', 'step4', 'step5']);
    expect(summary.workflows).toEqual(['main']);
  });

  it('invoke --json --records: the first execution is cold-sandbox then cold-worker, and prints only the result', async () => {
    const r = await cli(['invoke', 'noop-chain', 'main', '--input', '{"n":1}', '--json', '--records'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = json(r);
    expect(out).toMatchObject({ status: 'SUCCEEDED', output: { n: 1 }, error: null, cause: null });
    expect(out.records.map((x: { temperature: string }) => x.temperature)).toEqual(['cold-sandbox', 'cold-worker', 'cold-worker', 'cold-worker', 'cold-worker']);
    firstExecutionId = out.executionId;
    expect(typeof firstExecutionId).toBe('string');
  });

  it("invoke noop-chain main --input '{\"n\":1}' --json prints exactly {executionId, status, output, error, cause}", async () => {
    const r = await cli(['invoke', 'noop-chain', 'main', '--input', '{"n":1}', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = json(r);
    expect(Object.keys(out).sort()).toEqual(['cause', 'error', 'executionId', 'output', 'status']);
    expect(out).toMatchObject({ status: 'SUCCEEDED', output: { n: 1 }, error: null, cause: null });
  });

  it('invoke without --json: the output JSON on stdout, a summary with temperatures on stderr; --input-file and --async', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mf-cli-in-'));
    await writeFile(join(dir, 'in.json'), '{"n": 7, "payload": "x"}');
    const r = await cli(['invoke', 'noop-chain', 'main', '--input-file', join(dir, 'in.json')], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ n: 7, payload: 'x' });
    expect(r.stderr).toMatch(/SUCCEEDED noop-chain\/main .*5 invocations: warm 5/);

    const a = await cli(['invoke', 'noop-chain', 'main', '--input', '{"n":3}', '--async', '--json'], env);
    expect(a.code, a.stderr).toBe(0);
    const { executionId } = json(a);
    let e: any;
    for (let i = 0; i < 100; i++) {
      const g = await cli(['executions', executionId, '--json'], env);
      expect(g.code, g.stderr).toBe(0);
      e = json(g);
      if (e.status !== 'RUNNING') break;
    }
    expect(e).toMatchObject({ executionId, status: 'SUCCEEDED', output: { n: 3 } });
  });

  it('invoke-function runs one function directly', async () => {
    const r = await cli(['invoke-function', 'noop-chain', 'step3', '--input', '{"direct":true}', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ status: 'SUCCEEDED', output: { direct: true } });
  });

  it('apps --json lists the app; apps (plain) prints a table on stdout', async () => {
    const r = await cli(['apps', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const names = json(r).apps.map((a: { name: string }) => a.name);
    expect(names).toContain('noop-chain');
    const t = await cli(['apps'], env);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^app\s+functions/);
    expect(t.stdout).toMatch(/noop-chain\s+5\s+main/);
  });

  it('logs and executions (with --history) answer for the first execution', async () => {
    const logs = await cli(['logs', 'noop-chain', '--execution', firstExecutionId, '--limit', '50', '--json'], env);
    expect(logs.code, logs.stderr).toBe(0);
    expect(Array.isArray(json(logs).logs)).toBe(true);
    const plain = await cli(['logs', 'noop-chain'], env);
    expect(plain.code, plain.stderr).toBe(0);

    const e = await cli(['executions', firstExecutionId, '--json'], env);
    expect(e.code, e.stderr).toBe(0);
    expect(json(e)).toMatchObject({ executionId: firstExecutionId, app: 'noop-chain', workflow: 'main', status: 'SUCCEEDED', output: { n: 1 } });
    const h = await cli(['executions', firstExecutionId, '--history', '--json'], env);
    expect(h.code, h.stderr).toBe(0);
    const history = json(h).history as Array<{ type: string; state?: string }>;
    expect(history.filter((x) => x.state === 'Step1').length).toBeGreaterThan(0);
    expect(history.filter((x) => x.state === 'Step5').length).toBeGreaterThan(0);
  });

  it('stop answers a finished execution unchanged, and an unknown one is MF_EXECUTION_NOT_FOUND', async () => {
    const s = await cli(['stop', firstExecutionId, '--error', 'Operator', '--json'], env);
    expect(s.code, s.stderr).toBe(0);
    expect(json(s)).toMatchObject({ executionId: firstExecutionId, status: 'SUCCEEDED', error: null });
    const unknown = await cli(['stop', 'no-such-execution'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error MF_EXECUTION_NOT_FOUND: /m);
  });

  it('deploy --inline --name --param, then apps delete', async () => {
    const r = await cli(['deploy', 'workloads/noop-chain', '--inline', '--name', 'chain2', '--param', 'length=2', '--url', url, '--token', token]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('chain2');
    expect(r.stderr).toMatch(/deployed chain2 .*2 functions \(step1, step2\)/);
    const inv = await cli(['invoke', 'chain2', 'main', '--input', '{"n":2}', '--json'], env);
    expect(json(inv)).toMatchObject({ status: 'SUCCEEDED', output: { n: 2 } });
    const again = await cli(['deploy', 'workloads/noop-chain', '--name', 'chain2'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error MF_APP_EXISTS: /m);
    const replaced = await cli(['deploy', 'workloads/noop-chain', '--name', 'chain2', '--replace', '--param', 'length=3', '--json'], env);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(json(replaced).functions).toHaveLength(3);
    const d = await cli(['apps', 'delete', 'chain2', '--json'], env);
    expect(d.code, d.stderr).toBe(0);
    expect(json(d)).toEqual({ deleted: 'chain2' });
    const gone = await cli(['delete', 'chain2'], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^error MF_APP_NOT_FOUND: /m);
  });

  it('import-sfn deploys a Step Functions definition with Lambda functions; a FAILED execution exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mf-sfn-'));
    await mkdir(join(dir, 'functions', 'Shout', 'lib'), { recursive: true });
    await writeFile(join(dir, 'functions', 'Shout', 'package.json'), '{"type": "commonjs"}');
    await writeFile(join(dir, 'functions', 'Shout', 'lib', 'upper.js'), 'module.exports = (s) => s.toUpperCase();\n');
    await writeFile(
      join(dir, 'functions', 'Shout', 'index.js'),
      "const upper = require('./lib/upper');\nexports.handler = async (event) => ({ said: upper(event.text) });\n",
    );
    await writeFile(
      join(dir, 'definition.json'),
      JSON.stringify({
        StartAt: 'Prepare',
        States: {
          Prepare: { Type: 'Pass', Parameters: { 'text.$': '$.word' }, Next: 'Shout' },
          Shout: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:000000000000:function:Shout', ResultPath: '$.result', Next: 'Check' },
          Check: { Type: 'Choice', Choices: [{ Variable: '$.result.said', StringEquals: 'BAD', Next: 'Boom' }], Default: 'Done' },
          Boom: { Type: 'Fail', Error: 'Bad.Word', Cause: 'the word was bad' },
          Done: { Type: 'Succeed' },
        },
      }),
    );
    const r = await cli(['import-sfn', join(dir, 'definition.json'), '--functions', join(dir, 'functions'), '--name', 'sfn-app'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('sfn-app');

    const ok = await cli(['invoke', 'sfn-app', 'main', '--input', '{"word":"hi"}', '--json'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(json(ok)).toMatchObject({ status: 'SUCCEEDED', output: { text: 'hi', result: { said: 'HI' } } });

    const bad = await cli(['invoke', 'sfn-app', 'main', '--input', '{"word":"bad"}', '--json'], env);
    expect(bad.code).toBe(1);
    expect(json(bad)).toEqual({ executionId: expect.any(String), status: 'FAILED', output: null, error: 'Bad.Word', cause: 'the word was bad' });

    const broken = join(dir, 'broken.json');
    await writeFile(broken, JSON.stringify({ StartAt: 'Nowhere', States: { A: { Type: 'Pass', End: true } } }));
    const rejected = await cli(['import-sfn', broken, '--name', 'sfn-broken'], env);
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toMatch(/^error MF_ASL_INVALID: /m);
  });

  it('import-sfn runs definitions written with variables and JSONata (as AWS samples now are); unsupported integrations are named by state', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mf-sfn-jsonata-'));
    await mkdir(join(dir, 'functions', 'Price'), { recursive: true });
    await writeFile(join(dir, 'functions', 'Price', 'index.js'), 'exports.handler = async (event) => ({ total: event.qty * event.unit });\n');
    await writeFile(
      join(dir, 'definition.json'),
      JSON.stringify({
        Comment: 'JSONata machine with a JSONPath state, as a console-written definition may mix them',
        QueryLanguage: 'JSONata',
        StartAt: 'Remember',
        States: {
          Remember: { Type: 'Pass', Assign: { customer: '{% $states.input.customer %}', unit: 3 }, Next: 'Price' },
          Price: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Arguments: { FunctionName: 'Price', Payload: { qty: '{% $states.input.qty %}', unit: '{% $unit %}' } },
            Assign: { total: '{% $states.result.Payload.total %}' },
            Output: '{% $states.input %}',
            Next: 'Big?',
          },
          'Big?': { Type: 'Choice', Choices: [{ Condition: '{% $total > 100 %}', Next: 'TooBig' }], Default: 'Receipt' },
          TooBig: { Type: 'Fail', Error: 'Order.TooBig', Cause: '{% "total " & $string($total) & " for " & $customer %}' },
          Receipt: { Type: 'Pass', Output: { customer: '{% $customer %}', total: '{% $total %}', lines: '{% $range(1, $states.input.qty, 1) %}' }, End: true },
        },
      }),
    );
    const r = await cli(['import-sfn', join(dir, 'definition.json'), '--functions', join(dir, 'functions'), '--name', 'sfn-jsonata'], env);
    expect(r.code, r.stderr).toBe(0);

    const ok = await cli(['invoke', 'sfn-jsonata', 'main', '--input', '{"customer":"ana","qty":2}', '--json'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(json(ok)).toMatchObject({ status: 'SUCCEEDED', output: { customer: 'ana', total: 6, lines: [1, 2] } });

    const big = await cli(['invoke', 'sfn-jsonata', 'main', '--input', '{"customer":"bo","qty":40}', '--json'], env);
    expect(big.code).toBe(1);
    expect(json(big)).toMatchObject({ status: 'FAILED', error: 'Order.TooBig', cause: 'total 120 for bo' });

    const sqs = join(dir, 'sqs.json');
    await writeFile(
      sqs,
      JSON.stringify({
        QueryLanguage: 'JSONata',
        StartAt: 'Send',
        States: { Send: { Type: 'Task', Resource: 'arn:aws:states:::sqs:sendMessage', Arguments: { MessageBody: '{% $states.input %}' }, End: true } },
      }),
    );
    const rejected = await cli(['import-sfn', sqs, '--name', 'sfn-sqs'], env);
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toMatch(/^error MF_ASL_UNSUPPORTED: .*state 'Send' at \$\.States\.Send\.Resource/m);

    const unparsable = join(dir, 'unparsable.json');
    await writeFile(unparsable, JSON.stringify({ QueryLanguage: 'JSONata', StartAt: 'P', States: { P: { Type: 'Pass', Output: '{% $states.input. %}', End: true } } }));
    const bad = await cli(['import-sfn', unparsable, '--name', 'sfn-unparsable'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error MF_ASL_INVALID: .*state 'P' at \$\.States\.P\.Output: field 'Output'/m);
  });

  it('errors: unknown app, missing or wrong token, bad input, unreachable platform', async () => {
    const unknown = await cli(['invoke', 'no-such-app', 'main', '--json'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^error MF_APP_NOT_FOUND: /m);
    expect(unknown.stderr).toMatch(/status: 404/);

    const noToken = await cli(['apps', '--json'], { MFBENCH_URL: url });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/^error MF_UNAUTHORIZED: /m);
    const wrongToken = await cli(['apps'], { MFBENCH_URL: url, MFBENCH_TOKEN: 'not-the-token' });
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stderr).toMatch(/^error MF_UNAUTHORIZED: /m);

    const badJson = await cli(['invoke', 'noop-chain', 'main', '--input', '{nope'], env);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/^error MF_BAD_REQUEST: --input is not valid JSON/m);
    const missingArg = await cli(['invoke', 'noop-chain'], env);
    expect(missingArg.code).toBe(2);
    const badParam = await cli(['deploy', 'workloads/noop-chain', '--param', 'length=1000'], env);
    expect(badParam.code).toBe(1);
    expect(badParam.stderr).toMatch(/must be an integer from 1 to 100/);

    const nowhere = await cli(['apps'], { MFBENCH_URL: 'http://127.0.0.1:1' });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/^error MF_PLATFORM_UNREACHABLE: cannot reach the platform at http:\/\/127\.0\.0\.1:1 /m);
    expect(nowhere.stderr).toMatch(/^hint: start it with `mfbench platform start`/m);
  });

  it('SIGTERM closes the platform and it exits 0', async () => {
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(platformStderr).toMatch(/SIGTERM: stopping the platform/);
    expect(platformStderr).toMatch(/platform stopped/);
  });
});

describe('mfbench without a platform', () => {
  it('doctor --json reports the machine and what it enables, and exits 0', async () => {
    const r = await cli(['doctor', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const d = json(r);
    expect(d.node).toMatchObject({ available: true, version: process.version });
    expect(d.cpu.count).toBeGreaterThan(0);
    expect(d.memory.totalBytes).toBeGreaterThan(0);
    for (const key of ['docker', 'bwrap', 'chromium']) {
      expect(typeof d[key].available).toBe('boolean');
      expect(d[key].detail.length).toBeGreaterThan(0);
      expect(d[key].enables.length).toBeGreaterThan(0);
    }
    expect(d.docker.enables).toMatch(/docker sandbox backend/);
    expect(d.bwrap.enables).toMatch(/bwrap sandbox backend/);
    expect(d.chromium.enables).toMatch(/browser tests/);
    const plain = await cli(['doctor']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^(yes|no ) +docker /m);
  });

  it('usage errors exit 2 and name the problem', async () => {
    const r = await cli(['no-such-command']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error MF_BAD_REQUEST: Unknown argument: no-such-command/m);
    const bad = await cli(['platform', 'start', '--pool-size', '-1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error MF_CONFIG_INVALID: config option "poolSize"/m);
  });

  it('run --keep-history starts the embedded platform with execution history on, and the manifest says so', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'mfcli-history-'));
    const out = join(parent, 'run');
    const r = await cli(['run', 'chain-length', '--quick', '--keep-history', '--no-report', '--out', out, '--json']);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    await rm(parent, { recursive: true, force: true });
    expect(r.code, r.stderr).toBe(0);
    expect(manifest.adapters.map((a: { resolved: { keepHistory: boolean } }) => a.resolved.keepHistory)).toEqual([true]);
    expect(manifest.adapters[0].options.platformConfig).toEqual({ keepHistory: true });
  });

  it('the built CLI is an executable node script', () => {
    expect(readFileSync(MAIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    accessSync(MAIN, constants.X_OK);
  });
});
