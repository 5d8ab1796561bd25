/**
 * The engine carries a Task's raw result (RawJson, as the sandbox agent hands it back) without parsing it while the
 * value only flows from one Task to the next, and parses it, once, where a state reads into it.
 */
import { describe, expect, test } from 'vitest';
import { loadStateMachine, runExecution, TaskFailure, type TaskInvoker } from './index.js';
import { plain, RawJson } from './raw-json.js';

/** A RawJson that counts how often its value is read out (the parse itself happens once, on the first read). */
class CountingRaw extends RawJson {
  static reads = 0;
  override get value(): unknown {
    CountingRaw.reads++;
    return super.value;
  }
}

/** Each function returns its input's JSON with one more step added, as a worker's bytes would arrive. */
const stepper: TaskInvoker = async ({ input, functionName }) => {
  const v = plain(input) as { path?: string[] };
  return new CountingRaw(Buffer.from(JSON.stringify({ ...v, path: [...(v.path ?? []), functionName] })));
};

function run(definition: object, input: unknown, invoke: TaskInvoker = stepper) {
  CountingRaw.reads = 0;
  return runExecution(loadStateMachine(definition, 'M'), input, { invoke, executionId: 'e', executionName: 'e', startTime: '2024-01-01T00:00:00Z' });
}

const chain = (n: number) => ({
  StartAt: 'S1',
  States: Object.fromEntries(Array.from({ length: n }, (_, i) => [`S${i + 1}`, { Type: 'Task', Resource: `f${i + 1}`, ...(i === n - 1 ? { End: true } : { Next: `S${i + 2}` }) }])),
});

describe('raw results in the engine', () => {
  test('a pass-through chain never reads into a result: each goes on as it came, the last is the output', async () => {
    const seen: unknown[] = [];
    const invoke: TaskInvoker = async (call) => {
      seen.push(call.input);
      return new CountingRaw(Buffer.from(`{"n":${seen.length}}`));
    };
    const result = await run(chain(5), { n: 0 }, invoke);
    expect(CountingRaw.reads).toBe(0);
    expect(result.status).toBe('SUCCEEDED');
    const output = (result as { output: unknown }).output;
    expect(output).toBeInstanceOf(RawJson);
    expect((output as RawJson).text).toBe('{"n":5}');
    // Each Task got the previous Task's result object itself.
    expect(seen.slice(1).every((v) => v instanceof RawJson)).toBe(true);
  });

  test('states that read into a value parse it, and give the results they give on parsed values', async () => {
    const def = {
      StartAt: 'A',
      States: {
        A: { Type: 'Task', Resource: 'a', Next: 'C' },
        C: { Type: 'Choice', Choices: [{ Variable: '$.path[0]', StringEquals: 'a', Next: 'B' }], Default: 'Fail' },
        B: { Type: 'Task', Resource: 'b', ResultPath: '$.b', Next: 'P' },
        P: { Type: 'Task', Resource: 'p', Parameters: { 'was.$': '$.b.path' }, ResultSelector: { 'steps.$': '$.path', 'was.$': '$.was' }, End: true },
        Fail: { Type: 'Fail', Error: 'wrong' },
      },
    };
    const result = await run(def, {});
    expect(result).toEqual({ status: 'SUCCEEDED', output: { steps: ['p'], was: ['a', 'b'] } });
    expect(CountingRaw.reads).toBeGreaterThan(0);
  });

  test("a Catch's ResultPath writes into a raw input parsed for it; Retry sends the raw input again", async () => {
    let calls = 0;
    const failing: TaskInvoker = async (call) => {
      if (call.functionName === 'f2') {
        calls++;
        expect(call.input).toBeInstanceOf(RawJson);
        throw new TaskFailure('Boom', 'x');
      }
      return stepper(call);
    };
    const def = {
      StartAt: 'S1',
      States: {
        S1: { Type: 'Task', Resource: 'f1', Next: 'S2' },
        S2: { Type: 'Task', Resource: 'f2', Retry: [{ ErrorEquals: ['Boom'], IntervalSeconds: 1, BackoffRate: 1, MaxAttempts: 1 }], Catch: [{ ErrorEquals: ['Boom'], ResultPath: '$.caught', Next: 'S3' }], Next: 'S3' },
        S3: { Type: 'Task', Resource: 'f3', End: true },
      },
    };
    const result = await run(def, {}, failing);
    expect(calls).toBe(2);
    expect(plain((result as { output: unknown }).output)).toEqual({ path: ['f1', 'f3'], caught: { Error: 'Boom', Cause: 'x' } });
  });

  test('a raw execution input goes to the first Task unparsed, and $$.Execution.Input still reads it', async () => {
    const input = new CountingRaw(Buffer.from('{"k":"v"}'));
    const seen: unknown[] = [];
    const invoke: TaskInvoker = async (call) => {
      seen.push(call.input);
      return call.input;
    };
    const passed = await run(chain(2), input, invoke);
    expect(CountingRaw.reads).toBe(0);
    expect(seen).toEqual([input, input]);
    expect((passed as { output: unknown }).output).toBe(input);
    const def = { StartAt: 'P', States: { P: { Type: 'Pass', Parameters: { 'was.$': '$$.Execution.Input.k' }, End: true } } };
    expect(await run(def, new RawJson(Buffer.from('{"k":"v"}')))).toEqual({ status: 'SUCCEEDED', output: { was: 'v' } });
  });

  test('bytes that are not JSON fail the execution with States.Runtime once a state reads them', async () => {
    const def = { StartAt: 'A', States: { A: { Type: 'Task', Resource: 'a', Next: 'P' }, P: { Type: 'Pass', InputPath: '$.x', End: true } } };
    const result = await run(def, {}, async () => new RawJson(Buffer.from('{not json')));
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
  });
});
