/**
 * JSONata states: Arguments, Output, Assign, Items, ItemSelector, Condition, Fail Error/Cause, Wait and Task
 * timeouts as expressions, `$states`, AWS's added functions, States.QueryEvaluationError, mixing with JSONPath
 * states, and the deploy-time checks. Rules and examples from AWS's "Transforming data with JSONata in Step
 * Functions" page (docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html) unless a test names another.
 */
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import type { MfError } from '../errors.js';
import { TaskFailure, compileStateMachine, loadStateMachine, runExecution, type TaskCall, type TaskInvoker } from './index.js';
import type { Problem } from './load.js';

const echo: TaskInvoker = async ({ input }) => input;

function run(definition: object, input: unknown, invoke: TaskInvoker = echo) {
  const machine = compileStateMachine(definition, { name: 'jsonata', functionNames: new Set(['fn', 'other']) });
  return runExecution(machine, input, { invoke, executionId: 'e-1', executionName: 'e-1', startTime: '2024-11-14T10:00:00.000Z' });
}
const jsonata = (states: object, startAt = Object.keys(states)[0]!) => ({ QueryLanguage: 'JSONata', StartAt: startAt, States: states });
const failedWith = (error: string) => ({ status: 'FAILED', error, cause: expect.any(String) });

function rejection(definition: object): MfError {
  try {
    compileStateMachine(definition, { name: 'jsonata', functionNames: new Set(['fn']) });
  } catch (e) {
    return e as MfError;
  }
  throw new Error('expected the definition to be rejected');
}
const problems = (e: MfError) => e.details.problems as Problem[];

describe('fields as JSONata', () => {
  test('Pass: Output builds JSON from constants and expressions over $states.input; without Output the input passes', async () => {
    const def = jsonata({
      Shape: {
        Type: 'Pass',
        Output: { static: 'Hello', title: '{% $uppercase($states.input.title) %}', nested: { total: '{% $sum($states.input.prices) %}', list: ['{% $states.input.title %}', 1] } },
        Next: 'Same',
      },
      Same: { Type: 'Pass', End: true },
    });
    expect(await run(def, { title: 'socks', prices: [1.5, 2] })).toEqual({
      status: 'SUCCEEDED',
      output: { static: 'Hello', title: 'SOCKS', nested: { total: 3.5, list: ['socks', 1] } },
    });
  });

  test('Task: Arguments is the function input; Output and Assign see $states.result and $states.input', async () => {
    const calls: TaskCall[] = [];
    const double: TaskInvoker = async (call) => {
      calls.push(call);
      return { doubled: (call.input as { n: number }).n * 2 };
    };
    const def = jsonata({
      T: {
        Type: 'Task',
        Resource: 'fn',
        Arguments: { n: '{% $states.input.value %}' },
        Assign: { last: '{% $states.result.doubled %}' },
        Output: { result: '{% $states.result.doubled %}', was: '{% $states.input.value %}' },
        Next: 'Show',
      },
      Show: { Type: 'Pass', Output: '{% $merge([$states.input, {"last": $last}]) %}', End: true },
    });
    expect(await run(def, { value: 21 }, double)).toEqual({ status: 'SUCCEEDED', output: { result: 42, was: 21, last: 42 } });
    expect(calls[0]!.input).toEqual({ n: 21 });
  });

  test('lambda:invoke takes FunctionName and Payload from Arguments, expressions included', async () => {
    const seen: string[] = [];
    const invoke: TaskInvoker = async ({ functionName, input }) => {
      seen.push(functionName);
      return input;
    };
    const def = jsonata({
      T: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Arguments: { FunctionName: '{% $states.input.fn %}', Payload: { x: '{% $states.input.x %}' } },
        Output: '{% $states.result.Payload %}',
        End: true,
      },
    });
    expect(await run(def, { fn: 'arn:aws:lambda:us-east-1:123456789012:function:other', x: 1 }, invoke)).toEqual({ status: 'SUCCEEDED', output: { x: 1 } });
    expect(seen).toEqual(['other']);
  });

  test("Choice: the first rule whose Condition is true wins; its Assign and Output apply, else the state's (as for Default)", async () => {
    const def = jsonata({
      Pick: {
        Type: 'Choice',
        Choices: [
          { Condition: '{% $states.input.n > 10 %}', Next: 'Done', Assign: { size: 'big' }, Output: { n: '{% $states.input.n %}' } },
          { Condition: '{% $states.input.n > 5 %}', Next: 'Done', Assign: { size: 'medium' } },
        ],
        Default: 'Done',
        Assign: { size: 'small' },
        Output: { default: true },
      },
      Done: { Type: 'Pass', Output: { size: '{% $size %}', input: '{% $states.input %}' }, End: true },
    });
    expect(await run(def, { n: 11 })).toEqual({ status: 'SUCCEEDED', output: { size: 'big', input: { n: 11 } } });
    expect(await run(def, { n: 6 })).toEqual({ status: 'SUCCEEDED', output: { size: 'medium', input: { default: true } } });
    expect(await run(def, { n: 1 })).toEqual({ status: 'SUCCEEDED', output: { size: 'small', input: { default: true } } });
  });

  test('Map: Items, ItemSelector with $states.context.Map.Item, MaxConcurrency as an expression; iterations read outer variables', async () => {
    let running = 0;
    let peak = 0;
    const slow: TaskInvoker = async ({ input }) => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      return input;
    };
    const def = jsonata({
      Set: { Type: 'Pass', Assign: { prefix: 'item' }, Next: 'Each' },
      Each: {
        Type: 'Map',
        Items: '{% $states.input.orders[status = "open"] %}',
        ItemSelector: { index: '{% $states.context.Map.Item.Index %}', id: '{% $states.context.Map.Item.Value.id %}', label: '{% $prefix %}' },
        MaxConcurrency: '{% $states.input.width %}',
        ItemProcessor: { StartAt: 'Work', States: { Work: { Type: 'Task', Resource: 'fn', End: true } } },
        Output: '{% $states.result.(label & "-" & $string(index) & ":" & id) %}',
        End: true,
      },
    });
    const orders = [{ id: 'a', status: 'open' }, { id: 'b', status: 'closed' }, { id: 'c', status: 'open' }, { id: 'd', status: 'open' }];
    expect(await run(def, { orders, width: 2 }, slow)).toEqual({ status: 'SUCCEEDED', output: ['item-0:a', 'item-1:c', 'item-2:d'] });
    expect(peak).toBeLessThanOrEqual(2);
  });

  test('Map without Items iterates its input; Items that is not an array is a QueryEvaluationError', async () => {
    const processor = { StartAt: 'P', States: { P: { Type: 'Pass', Output: '{% $states.input * 10 %}', End: true } } };
    expect(await run(jsonata({ M: { Type: 'Map', ItemProcessor: processor, End: true } }), [1, 2])).toEqual({ status: 'SUCCEEDED', output: [10, 20] });
    expect(await run(jsonata({ M: { Type: 'Map', Items: '{% $states.input.one %}', ItemProcessor: processor, End: true } }), { one: 5 })).toEqual(failedWith('States.QueryEvaluationError'));
  });

  test('Parallel: Arguments go to every branch; Output sees the branch results', async () => {
    const def = jsonata({
      Both: {
        Type: 'Parallel',
        Arguments: { n: '{% $states.input.n %}' },
        Branches: [
          { StartAt: 'A', States: { A: { Type: 'Pass', Output: '{% $states.input.n + 1 %}', End: true } } },
          { StartAt: 'B', States: { B: { Type: 'Pass', Output: '{% $states.input.n * 2 %}', End: true } } },
        ],
        Output: { sum: '{% $sum($states.result) %}' },
        End: true,
      },
    });
    expect(await run(def, { n: 5 })).toEqual({ status: 'SUCCEEDED', output: { sum: 16 } });
  });

  test('Wait: Seconds and Timestamp as expressions; a bad value is a QueryEvaluationError', async () => {
    const def = jsonata({
      W1: { Type: 'Wait', Seconds: '{% $states.input.s %}', Next: 'W2' },
      W2: { Type: 'Wait', Timestamp: '{% $states.input.at %}', Output: { waited: true }, End: true },
    });
    expect(await run(def, { s: 0, at: '2016-03-14T01:59:00Z' })).toEqual({ status: 'SUCCEEDED', output: { waited: true } });
    expect(await run(def, { s: 1.5, at: '2016-03-14T01:59:00Z' })).toEqual(failedWith('States.QueryEvaluationError'));
    expect(await run(def, { s: 0, at: 'yesterday' })).toEqual(failedWith('States.QueryEvaluationError'));
  });

  test('Fail: Error and Cause as expressions', async () => {
    const def = jsonata({ F: { Type: 'Fail', Error: '{% "Bad." & $states.input.kind %}', Cause: '{% "order " & $states.input.id & " rejected" %}' } });
    expect(await run(def, { kind: 'Order', id: '7' })).toEqual({ status: 'FAILED', error: 'Bad.Order', cause: 'order 7 rejected' });
  });

  test('TimeoutSeconds as an expression bounds the Task; a non-integer is a QueryEvaluationError', async () => {
    const hang: TaskInvoker = ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    const def = jsonata({ T: { Type: 'Task', Resource: 'fn', TimeoutSeconds: '{% $states.input.t %}', End: true } });
    expect(await run(def, { t: 1 }, hang)).toEqual(failedWith('States.Timeout'));
    expect(await run(def, { t: 0.5 }, hang)).toEqual(failedWith('States.QueryEvaluationError'));
  });

  test('Catch: Output and Assign see $states.errorOutput; the error output is the default output', async () => {
    let attempts = 0;
    const flaky: TaskInvoker = async () => {
      attempts++;
      throw new TaskFailure('Flaky', 'try again');
    };
    const def = jsonata({
      T: {
        Type: 'Task',
        Resource: 'fn',
        Retry: [{ ErrorEquals: ['Flaky'], MaxAttempts: 1, IntervalSeconds: 1, BackoffRate: 1, JitterStrategy: 'NONE' }],
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Handle', Assign: { why: '{% $states.errorOutput.Cause %}' }, Output: { error: '{% $states.errorOutput.Error %}', input: '{% $states.input %}' } }],
        End: true,
      },
      Handle: { Type: 'Pass', Output: '{% $merge([$states.input, {"why": $why}]) %}', End: true },
    });
    expect(await run(def, { id: 1 }, flaky)).toEqual({ status: 'SUCCEEDED', output: { error: 'Flaky', input: { id: 1 }, why: 'try again' } });
    expect(attempts).toBe(2);
    const plain = jsonata({ T: { Type: 'Task', Resource: 'fn', Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Done' }], End: true }, Done: { Type: 'Succeed' } });
    expect(await run(plain, {}, flaky)).toEqual({ status: 'SUCCEEDED', output: { Error: 'Flaky', Cause: 'try again' } });
  });

  test('Output and Assign of one state both see the variables from before it', async () => {
    const def = jsonata({
      Init: { Type: 'Pass', Assign: { a: 1 }, Next: 'Step' },
      Step: { Type: 'Pass', Assign: { a: '{% $a + 1 %}', b: '{% $a %}' }, Output: { a: '{% $a %}' }, Next: 'Show' },
      Show: { Type: 'Pass', Output: { out: '{% $states.input.a %}', a: '{% $a %}', b: '{% $b %}' }, End: true },
    });
    expect(await run(def, {})).toEqual({ status: 'SUCCEEDED', output: { out: 1, a: 2, b: 1 } });
  });
});

describe("AWS's JSONata functions", () => {
  const value = async (expr: string, input: unknown = {}) => {
    const r = await run(jsonata({ P: { Type: 'Pass', Output: `{% ${expr} %}`, End: true } }), input);
    if (r.status !== 'SUCCEEDED') throw new Error(`${r.error}: ${r.cause}`);
    return r.output;
  };
  test('$partition, $range, $hash, $parse (the page’s examples)', async () => {
    expect(await value('$partition([1,2,3,4], 2)')).toEqual([[1, 2], [3, 4]]);
    expect(await value('$partition([1,2,3,4,5], 2)')).toEqual([[1, 2], [3, 4], [5]]);
    expect(await value('$range(0, 10, 2)')).toEqual([0, 2, 4, 6, 8, 10]);
    expect(await value('$range(5, 1, -2)')).toEqual([5, 3, 1]);
    expect(await value('$hash("input data", "SHA-256")')).toBe(createHash('sha256').update('input data').digest('hex'));
    expect(await value('$hash("x", "MD5")')).toBe(createHash('md5').update('x').digest('hex'));
    expect(await value('$parse($states.input.json)', { json: '{"customer":{"name":"Jane"},"n":[1,2]}' })).toEqual({ customer: { name: 'Jane' }, n: [1, 2] });
  });
  test('$random (seeded: repeatable), $uuid (version 4)', async () => {
    const r = (await value('$random()')) as number;
    expect(r).toBeGreaterThanOrEqual(0);
    expect(r).toBeLessThan(1);
    expect(await value('$random(7)')).toBe(await value('$random(7)'));
    expect(await value('$uuid()')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
  test.each([
    ['$partition([1], 0)', 'chunk size'],
    ['$range(1, 5000, 1)', 'more than 1000'],
    ['$hash("x", "SHA-3")', 'algorithm'],
    ['$parse("{nope")', 'not JSON'],
  ])('%s is a QueryEvaluationError', async (expr, message) => {
    const r = await run(jsonata({ P: { Type: 'Pass', Output: `{% ${expr} %}`, End: true } }), {});
    expect(r).toEqual(failedWith('States.QueryEvaluationError'));
    expect(r.status === 'FAILED' && r.cause).toContain(message);
  });
});

describe('States.QueryEvaluationError', () => {
  test('an expression that fails names the state, the field and the expression; States.ALL catches it', async () => {
    const def = jsonata({
      P: { Type: 'Task', Resource: 'fn', Arguments: { n: '{% $states.input.n + 1 %}' }, Catch: [{ ErrorEquals: ['States.QueryEvaluationError'], Next: 'Caught' }], End: true },
      Caught: { Type: 'Succeed' },
    });
    const r = await run(def, { n: 'one' });
    expect(r).toMatchObject({ status: 'SUCCEEDED', output: { Error: 'States.QueryEvaluationError' } });
    const cause = (r as { output: { Cause: string } }).output.Cause;
    expect(cause).toContain("state 'P'");
    expect(cause).toContain("'$states.input.n + 1'");
    expect(cause).toContain("field 'Arguments.n'");
  });
  test('a field whose expression returns nothing fails; an object member that returns nothing is left out', async () => {
    expect(await run(jsonata({ P: { Type: 'Pass', Output: '{% $states.input.missing %}', End: true } }), {})).toEqual(failedWith('States.QueryEvaluationError'));
    expect(await run(jsonata({ P: { Type: 'Pass', Output: { a: '{% $states.input.missing %}', b: 1 }, End: true } }), {})).toEqual({ status: 'SUCCEEDED', output: { b: 1 } });
  });
  test('a hostile expression (endless recursion) fails within the guardrail and the engine goes on', async () => {
    const def = jsonata({ P: { Type: 'Pass', Output: '{% ($f := function($x){ $f($x + 1) }; $f(0)) %}', End: true } });
    const r = await run(def, {});
    expect(r).toEqual(failedWith('States.QueryEvaluationError'));
    expect(await run(jsonata({ P: { Type: 'Pass', Output: '{% 1 + 1 %}', End: true } }), {})).toEqual({ status: 'SUCCEEDED', output: 2 });
  });
  test('Condition must be a boolean', async () => {
    const def = jsonata({ C: { Type: 'Choice', Choices: [{ Condition: '{% $states.input.n %}', Next: 'D' }], Default: 'D' }, D: { Type: 'Succeed' } });
    expect(await run(def, { n: 1 })).toEqual(failedWith('States.QueryEvaluationError'));
  });
});

describe('mixing JSONPath and JSONata states', () => {
  test('a JSONPath machine may have JSONata states; variables are shared between them', async () => {
    const def = {
      StartAt: 'Path',
      States: {
        Path: { Type: 'Pass', Parameters: { 'n.$': '$.n' }, Assign: { 'fromPath.$': '$.n' }, Next: 'Ata' },
        Ata: { Type: 'Pass', QueryLanguage: 'JSONata', Assign: { fromAta: '{% $fromPath * 2 %}' }, Output: { n: '{% $states.input.n %}' }, Next: 'Back' },
        Back: { Type: 'Pass', Parameters: { 'a.$': '$fromAta', 'p.$': '$fromPath', 'n.$': '$.n' }, End: true },
      },
    };
    expect(await run(def, { n: 4 })).toEqual({ status: 'SUCCEEDED', output: { a: 8, p: 4, n: 4 } });
  });
});

describe('deploy-time validation', () => {
  const one = (state: object, top: object = { QueryLanguage: 'JSONata' }) => ({ ...top, StartAt: 'S', States: { S: state } });
  test.each<[string, object, string, string]>([
    ['an expression that does not parse', one({ Type: 'Pass', Output: { a: '{% 1 + %}' }, End: true }), '$.States.S.Output', "field 'Output.a'"],
    ['an empty expression', one({ Type: 'Pass', Output: '{%  %}', End: true }), '$.States.S.Output', 'empty'],
    ['Parameters in a JSONata state', one({ Type: 'Pass', Parameters: { a: 1 }, End: true }), '$.States.S.Parameters', 'not supported in a JSONata state'],
    ['InputPath in a JSONata state', one({ Type: 'Pass', InputPath: '$.a', End: true }), '$.States.S.InputPath', 'not supported in a JSONata state'],
    ['ResultPath in a JSONata catcher', one({ Type: 'Task', Resource: 'fn', Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.e', Next: 'S' }], End: true }), '$.States.S.Catch[0].ResultPath', 'cannot have ResultPath'],
    ['Output in a JSONPath state', one({ Type: 'Pass', Output: 1, End: true }, {}), '$.States.S.Output', 'only supported in JSONata states'],
    ['Arguments in a JSONPath state', one({ Type: 'Task', Resource: 'fn', Arguments: {}, End: true }, {}), '$.States.S.Arguments', 'only supported in JSONata states'],
    ['a JSONPath state in a JSONata machine', one({ Type: 'Pass', QueryLanguage: 'JSONPath', End: true }), '$.States.S.QueryLanguage', 'cannot use JSONPath'],
    ['an unknown QueryLanguage', one({ Type: 'Pass', End: true }, { QueryLanguage: 'XPath' }), '$.QueryLanguage', "'JSONPath' or 'JSONata'"],
    ['a JSONPath Choice operator in a JSONata rule', one({ Type: 'Choice', Choices: [{ Variable: '$.a', IsPresent: true, Next: 'S' }] }), '$.States.S.Choices[0].Variable', 'Condition, Next, Assign and Output only'],
    ['a Condition that is not an expression', one({ Type: 'Choice', Choices: [{ Condition: 'yes', Next: 'S' }] }), '$.States.S.Choices[0].Condition', 'JSONata expression'],
    ['an unassigned variable in an expression', one({ Type: 'Pass', Output: '{% $total + 1 %}', End: true }), '$.States.S.Output', "'$total' is never assigned"],
    ['Arguments on a Pass state', one({ Type: 'Pass', Arguments: { a: 1 }, End: true }), '$.States.S.Arguments', 'a Pass state cannot have Arguments'],
    ['Output on a Fail state', one({ Type: 'Fail', Error: 'E', Output: { a: 1 } }), '$.States.S.Output', 'a Fail state cannot have Output'],
    ['Items on a Task state', one({ Type: 'Task', Resource: 'fn', Items: [1], End: true }), '$.States.S.Items', 'a Task state cannot have Items'],
    ['Assign with a reserved name', one({ Type: 'Pass', Assign: { states: '{% 1 %}' }, End: true }), '$.States.S.Assign.states', 'reserved'],
  ])('%s', (_label, def, path, message) => {
    const e = rejection(def);
    expect(e.code).toBe('MF_ASL_INVALID');
    const p = problems(e).find((x) => x.path === path);
    expect(p, JSON.stringify(problems(e))).toBeDefined();
    expect(p!.message).toContain(message);
    expect(p!.state).toBe(path.startsWith('$.States.S') ? 'S' : null);
  });
  test('variables an expression binds itself, built-in function names and $states are not workflow variables', () => {
    const def = one({ Type: 'Pass', Output: '{% ($t := $sum($states.input.n); $map([1,2], function($v) { $v * $t }) ~> $string) %}', End: true });
    expect(() => compileStateMachine(def, { name: 'ok', functionNames: new Set() })).not.toThrow();
  });
  test('expressions are compiled once, at load: a machine loaded for the agent runs without compiling again', async () => {
    const machine = loadStateMachine(jsonata({ P: { Type: 'Pass', Output: '{% $states.input.a %}', End: true } }), 'agent');
    for (const a of [1, 2, 3]) {
      expect(await runExecution(machine, { a }, { invoke: echo, executionId: `e${a}`, executionName: `e${a}`, startTime: '2024-11-14T10:00:00.000Z' })).toEqual({ status: 'SUCCEEDED', output: a });
    }
  });
});
