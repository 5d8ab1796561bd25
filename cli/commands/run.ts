/**
 * `mfbench run <experiment…|suite>`: runs experiments against a platform into one run directory
 * (results/runs/<run-id>/), then the processing step (CSV, summaries, figures, HTML report). Progress goes to stderr
 * (a bar on a terminal, lines otherwise); stdout gets the run directory and the report (only JSON with --json).
 */
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { ADAPTER_NAMES, ADAPTERS, isAdapterName, NOT_APPLICABLE, type AdapterEntry, type AdapterName } from '../../harness/registry.js';
import { EXPERIMENT_NAMES, EXPERIMENTS, findExperiment, RUN_STEPS, SUITES, type Suite } from '../../experiments/runner/registry.js';
import type { Variant } from '../../experiments/runner/types.js';
import type { Size } from '../../report/run-dir.js';
import type { GlobalOptions } from '../lib/args.js';
import { defineCommand } from '../lib/command.js';
import { EXIT, out, outJson, say, UsageError } from '../lib/output.js';

/** `a,b` and repeated flags both give lists. */
function list(v: readonly (string | number)[] | string | undefined): string[] {
  const items = v === undefined ? [] : Array.isArray(v) ? v : [v];
  return items.flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter((s) => s !== '');
}

/** Experiment names from the positional targets: experiments and suites, in order, each once (the last suite named wins). */
export function expandTargets(targets: readonly string[]): { experiments: string[]; suite: (Suite & { name: string }) | null } {
  const names: string[] = [];
  let suite: (Suite & { name: string }) | null = null;
  for (const t of targets) {
    const s = Object.hasOwn(SUITES, t) ? SUITES[t] : undefined;
    if (s !== undefined) {
      suite = { ...s, name: t };
      names.push(...s.experiments);
    } else if (Object.hasOwn(EXPERIMENTS, t)) names.push(t);
    else throw new UsageError(`"${t}" is neither an experiment (${EXPERIMENT_NAMES.join(', ')}) nor a suite (${Object.keys(SUITES).join(', ')})`);
  }
  return { experiments: [...new Set(names)], suite };
}

export const runCommand = defineCommand({
  command: 'run <targets..>',
  describe: `run experiments (${EXPERIMENT_NAMES.join(', ')}) or a suite (${Object.keys(SUITES).join(', ')}) and write their report`,
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('targets', { type: 'string', array: true, demandOption: true, describe: 'experiments and/or suites' })
      .option('platform', {
        type: 'string',
        array: true,
        default: ['microfunctions'],
        describe: `platform adapter(s), comma-separated or repeated (${ADAPTER_NAMES.join(', ')}); with several, each remote one connects through its own environment variables (docs/platforms.md)`,
      })
      .option('backend', { type: 'string', array: true, describe: 'sandbox backend(s), comma-separated or repeated', defaultDescription: 'process' })
      .option('preset', { type: 'string', array: true, describe: 'policy preset(s), comma-separated or repeated', defaultDescription: 'grouped' })
      .option('pool-size', { type: 'number', describe: 'embedded platform: pre-booted runtimes per sandbox', defaultDescription: 'platform default' })
      .option('worker-start', { type: 'string', choices: ['first-use', 'deploy'], describe: 'embedded platform: when workers start' })
      .option('keep-history', {
        type: 'boolean',
        default: false,
        describe: 'embedded platform: record execution history as `mfbench platform start` does (off in experiments: it is not part of the execution path; docs/experiments.md)',
      })
      .option('broker', {
        type: 'string',
        describe: 'embedded platform: global bus and global storage on this NATS JetStream broker, nats://host:port (docs/distributed.md); the manifest records it',
        defaultDescription: 'embedded journals',
      })
      .option('cpus', {
        type: 'string',
        choices: ['auto', 'split', 'shared'],
        describe: 'embedded platform: pin it and the load generator to different CPUs (split), do so unless the machine is oversubscribed (auto), or leave both to the scheduler (shared); the manifest records the placement',
        defaultDescription: 'auto',
      })
      .option('count', { type: 'number', describe: 'chaos: async executions to submit (docs/experiments.md#chaos)', defaultDescription: 'the size\'s: 200 quick, 1000 full' })
      .option('quick', { type: 'boolean', default: false, describe: 'quick sizes (the `quick` suite implies it)' })
      .option('seed', { type: 'number', default: 1, describe: 'seed of the input generators and schedules' })
      .option('out', { type: 'string', describe: 'run directory to create', defaultDescription: 'results/runs/<run-id>' })
      .option('report', { type: 'boolean', default: true, describe: 'process the run (CSV, figures, HTML) when it ends (--no-report skips)' })
      .option('json', { type: 'boolean', default: false, describe: 'print only {runDir, report, status, experiments, ...} as JSON on stdout' }),
  handler: async (argv) => {
    const started = performance.now();
    const { experiments, suite } = expandTargets(list(argv.targets));
    const size: Size = suite?.size ?? (argv.quick ? 'quick' : 'full');
    const platforms = list(argv.platform);
    for (const name of platforms) if (!isAdapterName(name)) throw new UsageError(`--platform ${name}: known platforms are ${ADAPTER_NAMES.join(', ')}`);
    if (platforms.length > 1 && (argv.url !== undefined || argv.token !== undefined)) {
      throw new UsageError('--url and --token name one platform: with several --platform values, remote platforms connect through their environment variables (docs/platforms.md)');
    }
    const backends = list(argv.backend);
    const asked = list(argv.preset);
    // A suite's presets apply to the platforms that offer them (the claims compare grouped with per-function).
    const presets = asked.length > 0 || suite?.presets === undefined ? asked : suite.presets.filter((p) => platforms.some((n) => (ADAPTERS[n as AdapterName].presets as readonly string[]).includes(p)));
    // A backend or preset applies to the platforms that offer it; one no named platform offers is a mistake.
    const offered = (pick: (e: AdapterEntry) => readonly string[]) => new Set(platforms.flatMap((n) => [...pick(ADAPTERS[n as AdapterName])]));
    for (const b of backends) if (!offered((e) => e.backends).has(b)) throw new UsageError(`--backend ${b}: ${platforms.join(', ')} offer ${[...offered((e) => e.backends)].join(', ') || 'none'}`);
    for (const p of presets) if (!offered((e) => e.presets).has(p)) throw new UsageError(`--preset ${p}: ${platforms.join(', ')} offer ${[...offered((e) => e.presets)].join(', ') || 'none'}`);
    if (argv.broker !== undefined && !platforms.some((n) => ADAPTERS[n as AdapterName].embedded)) {
      throw new UsageError(`--broker configures the embedded MicroFunctions platform; ${platforms.join(', ')} ${platforms.length > 1 ? 'have' : 'has'} none`);
    }
    const variants: Variant[] = [];
    for (const platform of platforms) {
      const entry: AdapterEntry = ADAPTERS[platform as AdapterName];
      const own = (asked: string[], offers: readonly string[]) => {
        const mine = asked.filter((x) => offers.includes(x));
        // Unset (or none of this platform's): its first one, or '-' where it has no such dimension.
        return mine.length > 0 ? mine : [offers[0] ?? NOT_APPLICABLE];
      };
      for (const backend of own(backends, entry.backends)) {
        for (const preset of own(presets, entry.presets)) {
          const v: Variant = { platform, backend, preset };
          if (argv.url !== undefined) v.url = argv.url;
          if (argv.token !== undefined) v.token = argv.token;
          if (entry.embedded && argv.poolSize !== undefined) v.poolSize = argv.poolSize;
          if (entry.embedded && argv.cpus !== undefined) v.cpus = argv.cpus as Variant['cpus'] & string;
          if (entry.embedded && argv.workerStart !== undefined) v.workerStart = argv.workerStart as Variant['workerStart'] & string;
          if (entry.embedded && (argv.keepHistory || argv.broker !== undefined)) {
            v.platformConfig = { ...(argv.keepHistory ? { keepHistory: true } : {}), ...(argv.broker !== undefined ? { broker: argv.broker } : {}) };
          }
          variants.push(v);
        }
      }
    }
    if (argv.count !== undefined && (!Number.isInteger(argv.count) || argv.count < 1)) throw new UsageError(`--count ${argv.count}: a positive whole number of executions`);
    if (argv.count !== undefined && !experiments.includes('chaos')) throw new UsageError('--count sets the chaos experiment\'s executions; chaos is not among the targets');
    // --count replaces the chaos size config's count (the manifest records the config that ran).
    const configs = argv.count !== undefined ? { ...suite?.configs?.[size], chaos: { ...(suite?.configs?.[size]?.chaos ?? EXPERIMENTS.chaos.sizes[size]), count: argv.count } } : suite?.configs?.[size];
    // Loaded here, not at the top: every CLI start loads this module for its help text.
    const [{ createProgress }, { runExperiments }] = await Promise.all([import('../../experiments/runner/progress.js'), import('../../experiments/runner/runner.js')]);
    const progress = createProgress('auto');
    const result = await runExperiments({
      experiments,
      size,
      seed: argv.seed,
      variants,
      progress,
      ...(suite !== null ? { suite: suite.name } : {}),
      ...(configs !== undefined ? { configs } : {}),
      ...(argv.out !== undefined ? { dir: resolve(argv.out) } : {}),
    });
    say(`raw records and manifest: ${result.dir}`);
    let report: string | null = null;
    let summaries: Record<string, unknown> = {};
    if (argv.report) {
      progress.note('processing: CSV, summaries, figures (SVG, PNG), HTML report');
      // Loaded here: vega and sharp are heavy, and only this step needs them.
      const { processRun } = await import('../../report/process.js');
      const processed = await processRun(result.dir, findExperiment, RUN_STEPS);
      report = processed.report;
      summaries = processed.summaries;
      say(`report: ${report}`);
    }
    const elapsedMs = Math.round(performance.now() - started);
    const m = result.run.manifest;
    if (argv.json) {
      outJson({
        runDir: result.dir,
        report,
        status: m.status,
        size,
        seed: argv.seed,
        elapsedMs,
        experiments: m.experiments.map((e) => ({ name: e.name, status: e.status, requests: e.requests, durationMs: e.durationMs, ...(e.error ? { error: e.error } : {}) })),
        summaries,
      });
    } else {
      out(result.dir);
      if (report !== null) out(report);
    }
    say(`done in ${(elapsedMs / 1000).toFixed(1)} s${result.failed.length > 0 ? `; FAILED: ${result.failed.map((f) => f.experiment).join(', ')}` : ''}`);
    return result.failed.length === 0 ? EXIT.ok : EXIT.failed;
  },
});
