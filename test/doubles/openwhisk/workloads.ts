/** Workloads for the OpenWhisk tests: a Choice/Parallel/Map workflow (runs through the conductor), a failing function. */
import { join } from 'node:path';
import { loadStateMachine, runExecution } from '../../../dist/platform/asl/index.js';
import { workloadDir } from '../../../dist/workloads/paths.js';
import type { AnyWorkload } from '../../../dist/workloads/index.js';

const NOOP = join(workloadDir('noop-chain'), 'functions', 'noop');
const SLEEP = join(workloadDir('sleep'), 'functions', 'sleep');
const THROWER = Buffer.from(
  "export const handler = async (event) => { if (event && event.fail) { const e = new Error('asked to fail'); e.name = 'Boom'; throw e; } return event; };\n",
).toString('base64');

export const BRANCHY = {
  Comment: 'Choice, Parallel and Map: not a plain chain, so it runs through the conductor',
  StartAt: 'Pick',
  States: {
    Pick: { Type: 'Choice', Choices: [{ Variable: '$.n', NumericGreaterThan: 500000, Next: 'Big' }], Default: 'Small' },
    Big: { Type: 'Task', Resource: 'step1', ResultPath: '$.picked', Next: 'Fan' },
    Small: { Type: 'Task', Resource: 'step2', ResultPath: '$.picked', Next: 'Fan' },
    Fan: {
      Type: 'Parallel',
      Branches: [
        { StartAt: 'A', States: { A: { Type: 'Task', Resource: 'step1', InputPath: '$.n', End: true } } },
        { StartAt: 'B', States: { B: { Type: 'Pass', Result: 'b', End: true } } },
      ],
      ResultPath: '$.fan',
      Next: 'Each',
    },
    Each: { Type: 'Map', ItemsPath: '$.items', ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'M', States: { M: { Type: 'Task', Resource: 'step2', End: true } } }, ResultPath: '$.mapped', Next: 'Guarded' },
    Guarded: {
      Type: 'Task',
      Resource: 'thrower',
      Parameters: { 'fail.$': '$.fail' },
      Catch: [{ ErrorEquals: ['Boom'], ResultPath: '$.caught', Next: 'Done' }],
      ResultPath: '$.guarded',
      Next: 'Done',
    },
    Done: { Type: 'Succeed' },
  },
};

/** A definition as AWS's console writes them today: JSONata and a workflow variable (runs through the conductor). */
export const MODERN = {
  QueryLanguage: 'JSONata',
  StartAt: 'Keep',
  States: {
    Keep: { Type: 'Pass', Assign: { n: '{% $states.input.n %}' }, Next: 'Step' },
    Step: { Type: 'Task', Resource: 'step1', Arguments: { doubled: '{% $n * 2 %}' }, Output: '{% { "doubled": $states.result.doubled, "n": $n } %}', End: true },
  },
};

/** What BRANCHY gives for an input, computed with our engine in this process (every function returns its event). */
export async function branchyLocally(input: unknown): Promise<unknown> {
  const machine = loadStateMachine(BRANCHY, 'branchy');
  const r = await runExecution(machine, input, {
    invoke: async (call) => {
      if (call.functionName === 'thrower' && (call.input as { fail?: boolean }).fail) {
        const { TaskFailure } = await import('../../../dist/platform/asl/index.js');
        throw new TaskFailure('Boom', JSON.stringify({ errorType: 'Boom', errorMessage: 'asked to fail', trace: [] }));
      }
      return call.input;
    },
    executionId: 'local',
    executionName: 'local',
    startTime: new Date().toISOString(),
  });
  return r.status === 'SUCCEEDED' ? r.output : r;
}

export interface BranchyInput {
  n: number;
  items: number[];
  fail: boolean;
}

/** Same shape as a registered workload; validateOutput ignores the Catch's Cause text (stack traces differ). */
export function branchyWorkload(expected: Map<string, unknown>, extra: { memoryMB?: number } = {}): AnyWorkload {
  return {
    name: 'branchy',
    description: 'test: Choice, Parallel, Map, Catch',
    sizes: {},
    params: {},
    workflow: 'main',
    app: () => ({
      name: 'branchy',
      functions: [
        { name: 'step1', handler: 'index.handler', code: { dir: NOOP } },
        { name: 'step2', handler: 'index.handler', code: { dir: NOOP }, ...extra },
        { name: 'thrower', handler: 'index.handler', code: { files: { 'index.mjs': THROWER } } },
        { name: 'sleeper', handler: 'index.handler', code: { dir: SLEEP }, timeoutSeconds: 0.5 },
      ],
      workflows: {
        main: BRANCHY,
        chain: { StartAt: 'One', States: { One: { Type: 'Task', Resource: 'step1', Next: 'Two' }, Two: { Type: 'Task', Resource: 'thrower', End: true } } },
        modern: MODERN,
      },
    }),
    generateInput: (_size: string, seed: number) => ({ n: seed * 100_000, items: [seed, seed + 1, seed + 2], fail: seed % 2 === 0 }),
    validateOutput: (input: BranchyInput, output: unknown) => {
      const want = expected.get(JSON.stringify(input));
      if (want === undefined) return { ok: true as const };
      const strip = (v: unknown) => JSON.parse(JSON.stringify(v, (k, x) => (k === 'Cause' ? '…' : x)));
      return JSON.stringify(strip(output)) === JSON.stringify(strip(want)) ? { ok: true as const } : { ok: false as const, reason: `got ${JSON.stringify(output)}, want ${JSON.stringify(want)}` };
    },
  };
}
