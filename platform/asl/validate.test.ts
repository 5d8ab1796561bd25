import { describe, expect, test } from 'vitest';
import { MfError } from '../errors.js';
import { compileStateMachine, loadStateMachine, type Problem } from './index.js';

const fns = new Set(['Resize', 'Thumb', 'fn']);
const compile = (def: unknown) => compileStateMachine(def, { name: 'wf', functionNames: fns });

function rejection(def: unknown): MfError {
  try {
    compile(def);
  } catch (e) {
    if (e instanceof MfError) return e;
    throw e;
  }
  throw new Error('expected the definition to be rejected');
}
const problems = (e: MfError) => e.details.problems as Problem[];

const one = (state: object) => ({ StartAt: 'S', States: { S: { ...state, End: true } } });

describe('valid definitions', () => {
  test('every state type, nested Parallel and Map, all Resource forms', () => {
    const def = {
      Comment: 'all of it',
      TimeoutSeconds: 600,
      StartAt: 'Init',
      States: {
        Init: { Type: 'Pass', Result: { items: [1, 2] }, Next: 'Resize' },
        Resize: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:us-east-1:123456789012:function:Resize:prod',
          TimeoutSeconds: 30,
          HeartbeatSeconds: 10,
          Retry: [{ ErrorEquals: ['States.Timeout'], MaxAttempts: 1 }, { ErrorEquals: ['States.ALL'], JitterStrategy: 'FULL', MaxDelaySeconds: 5 }],
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Failed', ResultPath: '$.error' }],
          Next: 'Fan',
        },
        Fan: {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'T1', States: { T1: { Type: 'Task', Resource: 'function:Thumb', End: true } } },
            { StartAt: 'T2', States: { T2: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:fn', 'Payload.$': '$' }, End: true } } },
          ],
          ResultSelector: { 'flat.$': '$[*]' },
          Next: 'Each',
        },
        Each: {
          Type: 'Map',
          ItemsPath: '$.flat',
          MaxConcurrency: 2,
          ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'Dyn', States: { Dyn: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { 'FunctionName.$': '$.fn', Payload: {} }, End: true } } },
          Next: 'Pick',
        },
        Pick: {
          Type: 'Choice',
          Choices: [
            { Variable: '$[0]', IsPresent: true, Next: 'Later' },
            { Or: [{ Variable: '$$.Execution.Name', StringMatches: 'x*' }, { Not: { Variable: '$[0]', IsNull: true } }], Next: 'Done' },
          ],
          Default: 'Failed',
        },
        Later: { Type: 'Wait', Seconds: 1, Next: 'Done' },
        Done: { Type: 'Succeed' },
        Failed: { Type: 'Fail', ErrorPath: '$.error.Error', CausePath: "States.Format('failed: {}', $.error.Cause)" },
      },
    };
    const m = compile(def);
    expect(m.name).toBe('wf');
    expect(m.functionNames).toEqual(['Resize', 'Thumb', 'fn']);
    expect(m.timeoutSeconds).toBe(600);
  });

  test('the session integrations, their session functions named literally or by path', () => {
    const def = {
      StartAt: 'Start',
      States: {
        Start: { Type: 'Task', Resource: 'arn:mf:states:::session:start', Parameters: { functions: [{ function: 'fn', alias: 'a' }] }, Next: 'Wait' },
        Wait: { Type: 'Task', Resource: 'arn:mf:states:::session:start.sync', TimeoutSeconds: 60, Parameters: { 'functions.$': '$.fns' }, End: true },
      },
    };
    const m = compile(def);
    expect(m.functionNames).toEqual(['fn']);
  });
});

describe('invalid definitions name the state and the JSON path', () => {
  test.each<[string, unknown, string | null, string, string]>([
    ['unknown function', one({ Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:1:function:Nope' }), 'S', '$.States.S.Resource', "function 'Nope' is not a function of this app"],
    ['unknown function via lambda:invoke', one({ Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'Nope' } }), 'S', '$.States.S.Parameters.FunctionName', "'Nope'"],
    ['lambda:invoke without FunctionName', one({ Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke' }), 'S', '$.States.S.Parameters.FunctionName', 'needs Parameters.FunctionName'],
    ['Next to a missing state', { StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' }, C: { Type: 'Succeed' } } }, 'A', '$.States.A.Next', "'B' is not a state"],
    ['StartAt missing', { StartAt: 'X', States: { A: { Type: 'Succeed' } } }, null, '$.StartAt', "StartAt 'X'"],
    ['unreachable state', { StartAt: 'A', States: { A: { Type: 'Succeed' }, B: { Type: 'Succeed' } } }, 'B', '$.States.B', 'not reachable'],
    ['no terminal state', { StartAt: 'A', States: { A: { Type: 'Pass', Next: 'A' } } }, null, '$.States', 'no terminal state'],
    ['Catch on a Pass state', one({ Type: 'Pass', Catch: [{ ErrorEquals: ['States.ALL'], Next: 'S' }] }), 'S', '$.States.S.Catch', 'cannot have Catch'],
    ['Retry on a Choice state', { StartAt: 'C', States: { C: { Type: 'Choice', Choices: [{ Variable: '$.a', IsNull: true, Next: 'E' }], Retry: [] }, E: { Type: 'Succeed' } } }, 'C', '$.States.C.Retry', 'cannot have Retry'],
    ['States.ALL not last', one({ Type: 'Task', Resource: 'fn', Retry: [{ ErrorEquals: ['States.ALL'] }, { ErrorEquals: ['X'] }] }), 'S', '$.States.S.Retry[0].ErrorEquals', 'must be the last'],
    ['States.ALL not alone', one({ Type: 'Task', Resource: 'fn', Catch: [{ ErrorEquals: ['States.ALL', 'X'], Next: 'S' }] }), 'S', '$.States.S.Catch[0].ErrorEquals', 'alone'],
    ['unknown States.* error', one({ Type: 'Task', Resource: 'fn', Retry: [{ ErrorEquals: ['States.Bogus'] }] }), 'S', '$.States.S.Retry[0].ErrorEquals[0]', 'not a predefined error name'],
    ['bad JSONPath', one({ Type: 'Pass', InputPath: 'a.b' }), 'S', '$.States.S.InputPath', 'invalid JSONPath'],
    ['ResultPath not a reference path', one({ Type: 'Pass', ResultPath: '$.a[*]' }), 'S', '$.States.S.ResultPath', 'reference path'],
    ['bad intrinsic', one({ Type: 'Pass', Parameters: { 'x.$': 'States.Nope(1)' } }), 'S', '$.States.S.Parameters', 'unknown intrinsic function States.Nope'],
    ['Wait with two durations', one({ Type: 'Wait', Seconds: 1, SecondsPath: '$.s' }), 'S', '$.States.S', 'exactly one of Seconds'],
    ['Wait with a bad Timestamp', one({ Type: 'Wait', Timestamp: 'tomorrow' }), 'S', '$.States.S.Timestamp', 'RFC 3339'],
    ['Choice rule with two operators', { StartAt: 'C', States: { C: { Type: 'Choice', Choices: [{ Variable: '$.a', IsNull: true, IsString: true, Next: 'E' }] }, E: { Type: 'Succeed' } } }, 'C', '$.States.C.Choices[0]', 'exactly one comparison operator'],
    ['Heartbeat not below Timeout', one({ Type: 'Task', Resource: 'fn', TimeoutSeconds: 5, HeartbeatSeconds: 5 }), 'S', '$.States.S.HeartbeatSeconds', 'smaller than TimeoutSeconds'],
    ['both Next and End', { StartAt: 'A', States: { A: { Type: 'Pass', Next: 'A', End: true } } }, 'A', '$.States.A', 'exactly one of Next'],
    ['unknown arn:mf: integration', one({ Type: 'Task', Resource: 'arn:mf:states:::session:send' }), 'S', '$.States.S.Resource', 'known: arn:mf:states:::session:start, arn:mf:states:::session:start.sync'],
    ['arn:mf: with a region', one({ Type: 'Task', Resource: 'arn:mf:states:eu:1:session:start' }), 'S', '$.States.S.Resource', 'is not a MicroFunctions integration'],
    [
      'unknown session function',
      one({ Type: 'Task', Resource: 'arn:mf:states:::session:start.sync', Parameters: { functions: [{ function: 'Nope' }] } }),
      'S',
      '$.States.S.Parameters.functions[0].function',
      "function 'Nope' is not a function of this app",
    ],
    [
      'inside a Parallel branch',
      one({ Type: 'Parallel', Branches: [{ StartAt: 'X', States: { X: { Type: 'Pass', Next: 'Gone' } } }] }),
      'X',
      '$.States.S.Branches[0].States.X.Next',
      "'Gone' is not a state",
    ],
    [
      'inside a Map processor',
      one({ Type: 'Map', ItemProcessor: { StartAt: 'Y', States: { Y: { Type: 'Task', Resource: 'Missing', End: true } } } }),
      'Y',
      '$.States.S.ItemProcessor.States.Y.Resource',
      "function 'Missing'",
    ],
    ['a branch cannot jump out', { StartAt: 'P', States: { P: { Type: 'Parallel', Branches: [{ StartAt: 'X', States: { X: { Type: 'Pass', Next: 'Out' } } }], Next: 'Out' }, Out: { Type: 'Succeed' } } }, 'X', '$.States.P.Branches[0].States.X.Next', 'its own states'],
  ])('%s', (_label, def, state, path, message) => {
    const e = rejection(def);
    expect(e.code).toBe('MF_ASL_INVALID');
    const p = problems(e).find((x) => x.path === path);
    expect(p, JSON.stringify(problems(e))).toBeDefined();
    expect(p!.state).toBe(state);
    expect(p!.message).toContain(message);
  });

  test('the message names the first problem; details list them all', () => {
    const e = rejection({ StartAt: 'A', States: { A: { Type: 'Task', Resource: 'Nope1', Next: 'B' }, B: { Type: 'Task', Resource: 'Nope2', End: true } } });
    expect(e.message).toBe("Invalid workflow 'wf': state 'A' at $.States.A.Resource: function 'Nope1' is not a function of this app (known: Resize, Thumb, fn) (and 1 more problem)");
    expect(problems(e).map((p) => p.state)).toEqual(['A', 'B']);
  });

  test('schema problems found only by asl-validator are reported with their path', () => {
    const e = rejection(one({ Type: 'Pass', Unknown: 1 }));
    expect(e.code).toBe('MF_ASL_INVALID');
    expect(problems(e).some((p) => p.path.startsWith('$.States.S'))).toBe(true);
  });

  test('not an object at all', () => {
    expect(rejection('nope').code).toBe('MF_ASL_INVALID');
    expect(rejection({ States: {} }).code).toBe('MF_ASL_INVALID');
  });
});

describe('unsupported constructs', () => {
  test.each<[string, unknown, string, string]>([
    ['another AWS service', one({ Type: 'Task', Resource: 'arn:aws:states:::dynamodb:putItem', Parameters: {} }), '$.States.S.Resource', 'service integration'],
    ['the callback pattern', one({ Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken', Parameters: { FunctionName: 'fn' } }), '$.States.S.Resource', 'waitForTaskToken'],
    ['a .sync integration', one({ Type: 'Task', Resource: 'arn:aws:states:::states:startExecution.sync', Parameters: {} }), '$.States.S.Resource', 'not supported'],
    ['an Activity', one({ Type: 'Task', Resource: 'arn:aws:states:us-east-1:123456789012:activity:work' }), '$.States.S.Resource', 'Activities'],
    ['a non-Lambda ARN', one({ Type: 'Task', Resource: 'arn:aws:sns:us-east-1:123456789012:topic' }), '$.States.S.Resource', 'not supported'],
    ['Distributed Map', one({ Type: 'Map', ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }, StartAt: 'P', States: { P: { Type: 'Pass', End: true } } } }), '$.States.S.ItemProcessor.ProcessorConfig.Mode', 'DISTRIBUTED'],
    ['ItemReader', one({ Type: 'Map', ItemReader: { Resource: 'arn:aws:states:::s3:getObject' }, ItemProcessor: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } } }), '$.States.S.ItemReader', 'ItemReader'],
    ['ResultWriter', one({ Type: 'Map', ResultWriter: {}, ItemProcessor: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } } }), '$.States.S.ResultWriter', 'ResultWriter'],
    ['Credentials', one({ Type: 'Task', Resource: 'fn', Credentials: { RoleArn: 'x' } }), '$.States.S.Credentials', 'Credentials'],
  ])('%s is MF_ASL_UNSUPPORTED at %s', (_label, def, path, message) => {
    const e = rejection(def);
    expect(e.code).toBe('MF_ASL_UNSUPPORTED');
    expect(e.message).toContain(path);
    const p = problems(e).find((x) => x.path === path)!;
    expect(p.message).toContain(message);
  });

  test('loadStateMachine rejects unsupported constructs too', () => {
    expect(() => loadStateMachine(one({ Type: 'Task', Resource: 'arn:aws:states:::sqs:sendMessage' }), 'wf')).toThrow(
      expect.objectContaining({ code: 'MF_ASL_UNSUPPORTED' }),
    );
  });
  test('loadStateMachine does not check function names (the agent trusts the deploy)', () => {
    expect(loadStateMachine(one({ Type: 'Task', Resource: 'anything' }), 'wf').functionNames).toEqual(['anything']);
  });
});

describe("AWS's whole-number fields (integers, within AWS's ceilings)", () => {
  // Ceilings from AWS's error-handling page (IntervalSeconds, MaxAttempts: 99999999; MaxDelaySeconds < 31622401)
  // and the Task and Wait state pages (TimeoutSeconds, HeartbeatSeconds, Seconds: integers).
  const retry = (r: object) => one({ Type: 'Task', Resource: 'fn', Retry: [{ ErrorEquals: ['States.ALL'], ...r }] });
  test.each<[string, object, string]>([
    ['a fractional IntervalSeconds', retry({ IntervalSeconds: 1.5 }), '$.States.S.Retry[0].IntervalSeconds'],
    ['an IntervalSeconds over 99999999', retry({ IntervalSeconds: 100_000_000 }), '$.States.S.Retry[0].IntervalSeconds'],
    ['a fractional MaxAttempts', retry({ MaxAttempts: 2.5 }), '$.States.S.Retry[0].MaxAttempts'],
    ['a MaxAttempts over 99999999', retry({ MaxAttempts: 100_000_000 }), '$.States.S.Retry[0].MaxAttempts'],
    ['a fractional MaxDelaySeconds', retry({ MaxDelaySeconds: 0.5 }), '$.States.S.Retry[0].MaxDelaySeconds'],
    ['a MaxDelaySeconds of 31622401', retry({ MaxDelaySeconds: 31_622_401 }), '$.States.S.Retry[0].MaxDelaySeconds'],
    ['a fractional Wait Seconds', one({ Type: 'Wait', Seconds: 0.5 }), '$.States.S.Seconds'],
    ['a fractional TimeoutSeconds', one({ Type: 'Task', Resource: 'fn', TimeoutSeconds: 2.5 }), '$.States.S.TimeoutSeconds'],
    ['a fractional HeartbeatSeconds', one({ Type: 'Task', Resource: 'fn', TimeoutSeconds: 10, HeartbeatSeconds: 1.5 }), '$.States.S.HeartbeatSeconds'],
    ['a fractional MaxConcurrency', one({ Type: 'Map', MaxConcurrency: 1.5, ItemProcessor: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } } }), '$.States.S.MaxConcurrency'],
    ['a fractional ToleratedFailureCount', one({ Type: 'Map', ToleratedFailureCount: 0.5, ItemProcessor: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } } }), '$.States.S.ToleratedFailureCount'],
    ['a fractional machine TimeoutSeconds', { TimeoutSeconds: 1.5, ...one({ Type: 'Pass' }) }, '$.TimeoutSeconds'],
  ])('%s is rejected', (_label, def, path) => {
    const e = rejection(def);
    expect(e.code).toBe('MF_ASL_INVALID');
    expect(problems(e).map((p) => p.path)).toContain(path);
  });
  test('the ceilings themselves are accepted', () => {
    expect(() => compile(retry({ IntervalSeconds: 99_999_999, MaxAttempts: 99_999_999, MaxDelaySeconds: 31_622_400 }))).not.toThrow();
  });
});
