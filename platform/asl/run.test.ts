import { createRequire } from 'node:module';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { HistoryEvent } from '../protocol.js';
import { TaskFailure, loadStateMachine, runExecution, type RunOptions, type TaskCall, type TaskInvoker } from './index.js';

const echo: TaskInvoker = async ({ input }) => input;

function exec(definition: object, input: unknown, invoke: TaskInvoker = echo, extra: Partial<RunOptions> = {}) {
  return runExecution(loadStateMachine(definition, 'TestMachine'), input, {
    invoke,
    executionId: 'exec-1',
    executionName: 'exec-1',
    startTime: '2024-07-15T13:00:19.123Z',
    ...extra,
  });
}

const one = (state: object) => ({ StartAt: 'S', States: { S: { ...state, End: true } } });
const task = (extra: object = {}) => one({ Type: 'Task', Resource: 'fn', ...extra });

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('input and output processing (spec examples)', () => {
  test('Parameters with paths, slices and constants', async () => {
    const def = one({ Type: 'Pass', Parameters: { flagged: true, parts: { 'first.$': '$.vals[0]', 'last3.$': '$.vals[-3:]' } } });
    expect(await exec(def, { flagged: 7, vals: [0, 10, 20, 30, 40, 50] })).toEqual({
      status: 'SUCCEEDED',
      output: { flagged: true, parts: { first: 0, last3: [30, 40, 50] } },
    });
  });
  test('InputPath + ResultPath: the result is added to the raw input', async () => {
    const def = task({ InputPath: '$.numbers', ResultPath: '$.sum' });
    const add: TaskInvoker = async ({ input }) => (input as { val1: number; val2: number }).val1 + (input as { val2: number }).val2;
    expect(await exec(def, { title: 'Numbers to add', numbers: { val1: 3, val2: 4 } }, add)).toEqual({
      status: 'SUCCEEDED',
      output: { title: 'Numbers to add', numbers: { val1: 3, val2: 4 }, sum: 7 },
    });
  });
  test('ResultSelector (the spec example) then ResultPath and OutputPath', async () => {
    const result = { resourceType: 'elasticmapreduce', resource: 'createCluster.sync', output: { SdkHttpMetadata: { HttpStatusCode: 200 }, ClusterId: 'AKIAIOSFODNN7EXAMPLE' } };
    const def = task({ ResultSelector: { 'ClusterId.$': '$.output.ClusterId', 'ResourceType.$': '$.resourceType' }, ResultPath: '$.EMROutput', OutputPath: '$.EMROutput' });
    expect(await exec(def, { x: 1 }, async () => result)).toEqual({ status: 'SUCCEEDED', output: { ClusterId: 'AKIAIOSFODNN7EXAMPLE', ResourceType: 'elasticmapreduce' } });
  });
  test('InputPath/OutputPath null give {}, ResultPath null keeps the input', async () => {
    expect(await exec(one({ Type: 'Pass', InputPath: null }), { a: 1 })).toEqual({ status: 'SUCCEEDED', output: {} });
    expect(await exec(one({ Type: 'Pass', OutputPath: null }), { a: 1 })).toEqual({ status: 'SUCCEEDED', output: {} });
    expect(await exec(task({ ResultPath: null }), { a: 1 }, async () => 'ignored')).toEqual({ status: 'SUCCEEDED', output: { a: 1 } });
  });
  test('Pass Result replaces the input; "x.$" keys inside Result stay literal', async () => {
    expect(await exec(one({ Type: 'Pass', Result: { 'k.$': '$.a' }, ResultPath: '$.r' }), { a: 1 })).toEqual({ status: 'SUCCEEDED', output: { a: 1, r: { 'k.$': '$.a' } } });
  });
  test("the caller's input is never mutated", async () => {
    const input = deepFreeze({ a: { b: 1 }, list: [1, 2] });
    const def = {
      StartAt: 'A',
      States: {
        A: { Type: 'Pass', Result: 1, ResultPath: '$.a.c', Next: 'B' },
        B: { Type: 'Task', Resource: 'fn', ResultPath: '$.a.b', Next: 'C' },
        C: { Type: 'Map', ItemsPath: '$.list', ResultPath: '$.list', ItemProcessor: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } }, End: true },
      },
    };
    const r = await exec(def, input, async () => 'new');
    expect(r).toEqual({ status: 'SUCCEEDED', output: { a: { b: 'new', c: 1 }, list: [1, 2] } });
    expect(input).toEqual({ a: { b: 1 }, list: [1, 2] });
  });
  test('a missing path in Parameters is States.Runtime naming the field', async () => {
    const r = await exec(one({ Type: 'Pass', Parameters: { 'x.$': '$.nope' } }), {});
    expect(r).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect((r as { cause: string }).cause).toContain("'x.$'");
  });
  test('ResultPath through a non-object is States.ResultPathMatchFailure, which can be caught', async () => {
    const def = {
      StartAt: 'T',
      States: {
        T: { Type: 'Task', Resource: 'fn', ResultPath: '$.a.b', Catch: [{ ErrorEquals: ['States.ResultPathMatchFailure'], Next: 'H' }], End: true },
        H: { Type: 'Pass', End: true },
      },
    };
    const r = await exec(def, { a: 'text' });
    expect(r).toMatchObject({ status: 'SUCCEEDED', output: { Error: 'States.ResultPathMatchFailure' } });
  });
});

describe('Task', () => {
  test.each(['fn', 'function:fn', 'arn:aws:lambda:us-east-1:123456789012:function:fn', 'arn:aws:lambda:eu-west-1:123456789012:function:fn:prod', 'arn:aws:lambda:eu-west-1:123456789012:function:fn:7'])(
    'Resource %s calls function fn with the effective input',
    async (resource) => {
      const calls: TaskCall[] = [];
      const r = await exec(task({ Resource: resource, Parameters: { 'v.$': '$.v' } }), { v: 1, other: 2 }, async (c) => {
        calls.push(c);
        return { got: c.input };
      });
      expect(r).toEqual({ status: 'SUCCEEDED', output: { got: { v: 1 } } });
      expect(calls.map((c) => [c.functionName, c.stateName])).toEqual([['fn', 'S']]);
    },
  );
  test('arn:aws:states:::lambda:invoke wraps the result; FunctionName may be dynamic and an ARN', async () => {
    const def = task({ Resource: 'arn:aws:states:::lambda:invoke', Parameters: { 'FunctionName.$': '$.f', Payload: { 'in.$': '$.v' } }, ResultSelector: { 'p.$': '$.Payload', 's.$': '$.StatusCode', 'v.$': '$.ExecutedVersion' } });
    const calls: TaskCall[] = [];
    const r = await exec(def, { f: 'arn:aws:lambda:us-east-1:123456789012:function:other:live', v: 5 }, async (c) => {
      calls.push(c);
      return c.input;
    });
    expect(r).toEqual({ status: 'SUCCEEDED', output: { p: { in: 5 }, s: 200, v: '$LATEST' } });
    expect(calls[0]!.functionName).toBe('other');
  });
  test('TimeoutSeconds/HeartbeatSeconds (and their Path forms) reach the invoker', async () => {
    const calls: TaskCall[] = [];
    const inv: TaskInvoker = async (c) => {
      calls.push(c);
      return null;
    };
    await exec(task({ TimeoutSeconds: 30, HeartbeatSeconds: 10 }), {}, inv);
    await exec(task({ TimeoutSecondsPath: '$.t', HeartbeatSecondsPath: '$.h' }), { t: 40, h: 20 }, inv);
    expect(calls.map((c) => [c.timeoutSeconds, c.heartbeatSeconds])).toEqual([
      [30, 10],
      [40, 20],
    ]);
  });
  test('a Task running past TimeoutSeconds fails with States.Timeout and its call is aborted', async () => {
    vi.useFakeTimers();
    let signal: AbortSignal | undefined;
    const p = exec(task({ TimeoutSeconds: 5 }), {}, (c) => {
      signal = c.signal;
      return untilAborted(c);
    });
    await vi.advanceTimersByTimeAsync(5000);
    expect(await p).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    expect(signal!.aborted).toBe(true);
  });
  test('after a timeout, a Retry starts only once the aborted attempt has settled: never beside it', async () => {
    vi.useFakeTimers();
    const g = gate();
    const retry = { Retry: [{ ErrorEquals: ['States.Timeout'], IntervalSeconds: 1, MaxAttempts: 1 }] };
    const p = exec(task({ TimeoutSeconds: 5, ...retry }), {}, g.invoke);
    await vi.advanceTimersByTimeAsync(5000);
    expect(g.pending[0]!.call.signal.aborted).toBe(true);
    // The first attempt has not stopped yet (its function ignores the abort): no second attempt, however long.
    await vi.advanceTimersByTimeAsync(30_000);
    expect(g.pending).toHaveLength(1);
    g.pending[0]!.resolve('late'); // stopped at last: its late answer is not the state's result
    await vi.advanceTimersByTimeAsync(1000);
    expect(g.pending).toHaveLength(2);
    g.pending[1]!.resolve('second');
    expect(await p).toEqual({ status: 'SUCCEEDED', output: 'second' });
    expect(g.max()).toBe(1);
  });
  test('a Task silent past HeartbeatSeconds fails with States.HeartbeatTimeout', async () => {
    vi.useFakeTimers();
    const p = exec(task({ TimeoutSeconds: 50, HeartbeatSeconds: 2 }), {}, untilAborted);
    await vi.advanceTimersByTimeAsync(2000);
    expect(await p).toMatchObject({ status: 'FAILED', error: 'States.HeartbeatTimeout' });
  });
  test('a function error fails the execution with the errorType and the cause text', async () => {
    const cause = JSON.stringify({ errorType: 'ZeroDivisionError', errorMessage: 'division by zero', trace: [] });
    expect(await exec(task(), {}, async () => Promise.reject(new TaskFailure('ZeroDivisionError', cause)))).toEqual({ status: 'FAILED', error: 'ZeroDivisionError', cause });
  });
});

describe('Retry', () => {
  const failing = (times: number, error = 'Boom') => {
    const at: number[] = [];
    const inv: TaskInvoker = async () => {
      at.push(Date.now());
      if (at.length <= times) throw new TaskFailure(error, '{}');
      return 'ok';
    };
    return { at, inv };
  };
  const gaps = (at: number[]) => at.slice(1).map((t, i) => t - at[i]!);

  test('the spec example: IntervalSeconds 3, BackoffRate 1.5 waits 3 s then 4.5 s', async () => {
    vi.useFakeTimers();
    const { at, inv } = failing(2);
    const p = exec(task({ Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 3, MaxAttempts: 2, BackoffRate: 1.5 }] }), {}, inv);
    await vi.advanceTimersByTimeAsync(8000);
    expect(await p).toEqual({ status: 'SUCCEEDED', output: 'ok' });
    expect(gaps(at)).toEqual([3000, 4500]);
  });
  test('defaults: interval 1 s, backoff 2, 3 attempts; then the error is reported', async () => {
    vi.useFakeTimers();
    const { at, inv } = failing(10);
    const p = exec(task({ Retry: [{ ErrorEquals: ['Boom'] }] }), {}, inv);
    await vi.advanceTimersByTimeAsync(8000);
    expect(await p).toMatchObject({ status: 'FAILED', error: 'Boom' });
    expect(gaps(at)).toEqual([1000, 2000, 4000]);
  });
  test('MaxDelaySeconds caps the backoff', async () => {
    vi.useFakeTimers();
    const { at, inv } = failing(3);
    const p = exec(task({ Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 2, BackoffRate: 10, MaxAttempts: 3, MaxDelaySeconds: 5 }] }), {}, inv);
    await vi.advanceTimersByTimeAsync(13000);
    expect(await p).toMatchObject({ status: 'SUCCEEDED' });
    expect(gaps(at)).toEqual([2000, 5000, 5000]);
  });
  test('JitterStrategy FULL waits a random time up to the nominal delay', async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    const { at, inv } = failing(2);
    const p = exec(task({ Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 4, MaxAttempts: 2, JitterStrategy: 'FULL' }] }), {}, inv);
    await vi.advanceTimersByTimeAsync(10000);
    expect(await p).toMatchObject({ status: 'SUCCEEDED' });
    expect(gaps(at)).toEqual([1000, 2000]);
    vi.restoreAllMocks();
  });
  test('MaxAttempts 0 never retries; only the first matching retrier counts', async () => {
    const a = failing(1);
    expect(await exec(task({ Retry: [{ ErrorEquals: ['Boom'], MaxAttempts: 0 }, { ErrorEquals: ['States.ALL'] }] }), {}, a.inv)).toMatchObject({ status: 'FAILED', error: 'Boom' });
    expect(a.at.length).toBe(1);
  });
  test('$$.State.RetryCount counts the retries (real timers, 1 s interval)', async () => {
    const { inv } = failing(1);
    const r = await exec(task({ Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 1, MaxAttempts: 1 }], ResultSelector: { 'n.$': '$$.State.RetryCount' } }), {}, inv);
    expect(r).toEqual({ status: 'SUCCEEDED', output: { n: 1 } });
  });
  test('States.Runtime is never retried', async () => {
    let calls = 0;
    const r = await exec(task({ OutputPath: '$.nope', Retry: [{ ErrorEquals: ['States.ALL'] }] }), {}, async () => {
      calls++;
      return {};
    });
    expect(r).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(calls).toBe(1);
  });
});

describe('Catch matching', () => {
  const withCatch = (errorEquals: string[], extra: object = {}) => ({
    StartAt: 'T',
    States: {
      T: { Type: 'Task', Resource: 'fn', Catch: [{ ErrorEquals: errorEquals, Next: 'H', ...extra }], End: true },
      H: { Type: 'Pass', End: true },
    },
  });
  const thrower = (error: string): TaskInvoker => async () => {
    throw new TaskFailure(error, 'c');
  };
  test.each([
    [['States.ALL'], 'Anything', true],
    [['States.TaskFailed'], 'ZeroDivisionError', true],
    [['States.TaskFailed'], 'MF_WORKER_EXITED', true],
    [['States.TaskFailed'], 'MF_FUNCTION_MEMORY_EXCEEDED', true],
    [['States.ALL'], 'MF_WORKER_EXITED', true],
    [['States.TaskFailed'], 'States.Timeout', false],
    [['States.ALL'], 'States.Timeout', true],
    [['States.Timeout'], 'States.Timeout', true],
    [['Lambda.Unknown'], 'Exception', false],
    [['CustomException', 'Other'], 'CustomException', true],
  ])('ErrorEquals %j catches %s: %s', async (eq, error, caught) => {
    const r = await exec(withCatch(eq), { in: 1 }, thrower(error));
    if (caught) expect(r).toEqual({ status: 'SUCCEEDED', output: { Error: error, Cause: 'c' } });
    else expect(r).toEqual({ status: 'FAILED', error, cause: 'c' });
  });
  test('a catcher ResultPath adds the error output to the raw input; OutputPath does not apply', async () => {
    const def = withCatch(['States.ALL'], { ResultPath: '$.err' });
    (def.States.T as Record<string, unknown>).OutputPath = '$.nothing';
    expect(await exec(def, { in: 1 }, thrower('E'))).toEqual({ status: 'SUCCEEDED', output: { in: 1, err: { Error: 'E', Cause: 'c' } } });
  });
  test('catchers are tried in order', async () => {
    const def = {
      StartAt: 'T',
      States: {
        T: { Type: 'Task', Resource: 'fn', Catch: [{ ErrorEquals: ['X'], Next: 'A' }, { ErrorEquals: ['States.TaskFailed'], Next: 'B' }, { ErrorEquals: ['States.ALL'], Next: 'C' }], End: true },
        A: { Type: 'Pass', Result: 'A', End: true },
        B: { Type: 'Pass', Result: 'B', End: true },
        C: { Type: 'Pass', Result: 'C', End: true },
      },
    };
    expect(await exec(def, {}, thrower('Y'))).toEqual({ status: 'SUCCEEDED', output: 'B' });
    expect(await exec(def, {}, thrower('States.Timeout'))).toEqual({ status: 'SUCCEEDED', output: 'C' });
  });
  test('States.Runtime is not caught, even by States.ALL', async () => {
    const def = withCatch(['States.ALL']);
    (def.States.T as Record<string, unknown>).InputPath = '$.missing';
    expect(await exec(def, {})).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
  });
  test('a platform error that is not a TaskFailure counts as a task failure', async () => {
    const r = await exec(withCatch(['States.TaskFailed']), {}, async () => {
      throw Object.assign(new Error('worker died'), { code: 'MF_WORKER_EXITED' });
    });
    expect(r).toEqual({ status: 'SUCCEEDED', output: { Error: 'MF_WORKER_EXITED', Cause: 'worker died' } });
  });
});

describe('Choice, Wait, Succeed, Fail', () => {
  test('no match and no Default is States.NoChoiceMatched', async () => {
    const def = { StartAt: 'C', States: { C: { Type: 'Choice', Choices: [{ Variable: '$.a', NumericEquals: 1, Next: 'E' }] }, E: { Type: 'Succeed' } } };
    expect(await exec(def, { a: 2 })).toMatchObject({ status: 'FAILED', error: 'States.NoChoiceMatched' });
    expect(await exec(def, { a: 1 })).toEqual({ status: 'SUCCEEDED', output: { a: 1 } });
  });
  test('Choice and Succeed apply InputPath and OutputPath', async () => {
    const def = {
      StartAt: 'C',
      States: { C: { Type: 'Choice', InputPath: '$.x', OutputPath: '$.y', Choices: [{ Variable: '$.y', IsPresent: true, Next: 'E' }] }, E: { Type: 'Succeed', OutputPath: '$.z' } },
    };
    expect(await exec(def, { x: { y: { z: 3 } } })).toEqual({ status: 'SUCCEEDED', output: 3 });
  });
  test('Wait Seconds / SecondsPath / Timestamp / TimestampPath wait on timers', async () => {
    vi.useFakeTimers({ now: Date.UTC(2030, 0, 1) });
    const cases: Array<[object, unknown, number]> = [
      [{ Seconds: 3 }, {}, 3000],
      [{ SecondsPath: '$.s' }, { s: 2 }, 2000],
      [{ Timestamp: '2030-01-01T00:00:04Z' }, {}, 4000],
      [{ TimestampPath: '$.t' }, { t: '2030-01-01T00:00:05.500Z' }, 5500],
    ];
    for (const [fields, input, ms] of cases) {
      vi.setSystemTime(Date.UTC(2030, 0, 1));
      let done = false;
      const p = exec(one({ Type: 'Wait', ...fields }), input).then((r) => {
        done = true;
        return r;
      });
      await vi.advanceTimersByTimeAsync(ms - 1);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(await p).toEqual({ status: 'SUCCEEDED', output: input });
    }
  });
  test('Wait with a negative or fractional SecondsPath or a bad TimestampPath is States.Runtime', async () => {
    expect(await exec(one({ Type: 'Wait', SecondsPath: '$.s' }), { s: -1 })).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    // AWS takes whole seconds only (state-wait.html: SecondsPath references a positive integer).
    expect(await exec(one({ Type: 'Wait', SecondsPath: '$.s' }), { s: 0.5 })).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(await exec(one({ Type: 'Wait', TimestampPath: '$.t' }), { t: 'tomorrow' })).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
  });
  test('aborting the execution ends a Wait at once', async () => {
    const ctl = new AbortController();
    const t0 = Date.now();
    const p = exec(one({ Type: 'Wait', Seconds: 3600 }), {}, echo, { signal: ctl.signal });
    setTimeout(() => ctl.abort(), 10);
    expect(await p).toEqual({ status: 'FAILED', error: 'States.Aborted', cause: 'The execution was aborted' });
    expect(Date.now() - t0).toBeLessThan(1000);
  });
  test('Fail with Error/Cause, ErrorPath/CausePath with a context path and an intrinsic', async () => {
    expect(await exec({ StartAt: 'F', States: { F: { Type: 'Fail', Error: 'E', Cause: 'C' } } }, {})).toEqual({ status: 'FAILED', error: 'E', cause: 'C' });
    expect(await exec({ StartAt: 'F', States: { F: { Type: 'Fail', ErrorPath: '$$.State.Name', CausePath: "States.Format('bad {}', $.x)" } } }, { x: 1 })).toEqual({
      status: 'FAILED',
      error: 'F',
      cause: 'bad 1',
    });
    expect(await exec({ StartAt: 'F', States: { F: { Type: 'Fail' } } }, {})).toEqual({ status: 'FAILED', error: null, cause: null });
  });
  test('a machine-level TimeoutSeconds fails the execution with States.Timeout', async () => {
    vi.useFakeTimers();
    const p = exec({ TimeoutSeconds: 2, ...one({ Type: 'Wait', Seconds: 60 }) }, {});
    await vi.advanceTimersByTimeAsync(2000);
    expect(await p).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
  });
});

/** An invoker whose calls stay pending until released, to observe concurrency. */
/** An invoker that keeps the TaskInvoker contract for a function that runs until it is told to stop. */
function untilAborted(call: TaskCall): Promise<unknown> {
  return new Promise((_, reject) => call.signal.addEventListener('abort', () => reject(new TaskFailure('Aborted', 'stopped when told')), { once: true }));
}

function gate() {
  const pending: Array<{ call: TaskCall; resolve: (v: unknown) => void; reject: (e: unknown) => void }> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const invoke: TaskInvoker = (call) =>
    new Promise((resolve, reject) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      pending.push({
        call,
        resolve: (v) => {
          inFlight--;
          resolve(v);
        },
        reject: (e) => {
          inFlight--;
          reject(e);
        },
      });
    });
  return { pending, invoke, max: () => maxInFlight };
}
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('Parallel', () => {
  const par = (extra: object = {}) => ({
    StartAt: 'P',
    States: {
      P: {
        Type: 'Parallel',
        Branches: [
          { StartAt: 'A', States: { A: { Type: 'Task', Resource: 'a', End: true } } },
          { StartAt: 'B', States: { B: { Type: 'Task', Resource: 'b', Next: 'B2' }, B2: { Type: 'Pass', Result: 'b2', End: true } } },
        ],
        End: true,
        ...extra,
      },
    },
  });
  test('branches run concurrently; outputs are ordered by branch', async () => {
    const g = gate();
    const p = exec(par(), { v: 1 }, g.invoke);
    await tick();
    expect(g.pending.map((x) => x.call.functionName)).toEqual(['a', 'b']);
    g.pending[1]!.resolve('B');
    g.pending[0]!.resolve('A');
    expect(await p).toEqual({ status: 'SUCCEEDED', output: ['A', 'b2'] });
  });
  test('the first failing branch fails the state with its own error and aborts the others', async () => {
    const g = gate();
    const p = exec(par(), {}, g.invoke);
    await tick();
    g.pending[1]!.reject(new TaskFailure('BranchError', 'why'));
    await tick();
    expect(g.pending[0]!.call.signal.aborted).toBe(true);
    // The state waits for the aborted branch to settle, so a Retry or Catch never runs beside it.
    let settled = false;
    void p.then(() => (settled = true));
    await tick();
    expect(settled).toBe(false);
    g.pending[0]!.reject(new TaskFailure('Aborted', 'stopped when told'));
    expect(await p).toEqual({ status: 'FAILED', error: 'BranchError', cause: 'why' });
  });
  test('Parameters, ResultSelector, ResultPath and Catch', async () => {
    const def = par({ Parameters: { 'x.$': '$.x' }, ResultSelector: { 'first.$': '$[0]' }, ResultPath: '$.res' });
    expect(await exec(def, { x: 1 }, async (c) => c.input)).toEqual({ status: 'SUCCEEDED', output: { x: 1, res: { first: { x: 1 } } } });
  });
});

describe('Map', () => {
  const map = (extra: object, processor: object = { StartAt: 'T', States: { T: { Type: 'Task', Resource: 'fn', End: true } } }) => ({
    StartAt: 'M',
    States: { M: { Type: 'Map', ItemProcessor: processor, End: true, ...extra } },
  });
  test('MaxConcurrency bounds the iterations in flight; results keep item order', async () => {
    const g = gate();
    const p = exec(map({ MaxConcurrency: 2 }), [1, 2, 3, 4, 5], g.invoke);
    for (let i = 0; i < 5; i++) {
      await tick();
      const next = g.pending.find((x) => !(x as { done?: boolean }).done)!;
      (next as { done?: boolean }).done = true;
      next.resolve((next.call.input as number) * 10);
    }
    expect(await p).toEqual({ status: 'SUCCEEDED', output: [10, 20, 30, 40, 50] });
    expect(g.max()).toBe(2);
  });
  test('MaxConcurrency 0 runs all iterations at once', async () => {
    const g = gate();
    const p = exec(map({}), [1, 2, 3], g.invoke);
    await tick();
    expect(g.pending.length).toBe(3);
    g.pending.forEach((x) => x.resolve(x.call.input));
    expect(await p).toEqual({ status: 'SUCCEEDED', output: [1, 2, 3] });
  });
  test('ItemsPath, ItemSelector with $$.Map.Item, ResultSelector', async () => {
    const def = map(
      { ItemsPath: '$.items', ItemSelector: { 'i.$': '$$.Map.Item.Index', 'v.$': '$$.Map.Item.Value', 'k.$': '$.k' }, ResultSelector: { 'n.$': 'States.ArrayLength($)', 'all.$': '$' } },
      { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } },
    );
    expect(await exec(def, { k: 'K', items: ['a', 'b'] })).toEqual({
      status: 'SUCCEEDED',
      output: { n: 2, all: [{ i: 0, v: 'a', k: 'K' }, { i: 1, v: 'b', k: 'K' }] },
    });
  });
  test('an empty array gives []; a non-array is States.Runtime', async () => {
    expect(await exec(map({}), [])).toEqual({ status: 'SUCCEEDED', output: [] });
    expect(await exec(map({}), { not: 'array' })).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
  });
  const flaky: TaskInvoker = async ({ input }) => {
    if ((input as number) < 0) throw new TaskFailure('Neg', 'negative');
    return input;
  };
  test('without tolerance the first failing iteration fails the Map with its error', async () => {
    expect(await exec(map({ MaxConcurrency: 1 }), [1, -1, 2], flaky)).toEqual({ status: 'FAILED', error: 'Neg', cause: 'negative' });
  });
  test('ToleratedFailureCount: failures up to the count are kept as {Error, Cause}', async () => {
    expect(await exec(map({ ToleratedFailureCount: 1 }), [1, -1, 2], flaky)).toEqual({ status: 'SUCCEEDED', output: [1, { Error: 'Neg', Cause: 'negative' }, 2] });
    expect(await exec(map({ ToleratedFailureCount: 1 }), [-1, -1, 2], flaky)).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold' });
  });
  test('ToleratedFailurePercentage', async () => {
    expect(await exec(map({ ToleratedFailurePercentage: 50 }), [1, -1, 2, -2], flaky)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await exec(map({ ToleratedFailurePercentage: 25 }), [1, -1, 2, -2], flaky)).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold' });
  });
});

describe('context object and history', () => {
  test('$$ has Execution, StateMachine and State with AWS shapes', async () => {
    const r = await exec(one({ Type: 'Pass', Parameters: { 'c.$': '$$' } }), { m: 1 });
    expect(r.status).toBe('SUCCEEDED');
    const c = (r as { output: { c: Record<string, Record<string, unknown>> } }).output.c;
    expect(c.Execution).toMatchObject({ Input: { m: 1 }, Name: 'exec-1', StartTime: '2024-07-15T13:00:19.123Z', RedriveCount: 0 });
    expect(c.Execution!.Id).toMatch(/^arn:aws:states:[a-z0-9-]+:\d{12}:execution:TestMachine:exec-1$/);
    expect(c.StateMachine).toMatchObject({ Name: 'TestMachine' });
    expect(c.StateMachine!.Id).toMatch(/^arn:aws:states:[a-z0-9-]+:\d{12}:stateMachine:TestMachine$/);
    expect(Object.keys(c.State!).sort()).toEqual(['EnteredTime', 'Name']);
    expect(c.State!.EnteredTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });
  test('history: AWS-like events with t and state, in order', async () => {
    const events: HistoryEvent[] = [];
    const def = { StartAt: 'A', States: { A: { Type: 'Pass', Next: 'T' }, T: { Type: 'Task', Resource: 'fn', End: true } } };
    const r = await exec(def, { x: 1 }, echo, { onEvent: (e) => events.push(e) });
    expect(r.status).toBe('SUCCEEDED');
    expect(events.map((e) => [e.type, e.state ?? null])).toEqual([
      ['ExecutionStarted', null],
      ['PassStateEntered', 'A'],
      ['PassStateExited', 'A'],
      ['TaskStateEntered', 'T'],
      ['TaskScheduled', 'T'],
      ['TaskSucceeded', 'T'],
      ['TaskStateExited', 'T'],
      ['ExecutionSucceeded', null],
    ]);
    expect(events.every((e) => typeof e.t === 'number' && e.t > 1.6e12)).toBe(true);
    expect(events[1]).toMatchObject({ input: { x: 1 } });
    expect(events[7]).toMatchObject({ output: { x: 1 } });
  });
  test('history of a failed, retried and caught Map', async () => {
    const events: HistoryEvent[] = [];
    const def = {
      StartAt: 'M',
      States: {
        M: { Type: 'Map', ItemProcessor: { StartAt: 'F', States: { F: { Type: 'Fail', Error: 'E' } } }, Catch: [{ ErrorEquals: ['E'], Next: 'H' }], End: true },
        H: { Type: 'Pass', End: true },
      },
    };
    await exec(def, [1], echo, { onEvent: (e) => events.push(e) });
    const types = events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['MapStateStarted', 'MapIterationStarted', 'FailStateEntered', 'MapIterationFailed', 'MapStateFailed', 'StateErrorCaught', 'ExecutionSucceeded']));
  });
});

describe('the interpreter stays light', () => {
  test('loading and running never loads asl-validator', async () => {
    await exec(one({ Type: 'Pass' }), {});
    const cache = createRequire(import.meta.url).cache;
    expect(Object.keys(cache).filter((k) => k.includes('asl-validator'))).toEqual([]);
  });
  test('a Pass-only hop costs microseconds', async () => {
    const states: Record<string, object> = {};
    for (let i = 0; i < 100; i++) states[`S${i}`] = { Type: 'Pass', Parameters: { 'v.$': '$.v' }, ...(i < 99 ? { Next: `S${i + 1}` } : { End: true }) };
    const m = loadStateMachine({ StartAt: 'S0', States: states }, 'perf');
    const opts = { invoke: echo, executionId: 'e', executionName: 'e', startTime: new Date().toISOString() };
    for (let i = 0; i < 50; i++) await runExecution(m, { v: 1 }, opts);
    const t0 = performance.now();
    const runs = 200;
    for (let i = 0; i < runs; i++) await runExecution(m, { v: i }, opts);
    const perState = ((performance.now() - t0) * 1000) / (runs * 100);
    expect(perState).toBeLessThan(20); // µs per state, generous for a loaded CI machine
  });
});

describe('checkpoints and resume (recovery support)', () => {
  const machine = loadStateMachine(
    {
      StartAt: 'A',
      States: {
        A: { Type: 'Pass', Result: { a: 1 }, ResultPath: '$.a', Next: 'B' },
        B: { Type: 'Parallel', Branches: [{ StartAt: 'X', States: { X: { Type: 'Pass', End: true } } }], ResultPath: '$.b', Next: 'C' },
        C: { Type: 'Pass', Parameters: { 'in.$': '$', 'orig.$': '$$.Execution.Input' }, End: true },
      },
    },
    'm',
  );
  const base = { invoke: async () => null, executionId: 'e1', executionName: 'e1', startTime: '2026-01-01T00:00:00.000Z' };

  test('onTransition reports each top-level transition with the next state raw input, not inner ones', async () => {
    const seen: Array<[string, unknown]> = [];
    const r = await runExecution(machine, { x: 0 }, { ...base, onTransition: (next, input) => seen.push([next, input]) });
    expect(r.status).toBe('SUCCEEDED');
    expect(seen.map(([s]) => s)).toEqual(['B', 'C']);
    expect(seen[0]![1]).toEqual({ x: 0, a: { a: 1 } });
  });

  test('resumeAt continues at a state with its input and keeps the execution input', async () => {
    const r = await runExecution(machine, { x: 0 }, { ...base, resumeAt: { state: 'C', input: { resumed: true } } });
    expect(r).toEqual({ status: 'SUCCEEDED', output: { in: { resumed: true }, orig: { x: 0 } } });
    const bad = await runExecution(machine, {}, { ...base, resumeAt: { state: 'Nope', input: {} } });
    expect(bad.status).toBe('FAILED');
  });
});

describe('platform integrations (arn:mf:states:::…)', () => {
  const SYNC = 'arn:mf:states:::session:start.sync';

  test('the integration gets the Parameters and its answer is the Task result; no function is invoked', async () => {
    const seen: unknown[] = [];
    const invoke: TaskInvoker = async () => {
      throw new Error('no function should be invoked');
    };
    const def = one({ Type: 'Task', Resource: 'arn:mf:states:::session:start', Parameters: { 'functions.$': '$.fns' }, ResultSelector: { 'id.$': '$.sessionId' } });
    const result = await exec(def, { fns: [{ function: 'a' }] }, invoke, {
      integrate: async (call) => {
        seen.push([call.integration, call.input, call.stateName]);
        return { sessionId: 's-1' };
      },
    });
    expect(result).toEqual({ status: 'SUCCEEDED', output: { id: 's-1' } });
    expect(seen).toEqual([['session:start', { functions: [{ function: 'a' }] }, 'S']]);
  });

  test("TimeoutSeconds aborts the integration's signal and fails the Task with States.Timeout once it settles", async () => {
    let aborted = false;
    const def = one({ Type: 'Task', Resource: SYNC, TimeoutSeconds: 1 });
    const result = await exec(def, {}, echo, {
      integrate: (call) =>
        new Promise((resolve) => {
          call.signal.addEventListener('abort', () => {
            aborted = true;
            resolve({ status: 'STOPPED' });
          });
        }),
    });
    expect(aborted).toBe(true);
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
  });

  test("an integration's TaskFailure is the Task's error, which a Catch takes", async () => {
    const def = {
      StartAt: 'S',
      States: { S: { Type: 'Task', Resource: SYNC, Catch: [{ ErrorEquals: ['MF_SESSION_FAILED'], Next: 'C' }], End: true }, C: { Type: 'Pass', End: true } },
    };
    const result = await exec(def, {}, echo, { integrate: async () => Promise.reject(new TaskFailure('MF_SESSION_FAILED', '{"status":"FAILED"}')) });
    expect(result).toEqual({ status: 'SUCCEEDED', output: { Error: 'MF_SESSION_FAILED', Cause: '{"status":"FAILED"}' } });
  });

  test('an engine given no integrations fails such a Task with States.Runtime', async () => {
    const result = await exec(one({ Type: 'Task', Resource: SYNC }), {});
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
  });
});
