/**
 * Workflow variables in JSONPath states: Assign, `$name` references, evaluation order, scopes, names, size limits
 * and the deploy-time check of never-assigned variables. Rules from AWS's "Passing data between states with
 * variables" page (docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html).
 */
import { describe, expect, test } from 'vitest';
import type { MfError } from '../errors.js';
import { TaskFailure, compileStateMachine, runExecution, type TaskInvoker } from './index.js';
import type { Problem } from './load.js';
import { MAX_VARIABLE_BYTES, Variables, jsonBytes } from './variables.js';

const echo: TaskInvoker = async ({ input }) => input;

function run(definition: object, input: unknown, invoke: TaskInvoker = echo) {
  const machine = compileStateMachine(definition, { name: 'vars', functionNames: new Set(['fn', 'fail']) });
  return runExecution(machine, input, { invoke, executionId: 'e-1', executionName: 'e-1', startTime: '2024-11-14T10:00:00.000Z' });
}

function rejection(definition: object): MfError {
  try {
    compileStateMachine(definition, { name: 'vars', functionNames: new Set(['fn']) });
  } catch (e) {
    return e as MfError;
  }
  throw new Error('expected the definition to be rejected');
}
const problems = (e: MfError) => e.details.problems as Problem[];

describe('Assign and $name references (JSONPath states)', () => {
  test("the page's first example: literal values, read back with $name anywhere a path is accepted", async () => {
    const def = {
      StartAt: 'Set',
      States: {
        // workflow-variables.html, "Assigning variables": productName / count / available.
        Set: { Type: 'Pass', Assign: { productName: 'product1', count: 42, available: true }, Next: 'Use' },
        Use: {
          Type: 'Pass',
          Parameters: { 'name.$': '$productName', 'count.$': '$count', 'label.$': "States.Format('{} x{}', $productName, $count)" },
          Next: 'Check',
        },
        Check: { Type: 'Choice', Choices: [{ Variable: '$available', BooleanEquals: true, Next: 'Done' }], Default: 'Nope' },
        Nope: { Type: 'Fail', Error: 'NotAvailable' },
        Done: { Type: 'Succeed' },
      },
    };
    expect(await run(def, {})).toEqual({ status: 'SUCCEEDED', output: { name: 'product1', count: 42, label: 'product1 x42' } });
  });

  test('$var.path and $var[...] read into a variable; InputPath, ItemsPath, OutputPath and ErrorPath/CausePath accept them', async () => {
    const def = {
      StartAt: 'Keep',
      States: {
        Keep: { Type: 'Pass', Assign: { 'order.$': '$' }, Next: 'Items' },
        Items: { Type: 'Map', ItemsPath: '$order.lines', ItemProcessor: { StartAt: 'Q', States: { Q: { Type: 'Pass', InputPath: '$.qty', End: true } } }, ResultPath: '$.qtys', Next: 'Out' },
        Out: { Type: 'Pass', InputPath: "$order['id']", ResultPath: '$.id', OutputPath: '$', Next: 'Fail' },
        Fail: { Type: 'Fail', ErrorPath: '$order.lines[0].sku', CausePath: "States.Format('order {}', $order.id)" },
      },
    };
    expect(await run(def, { id: 'o-7', lines: [{ sku: 'A', qty: 2 }, { sku: 'B', qty: 3 }] })).toEqual({ status: 'FAILED', error: 'A', cause: 'order o-7' });
  });

  test("Assign sees the state's result: after ResultSelector, before ResultPath; OutputPath does not change it", async () => {
    const def = {
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: 'fn',
          ResultSelector: { 'picked.$': '$.value' },
          Assign: { 'fromResult.$': '$.picked', 'all.$': '$' },
          ResultPath: '$.r',
          OutputPath: '$.r',
          Next: 'Show',
        },
        Show: { Type: 'Pass', Parameters: { 'fromResult.$': '$fromResult', 'all.$': '$all', 'input.$': '$' }, End: true },
      },
    };
    const r = await run(def, { value: 9, other: 1 });
    expect(r).toEqual({ status: 'SUCCEEDED', output: { fromResult: 9, all: { picked: 9 }, input: { picked: 9 } } });
  });

  test('all assignments of a state see the values from before it; its own InputPath/Parameters/OutputPath do too', async () => {
    const def = {
      StartAt: 'Init',
      States: {
        Init: { Type: 'Pass', Assign: { a: 1, b: 2 }, Next: 'Swap' },
        // A swap works only if every right-hand side reads the old values.
        Swap: { Type: 'Pass', Parameters: { 'seenA.$': '$a' }, Assign: { 'a.$': '$b', 'b.$': '$a' }, OutputPath: '$', Next: 'Show' },
        Show: { Type: 'Pass', Parameters: { 'a.$': '$a', 'b.$': '$b', 'before.$': '$.seenA' }, End: true },
      },
    };
    expect(await run(def, {})).toEqual({ status: 'SUCCEEDED', output: { a: 2, b: 1, before: 1 } });
  });

  test('Pass: Assign sees Parameters (or Result); Wait and Choice rules see the effective input', async () => {
    const def = {
      StartAt: 'P',
      States: {
        P: { Type: 'Pass', InputPath: '$.in', Parameters: { 'doubled.$': 'States.MathAdd($.n, $.n)' }, Assign: { 'd.$': '$.doubled' }, Next: 'R' },
        R: { Type: 'Pass', Result: { fixed: 'r' }, Assign: { 'f.$': '$.fixed' }, ResultPath: null, Next: 'W' },
        W: { Type: 'Wait', Seconds: 0, InputPath: '$', Assign: { 'w.$': '$.doubled' }, Next: 'C' },
        C: {
          Type: 'Choice',
          Choices: [
            { Variable: '$.doubled', NumericGreaterThan: 100, Next: 'End', Assign: { branch: 'big' } },
            { Variable: '$.doubled', NumericEquals: 7, Next: 'End' },
          ],
          Default: 'End',
          Assign: { 'branch.$': "States.Format('small {}', $.doubled)" },
        },
        End: { Type: 'Pass', Parameters: { 'd.$': '$d', 'f.$': '$f', 'w.$': '$w', 'branch.$': '$branch' }, End: true },
      },
    };
    expect(await run(def, { in: { n: 4 } })).toEqual({ status: 'SUCCEEDED', output: { d: 8, f: 'r', w: 8, branch: 'small 8' } });
  });

  test("a catcher's Assign sees the error output; the state's own Assign does not run when it fails", async () => {
    const boom: TaskInvoker = async () => {
      throw new TaskFailure('Oops', '{"errorMessage":"no"}');
    };
    const def = {
      StartAt: 'Set',
      States: {
        Set: { Type: 'Pass', Assign: { status: 'started' }, Next: 'T' },
        T: {
          Type: 'Task',
          Resource: 'fail',
          Assign: { status: 'done' },
          Catch: [{ ErrorEquals: ['States.ALL'], Assign: { 'status.$': "States.Format('failed: {}', $.Error)", 'cause.$': '$.Cause' }, ResultPath: '$.err', Next: 'Show' }],
          End: true,
        },
        Show: { Type: 'Pass', Parameters: { 'status.$': '$status', 'cause.$': '$cause', 'err.$': '$.err.Error' }, End: true },
      },
    };
    expect(await run(def, {}, boom)).toEqual({ status: 'SUCCEEDED', output: { status: 'failed: Oops', cause: '{"errorMessage":"no"}', err: 'Oops' } });
  });

  test('a variable assigned later but not yet is a States.Runtime error naming it', async () => {
    const def = {
      StartAt: 'Read',
      States: {
        Read: { Type: 'Pass', Parameters: { 'v.$': '$later' }, Next: 'Set' },
        Set: { Type: 'Pass', Assign: { later: 1 }, End: true },
      },
    };
    const r = await run(def, {});
    expect(r).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(r.status === 'FAILED' && r.cause).toContain("'$later'");
  });
});

describe('scope: Parallel branches and Map iterations', () => {
  test('inner states read outer variables; their assignments stay inside (each iteration has its own)', async () => {
    const def = {
      StartAt: 'Set',
      States: {
        Set: { Type: 'Pass', Assign: { factor: 10, tag: 'outer' }, Next: 'Each' },
        Each: {
          Type: 'Map',
          ItemsPath: '$.items',
          ItemSelector: { 'v.$': '$$.Map.Item.Value', 'f.$': '$factor' },
          ItemProcessor: {
            StartAt: 'Mine',
            States: {
              Mine: { Type: 'Pass', Assign: { 'tag.$': "States.Format('item {}', $.v)" }, Next: 'Use' },
              Use: { Type: 'Pass', Parameters: { 'tag.$': '$tag', 'scaled.$': 'States.MathAdd($.v, $factor)' }, End: true },
            },
          },
          ResultPath: '$.mapped',
          Next: 'Both',
        },
        Both: {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'B1', States: { B1: { Type: 'Pass', Assign: { tag: 'branch' }, Next: 'B2' }, B2: { Type: 'Pass', Parameters: { 'tag.$': '$tag' }, End: true } } },
            { StartAt: 'C1', States: { C1: { Type: 'Pass', Parameters: { 'tag.$': '$tag' }, End: true } } },
          ],
          ResultPath: '$.branches',
          Next: 'After',
        },
        After: { Type: 'Pass', Parameters: { 'tag.$': '$tag', 'mapped.$': '$.mapped', 'branches.$': '$.branches' }, End: true },
      },
    };
    expect(await run(def, { items: [1, 2] })).toEqual({
      status: 'SUCCEEDED',
      output: {
        tag: 'outer',
        mapped: [
          { tag: 'item 1', scaled: 11 },
          { tag: 'item 2', scaled: 12 },
        ],
        branches: [{ tag: 'branch' }, { tag: 'outer' }],
      },
    });
  });

  test("a variable assigned only inside a branch is unknown outside it (rejected at deploy)", () => {
    const def = {
      StartAt: 'Par',
      States: {
        Par: { Type: 'Parallel', Branches: [{ StartAt: 'In', States: { In: { Type: 'Pass', Assign: { inner: 1 }, End: true } } }], Next: 'Out' },
        Out: { Type: 'Pass', Parameters: { 'v.$': '$inner' }, End: true },
      },
    };
    const e = rejection(def);
    expect(e.code).toBe('MF_ASL_INVALID');
    expect(problems(e)[0]).toMatchObject({ state: 'Out', path: "$.States.Out.Parameters['v.$']" });
    expect(problems(e)[0]!.message).toContain("'$inner' is never assigned");
  });
});

describe('deploy-time validation', () => {
  test.each<[string, object, string, string]>([
    ['an unassigned variable in a path', { Type: 'Pass', Parameters: { 'v.$': '$nope' } }, "$.States.S.Parameters['v.$']", "'$nope' is never assigned"],
    ['an unassigned variable in an intrinsic', { Type: 'Pass', Parameters: { 'v.$': "States.Format('{}', $nope.x)" } }, "$.States.S.Parameters['v.$']", "'$nope'"],
    ['an unassigned Choice Variable', { Type: 'Choice', Choices: [{ Variable: '$nope', IsPresent: true, Next: 'T' }], Default: 'T' }, '$.States.S.Choices[0].Variable', "'$nope'"],
    ['a reserved name', { Type: 'Pass', Assign: { states: 1 } }, '$.States.S.Assign.states', 'reserved'],
    ['a name that is not an identifier', { Type: 'Pass', Assign: { '1st': 1 } }, "$.States.S.Assign['1st']", 'not a valid variable name'],
    ['a name with a hyphen', { Type: 'Pass', Assign: { 'a-b': 1 } }, "$.States.S.Assign['a-b']", 'not a valid variable name'],
    ['a name over 80 characters', { Type: 'Pass', Assign: { ['v'.repeat(81)]: 1 } }, `$.States.S.Assign.${'v'.repeat(81)}`, 'longer than 80'],
    ['Assign that is not an object', { Type: 'Pass', Assign: [1] }, '$.States.S.Assign', 'must be an object'],
    ['Assign on Succeed', { Type: 'Succeed', Assign: { a: 1 } }, '$.States.S.Assign', 'cannot have Assign'],
    ['a variable as ResultPath', { Type: 'Pass', Assign: { a: 1 }, ResultPath: '$a' }, '$.States.S.ResultPath', "must start with '$'"],
  ])('%s', (_label, state, path, message) => {
    // S ends (or, for a Choice, goes to T); T is unreachable otherwise, a second problem the test ignores.
    const type = (state as { Type: string }).Type;
    const def = { StartAt: 'S', States: { S: type === 'Choice' || type === 'Succeed' ? state : { ...state, End: true }, T: { Type: 'Succeed' } } };
    const e = rejection(def);
    expect(e.code).toBe('MF_ASL_INVALID');
    const p = problems(e).find((x) => x.path === path);
    expect(p, JSON.stringify(problems(e))).toBeDefined();
    expect(p!.message).toContain(message);
  });
});

describe('size limits', () => {
  test('jsonBytes counts JSON bytes (UTF-8) and stops past the limit', () => {
    expect(jsonBytes({ a: 'é', b: [1, true, null] }, 1000)).toBe(JSON.stringify({ a: 'é', b: [1, true, null] }).length + 1);
    expect(jsonBytes('x'.repeat(5000), 10)).toBeGreaterThan(10);
  });

  test('a variable over 256 KiB fails the execution with States.DataLimitExceeded naming the variable', async () => {
    const big: TaskInvoker = async () => 'x'.repeat(MAX_VARIABLE_BYTES);
    const def = {
      StartAt: 'T',
      States: {
        T: { Type: 'Task', Resource: 'fn', Assign: { 'blob.$': '$' }, Next: 'Done' },
        Done: { Type: 'Succeed' },
      },
    };
    const r = await run(def, {}, big);
    expect(r).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(r.status === 'FAILED' && r.cause).toContain("'blob'");
  });

  test('the scope total counts outer scopes and replaced values only once', () => {
    const root = Variables.root();
    const chunk = 'y'.repeat(200 * 1024);
    for (let i = 0; i < 40; i++) root.assign({ [`v${i}`]: chunk }, 'S');
    root.assign({ v0: chunk }, 'S'); // replacing does not add
    const inner = root.child();
    expect(() => {
      for (let i = 0; i < 20; i++) inner.assign({ [`w${i}`]: chunk }, 'Inner');
    }).toThrow(expect.objectContaining({ error: 'States.DataLimitExceeded' }));
    expect(inner.read('v3')).toBe(chunk);
    expect(root.read('w0')).toBeUndefined();
  });
});

describe('checkpoints (recovery)', () => {
  test('onTransition hands out the top-level variables; resumeAt with them continues as if never interrupted', async () => {
    const def = {
      StartAt: 'A',
      States: {
        A: { Type: 'Pass', Assign: { 'seen.$': '$.n' }, Next: 'B' },
        B: { Type: 'Pass', Assign: { more: 'b' }, Next: 'C' },
        C: { Type: 'Pass', Parameters: { 'seen.$': '$seen', 'more.$': '$more' }, End: true },
      },
    };
    const machine = compileStateMachine(def, { name: 'vars', functionNames: new Set() });
    const base = { invoke: echo, executionId: 'e-1', executionName: 'e-1', startTime: '2024-11-14T10:00:00.000Z' };
    const checkpoints: Array<{ next: string; input: unknown; variables: Readonly<Record<string, unknown>> }> = [];
    const full = await runExecution(machine, { n: 3 }, { ...base, onTransition: (next, input, variables) => checkpoints.push({ next, input, variables }) });
    expect(full).toEqual({ status: 'SUCCEEDED', output: { seen: 3, more: 'b' } });
    const atC = checkpoints.find((c) => c.next === 'C')!;
    expect(atC.variables).toEqual({ seen: 3, more: 'b' });
    const resumed = await runExecution(machine, { n: 3 }, { ...base, resumeAt: { state: 'C', input: atC.input, variables: atC.variables } });
    expect(resumed).toEqual(full);
  });
});

describe('Choice Assign', () => {
  test("a matched rule without Assign uses the state's Assign; a rule's own Assign wins", async () => {
    const def = {
      StartAt: 'C',
      States: {
        C: {
          Type: 'Choice',
          Choices: [
            { Variable: '$.n', NumericEquals: 1, Next: 'End', Assign: { how: 'rule' } },
            { Variable: '$.n', NumericEquals: 2, Next: 'End' },
          ],
          Default: 'End',
          Assign: { 'how.$': "States.Format('state {}', $.n)" },
        },
        End: { Type: 'Pass', Parameters: { 'how.$': '$how' }, End: true },
      },
    };
    expect(await run(def, { n: 1 })).toEqual({ status: 'SUCCEEDED', output: { how: 'rule' } });
    expect(await run(def, { n: 2 })).toEqual({ status: 'SUCCEEDED', output: { how: 'state 2' } });
    expect(await run(def, { n: 3 })).toEqual({ status: 'SUCCEEDED', output: { how: 'state 3' } });
  });
});
