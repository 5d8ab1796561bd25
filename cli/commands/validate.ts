/**
 * `mfbench validate <workload>`: deploys a workload on an embedded platform (started in this process on port 0) or
 * on the platform named by --url, executes its inputs (every size, or those given with --size), and prints per input
 * the validator's verdict and the per-stage compute times read from the invocation records (handlerEnd -
 * handlerStart per function). Exit 0 only when every verdict passes.
 *
 * Each input runs `--runs` times (default 2): the first execution is cold (it pays for sandbox, workers and model
 * loading; the records say how much), the later ones are warm. Every execution's verdict counts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Argv } from 'yargs';
import { isMfError } from '../../platform/errors.js';
import type { AppManifest } from '../../platform/manifest.js';
import { MicroFunctionsClient } from '../../platform/sdk/client.js';
import { inlineManifest } from '../../platform/sdk/code.js';
import type { Execution, InvocationRecord } from '../../platform/sdk/types.js';
import { getWorkload, WORKLOAD_NAMES, type AnyWorkload, type Validation, type WorkloadParams } from '../../workloads/index.js';
import { clientFrom, parseParams, type GlobalOptions } from '../lib/args.js';
import { defineCommand } from '../lib/command.js';
import { EXIT, outJson, say, UsageError } from '../lib/output.js';
import { formatNumber, formatTable } from '../lib/table.js';
import { userConfigFromArgv, withConfigOptions } from './platform.js';

/** One stage of one execution: what the records say about it. */
export interface StageTime {
  /** The ASL state (null for a direct function invocation). */
  state: string | null;
  function: string;
  temperature: InvocationRecord['temperature'];
  /** handlerEnd - handlerStart: the function's own compute time. */
  computeMs: number;
  /** Module import + top-level init (model loading), when this invocation started the worker. */
  codeLoadMs: number | null;
  outcome: InvocationRecord['outcome']['state'];
}

export interface RunVerdict {
  run: number;
  executionId: string;
  status: Execution['status'];
  error: string | null;
  cause: string | null;
  verdict: Validation;
  /** Client-side round trip of the execution, ms. */
  clientMs: number;
  stages: StageTime[];
}

export interface InputVerdict {
  size: string;
  seed: number;
  ok: boolean;
  runs: RunVerdict[];
}

export interface ValidationResult {
  workload: string;
  app: string;
  workflow: string;
  url: string;
  ok: boolean;
  inputs: InputVerdict[];
}

export interface ValidateOptions {
  sizes: readonly string[];
  seed: number;
  workflow: string;
  runs: number;
  app: string;
  /** Called after each execution (progress on stderr). */
  onRun?: (size: string, run: RunVerdict) => void;
}

/** Per-stage times of one execution, in the order the stages ran. */
export function stageTimes(records: readonly InvocationRecord[] | undefined): StageTime[] {
  return [...(records ?? [])]
    .sort((a, b) => a.t.handlerStart - b.t.handlerStart)
    .map((r) => ({
      state: r.state,
      function: r.function,
      temperature: r.temperature,
      computeMs: r.t.handlerEnd - r.t.handlerStart,
      codeLoadMs: r.coldStart.codeLoadMs ?? null,
      outcome: r.outcome.state,
    }));
}

/** The verdict on one finished execution: validateOutput for a success, validateFailure (if any) for a failure. */
export function judge(workload: AnyWorkload, input: unknown, e: Pick<Execution, 'status' | 'output' | 'error' | 'cause'>): Validation {
  if (e.status === 'SUCCEEDED') return workload.validateOutput(input, e.output);
  if (e.status === 'FAILED') {
    if (workload.validateFailure) return workload.validateFailure(input, { error: e.error, cause: e.cause });
    return { ok: false, reason: `the execution FAILED: ${e.error ?? '(no error)'}: ${(e.cause ?? '').slice(0, 300)}` };
  }
  return { ok: false, reason: `the execution is ${e.status}` };
}

/** Executes every input of an already deployed workload and judges each run. */
export async function validateDeployed(client: MicroFunctionsClient, workload: AnyWorkload, opts: ValidateOptions): Promise<ValidationResult> {
  const inputs: InputVerdict[] = [];
  for (const size of opts.sizes) {
    const input = workload.generateInput(size, opts.seed);
    const runs: RunVerdict[] = [];
    for (let run = 1; run <= opts.runs; run++) {
      const started = performance.now();
      const e = workload.drive ? await workload.drive(client, opts.app, input) : await client.execute(opts.app, opts.workflow, input);
      const clientMs = performance.now() - started;
      const verdict = judge(workload, input, e);
      const rv: RunVerdict = { run, executionId: e.executionId, status: e.status, error: e.error, cause: e.cause, verdict, clientMs, stages: stageTimes(e.records) };
      runs.push(rv);
      opts.onRun?.(size, rv);
    }
    inputs.push({ size, seed: opts.seed, ok: runs.every((r) => r.verdict.ok), runs });
  }
  return { workload: workload.name, app: opts.app, workflow: opts.workflow, url: client.url, ok: inputs.every((i) => i.ok), inputs };
}

/** Deploys the workload (replacing an app of the same name when asked), validates it, and deletes it again when asked. */
export async function deployAndValidate(
  client: MicroFunctionsClient,
  workload: AnyWorkload,
  manifest: AppManifest,
  opts: ValidateOptions & { replace: boolean; keep: boolean },
): Promise<ValidationResult> {
  if (opts.replace) {
    try {
      await client.deleteApp(manifest.name);
    } catch (err) {
      if (!isMfError(err, 'MF_APP_NOT_FOUND')) throw err;
    }
  }
  await client.deploy(manifest);
  try {
    return await validateDeployed(client, workload, opts);
  } finally {
    if (!opts.keep) await client.deleteApp(manifest.name).catch(() => undefined);
  }
}

/** The human report: one line per run, and a table of the per-stage compute times of every run. */
export function formatValidation(r: ValidationResult): string {
  const lines: string[] = [];
  const rows: Array<Array<string | number | null>> = [];
  for (const input of r.inputs) {
    for (const run of input.runs) {
      const verdict = run.verdict.ok ? 'PASS' : `FAIL: ${run.verdict.reason}`;
      const failure = run.status === 'FAILED' ? ` (${run.error})` : '';
      lines.push(`${input.size.padEnd(10)} run ${run.run}  ${run.status}${failure}  ${formatNumber(run.clientMs)} ms  ${verdict}`);
      for (const s of run.stages) rows.push([input.size, run.run, s.state ?? '-', s.function, s.temperature, s.computeMs, s.codeLoadMs, s.outcome]);
    }
  }
  lines.push('', 'per-stage compute time (handlerEnd - handlerStart), and code load (init) where the worker was started:');
  lines.push(formatTable(['size', 'run', 'state', 'function', 'temperature', 'compute ms', 'init ms', 'outcome'], rows));
  const total = r.inputs.reduce((n, i) => n + i.runs.length, 0);
  const passed = r.inputs.reduce((n, i) => n + i.runs.filter((x) => x.verdict.ok).length, 0);
  lines.push('', `${r.workload} (${r.workflow}) on ${r.url}: ${passed}/${total} executions valid: ${r.ok ? 'PASS' : 'FAIL'}`);
  return lines.join('\n');
}

export const validateCommand = defineCommand({
  command: 'validate <workload>',
  describe: 'deploy a workload (embedded platform, or --url), run its inputs, check every output; exit 0 only if all pass',
  builder: (y: Argv<GlobalOptions>) =>
    withConfigOptions(
      y
        .positional('workload', { type: 'string', demandOption: true, choices: WORKLOAD_NAMES, describe: 'the workload' })
        .option('size', { type: 'string', array: true, describe: 'input size(s) to run (repeatable; default: every size)' })
        .option('seed', { type: 'number', default: 1, describe: 'seed of the input generator' })
        .option('workflow', { type: 'string', describe: "workflow to execute (default: the workload's)" })
        .option('runs', { type: 'number', default: 2, describe: 'executions per input (the first is cold, the rest warm)' })
        .option('param', { type: 'string', array: true, describe: 'workload parameter key=value (repeatable)' })
        .option('app', { type: 'string', describe: "app name (default: the workload's name)" })
        .option('replace', { type: 'boolean', default: false, describe: 'with --url: delete an app of the same name first' })
        .option('keep', { type: 'boolean', default: false, describe: 'with --url: leave the app deployed afterwards' })
        .option('inline', { type: 'boolean', default: false, describe: 'with --url: send the code inline (platform on another host)' })
        .option('json', { type: 'boolean', default: false, describe: 'print only the result JSON on stdout' }),
      { port: 0 },
    ),
  handler: async (argv) => {
    const workload = getWorkload(argv.workload);
    const sizes = argv.size ?? Object.keys(workload.sizes);
    for (const s of sizes) if (!Object.hasOwn(workload.sizes, s)) throw new UsageError(`workload "${workload.name}" has no size "${s}" (known: ${Object.keys(workload.sizes).join(', ')})`);
    if (!Number.isInteger(argv.runs) || argv.runs < 1) throw new UsageError(`--runs must be a positive integer, got ${argv.runs}`);
    const params: WorkloadParams = parseParams(argv.param);
    let manifest = workload.app(params);
    if (argv.app !== undefined) manifest = { ...manifest, name: argv.app };
    const workflow = argv.workflow ?? workload.workflow;
    if (!Object.hasOwn(manifest.workflows, workflow)) throw new UsageError(`workload "${workload.name}" has no workflow "${workflow}" (known: ${Object.keys(manifest.workflows).join(', ')})`);
    const opts = {
      sizes,
      seed: argv.seed,
      workflow,
      runs: argv.runs,
      app: manifest.name,
      onRun: (size: string, run: RunVerdict) =>
        say(`${workload.name} ${size} run ${run.run}: ${run.status} in ${formatNumber(run.clientMs)} ms: ${run.verdict.ok ? 'valid' : `INVALID: ${run.verdict.reason}`}`),
    };

    let result: ValidationResult;
    if (argv.url !== undefined || (process.env.MFBENCH_URL ?? '') !== '') {
      if (argv.inline) manifest = inlineManifest(manifest);
      result = await deployAndValidate(clientFrom(argv), workload, manifest, { ...opts, replace: argv.replace, keep: argv.keep });
    } else {
      const dataDir = mkdtempSync(join(tmpdir(), 'mfbench-validate-'));
      const user = userConfigFromArgv(argv as unknown as Record<string, unknown>, { port: 0, dataDir });
      // Loaded here, not at the top: with --url the command should not load the platform.
      const { startPlatform } = await import('../../platform/frontend/index.js');
      const platform = await startPlatform(user);
      try {
        say(`MicroFunctions running in-process at ${platform.url}; deploying ${manifest.name}`);
        const client = new MicroFunctionsClient({ url: platform.url, token: platform.token });
        result = await deployAndValidate(client, workload, manifest, { ...opts, replace: false, keep: true });
      } finally {
        await platform.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
    if (argv.json) outJson(result);
    else say(formatValidation(result));
    return result.ok ? EXIT.ok : EXIT.failed;
  },
});
