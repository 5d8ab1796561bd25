/**
 * AWS's behaviour at the edges (issue 15, item 3): JSONPath bracket quoting, intrinsic functions on empty, whitespace,
 * null and nested arguments, and the cause texts a definition can observe. Each case names where its expected value
 * comes from: a page of the Step Functions developer guide, or an execution recorded against AWS in LocalStack's
 * snapshot files (tests/aws/services/stepfunctions/v2/.../*.snapshot.json), cited as "recorded: <file> <test>".
 */
import { describe, expect, test } from 'vitest';
import { AslSyntaxError, StatesError } from './errors.js';
import { loadStateMachine, runExecution, type RunOptions, type TaskInvoker } from './index.js';
import { evalIntrinsic, parseIntrinsic } from './intrinsics.js';
import { PathNotFound, evaluate, parsePath } from './jsonpath.js';

const ev = (p: string, data: unknown) => evaluate(parsePath(p), data, () => ({}));
const fn = (text: string, input: unknown = {}) => evalIntrinsic(parseIntrinsic(text), input, () => ({ StateMachine: { Name: 'orders-eu-west' } }));

function intrinsicFailure(text: string, input: unknown = {}): StatesError {
  try {
    fn(text, input);
  } catch (e) {
    if (e instanceof StatesError) return e;
    throw e;
  }
  throw new Error(`${text} did not fail`);
}

/** Runs a definition through the real engine (load + run), every Task echoing its input. */
function exec(definition: object, input: unknown, extra: Partial<RunOptions> = {}) {
  const invoke: TaskInvoker = async ({ input: i }) => i;
  return runExecution(loadStateMachine(definition, 'edges'), input, {
    invoke,
    executionId: 'edges-1',
    executionName: 'edges-1',
    startTime: '2026-12-03T08:00:00.000Z',
    ...extra,
  });
}

describe('JSONPath bracket notation with quotes and backslashes', () => {
  // Jayway (the JSONPath library AWS runs, "Using JSONPath paths" page) unescapes a quoted name Java-style.
  const data = { "a'b": 1, 'a"b': 2, 'a\\b': 3, 'a.b': 4, x: { "it's": [10, { 'k.v': 'deep' }] }, 'tab\tkey': 5, 'é': 6 };
  test.each([
    ["$['a\\'b']", 1],
    ['$["a\\"b"]', 2],
    ["$['a\\\\b']", 3],
    ["$['a.b']", 4],
    ["$.x['it\\'s'][1]['k.v']", 'deep'],
    ['$.x["it\'s"][0]', 10],
    ["$['tab\\tkey']", 5],
    ["$['\\u00e9']", 6],
    ["$[ 'a.b' ]", 4],
  ])('%s', (path, expected) => expect(ev(path, data)).toEqual(expected));

  test('several quoted names select an object of those names (Jayway multi-property)', () => {
    expect(ev("$['a\\'b','a.b']", data)).toEqual({ "a'b": 1, 'a.b': 4 });
  });

  test.each(["$['unterminated]", "$['a'", "$['\\u00g1']", '$[\'a\\'])('%s is rejected at load', (path) => {
    expect(() => parsePath(path)).toThrow(AslSyntaxError);
  });

  test('a missing last step says "No results for path", a missing step before it "Missing property in path"', () => {
    // recorded: error_handling/test_states_errors ("Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']");
    // the shared kit's case 60 (recorded against AWS) has "Missing property in path $['no']" for '$.no.such.result.path'.
    expect(() => ev("$['a.b'].c", data)).toThrow("Invalid path '$['a.b'].c' : No results for path: $['a.b']['c']");
    expect(() => ev('$.no.such', data)).toThrow("Invalid path '$.no.such' : Missing property in path $['no']");
    expect(() => ev('$.x.nope', data)).toThrow(PathNotFound);
  });
});

describe('intrinsic functions on empty, whitespace, null and nested arguments', () => {
  test('States.Format substitutes empty, blank, null, numbers and objects (recorded: intrinsic_functions/test_generic test_format_1/2)', () => {
    const template = "States.Format('Formatting arguments fst={} and snd={}.', $.fst, $.snd)";
    expect(fn(template, { fst: '', snd: '' })).toBe('Formatting arguments fst= and snd=.');
    expect(fn(template, { fst: ' ', snd: ' ' })).toBe('Formatting arguments fst=  and snd= .');
    expect(fn(template, { fst: null, snd: null })).toBe('Formatting arguments fst=null and snd=null.');
    expect(fn(template, { fst: 1.1, snd: 1 })).toBe('Formatting arguments fst=1.1 and snd=1.');
    expect(fn(template, { fst: '{"Arg1": 1, "Arg2": []}', snd: { Arg1: 1, Arg2: [] } })).toBe(
      'Formatting arguments fst={"Arg1": 1, "Arg2": []} and snd={Arg1=1, Arg2=[]}.',
    );
  });

  test('States.Format escapes \\{ \\} \\\' \\\\ in its template ("Intrinsic functions": reserved characters)', () => {
    expect(fn("States.Format('\\{\\} is not {}; it\\'s \\\\ here', 'a placeholder')")).toBe("{} is not a placeholder; it's \\ here");
  });

  test('States.Format needs as many arguments as {} placeholders', () => {
    expect(intrinsicFailure("States.Format('{} {}', 'one')").error).toBe('States.IntrinsicFailure');
    expect(intrinsicFailure("States.Format('{}', 'one', 'two')").error).toBe('States.IntrinsicFailure');
    expect(fn("States.Format('no placeholders')")).toBe('no placeholders');
  });

  test('States.StringToJson of an empty or blank string is null (recorded: intrinsic_functions/test_json_manipulation test_string_to_json)', () => {
    expect(fn('States.StringToJson($.s)', { s: '' })).toBeNull();
    expect(fn('States.StringToJson($.s)', { s: ' ' })).toBeNull();
    expect(fn('States.StringToJson($.s)', { s: 'null' })).toBeNull();
    expect(fn('States.StringToJson($.s)', { s: '-0' })).toBe(-0);
    expect(fn('States.StringToJson($.s)', { s: '[1, 2, "HelloWorld"]' })).toEqual([1, 2, 'HelloWorld']);
  });

  test('States.JsonToString of null and scalars (recorded: intrinsic_functions/test_json_manipulation test_json_to_string)', () => {
    expect(fn('States.JsonToString($.v)', { v: null })).toBe('null');
    expect(fn('States.JsonToString($.v)', { v: '"HelloWorld"' })).toBe('"\\"HelloWorld\\""');
    expect(fn('States.JsonToString($.v)', { v: { Arg1: 1, Arg2: [] } })).toBe('{"Arg1":1,"Arg2":[]}');
  });

  test('States.Array with no arguments and with blank ones (recorded: intrinsic_functions/test_array test_array_0, test_array_2)', () => {
    expect(fn('States.Array()')).toEqual([]);
    expect(fn('States.Array( )')).toEqual([]);
    expect(fn('States.Array($.a, $.b)', { a: ' ', b: null })).toEqual([' ', null]);
  });

  test('States.ArrayRange steps (recorded: intrinsic_functions/test_array test_array_range)', () => {
    expect(fn('States.ArrayRange(0, 9, 3)')).toEqual([0, 3, 6, 9]);
    expect(fn('States.ArrayRange(0, 10, 3)')).toEqual([0, 3, 6, 9]);
    expect(fn('States.ArrayRange(1, 9, 9)')).toEqual([1]);
    expect(fn('States.ArrayRange(1, 9, 2)')).toEqual([1, 3, 5, 7, 9]);
    expect(intrinsicFailure('States.ArrayRange(1, 9, 0)').error).toBe('States.IntrinsicFailure');
  });

  test('States.MathAdd rounds non-integers half up like Java (recorded: intrinsic_functions/test_math_operations test_math_add)', () => {
    const cases: [number, number, number][] = [
      [-9, 3, -6], [1.49, 1.5, 3], [1.5, 1.51, 4], [-1.49, -1.5, -2], [-1.5, -1.51, -3], [1.49, -1.49, 0],
      [0.5, 0, 1], [2.5, 0, 3], [-0.5, 0.5, 1], [-0.5, 0, 0], [-2.5, 0, -2], [-3.5, 0, -3],
    ];
    for (const [fst, snd, sum] of cases) expect(fn('States.MathAdd($.fst, $.snd)', { fst, snd })).toBe(sum);
  });

  test('States.Hash with each algorithm (recorded: intrinsic_functions/test_hash_calculations test_hash) and of an empty string', () => {
    const hash = (algorithm: string, data = 'input data') => fn('States.Hash($.d, $.a)', { d: data, a: algorithm });
    expect(hash('MD5')).toBe('812f45842bc6d66ee14572ce20db8e86');
    expect(hash('SHA-1')).toBe('aaff4a450a104cd177d28d18d74485e8cae074b7');
    expect(hash('SHA-256')).toBe('b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3');
    expect(hash('SHA-384')).toBe('d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562');
    expect(hash('SHA-512')).toBe(
      '6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4',
    );
    // The empty string is a string (the "Intrinsic functions" page asks only for a string under 10,000 characters).
    expect(hash('MD5', '')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(intrinsicFailure('States.Hash($.d, $.a)', { d: null, a: 'MD5' }).error).toBe('States.IntrinsicFailure');
  });

  test('States.Base64Encode / Decode of the empty string (recorded: intrinsic_functions/test_encode_decode)', () => {
    expect(fn("States.Base64Encode('')")).toBe('');
    expect(fn("States.Base64Decode('')")).toBe('');
  });

  test('States.UUID takes no arguments ("Intrinsic functions": States.UUID)', () => {
    expect(() => parseIntrinsic("States.UUID('seed')")).toThrow(AslSyntaxError);
  });

  test('nested calls as arguments, with whitespace between arguments (recorded: intrinsic_functions/test_generic test_nested_calls_1/2)', () => {
    expect(fn("States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)")).toBe('orders');
    expect(
      fn("States.ArrayGetItem( States.StringSplit($$.StateMachine.Name,'-') ,\n States.MathAdd( States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')) , -1 ) )"),
    ).toBe('west');
  });

  test('a real newline inside a literal is kept (recorded: intrinsic_functions/test_generic test_escape_sequence)', () => {
    expect(fn("States.StringSplit('Hello\nWorld', '\n')")).toEqual(['Hello', 'World']);
  });
});

describe("cause texts in AWS's wording, as a definition observes them", () => {
  test('an InputPath that finds nothing (recorded: error_handling/test_states_errors, a Pass state as the first state)', async () => {
    const r = await exec({ StartAt: 'pass', States: { pass: { Type: 'Pass', InputPath: '$.NoSuchInputPath', End: true } } }, {});
    expect(r).toMatchObject({
      status: 'FAILED',
      error: 'States.Runtime',
      cause: "An error occurred while executing the state 'pass' (entered at the event id #2). Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']",
    });
  });

  test('a Parameters path that finds nothing (recorded: error_handling/test_states_errors, "value.$")', async () => {
    const def = { StartAt: 'pass', States: { pass: { Type: 'Pass', Parameters: { 'value.$': '$.no_such_jsonpath' }, End: true } } };
    const r = await exec(def, { a: 1 });
    expect(r).toMatchObject({
      status: 'FAILED',
      error: 'States.Runtime',
      cause: "An error occurred while executing the state 'pass' (entered at the event id #2). The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '{\"a\":1}'",
    });
  });

  test('a Choice variable that finds nothing, after a Pass: the event id counts the events before it', async () => {
    // Wording: the brief of issue 15 quotes AWS's "Invalid path '$.x' : The choice state's condition path references an
    // invalid value."; the event ids follow AWS's numbering of ExecutionStarted #1, PassStateEntered #2, PassStateExited #3.
    const def = {
      StartAt: 'First',
      States: {
        First: { Type: 'Pass', Next: 'Pick' },
        Pick: { Type: 'Choice', Choices: [{ Variable: '$.x', NumericEquals: 1, Next: 'Done' }], Default: 'Done' },
        Done: { Type: 'Succeed' },
      },
    };
    const r = await exec(def, {});
    expect(r).toMatchObject({
      status: 'FAILED',
      error: 'States.Runtime',
      cause: "An error occurred while executing the state 'Pick' (entered at the event id #4). Invalid path '$.x' : The choice state's condition path references an invalid value.",
    });
  });

  test('the cause is the same whether or not history is kept, and the history numbers agree', async () => {
    const def = { StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Pass', OutputPath: '$.missing', End: true } } };
    const events: { type: string }[] = [];
    const withHistory = await exec(def, {}, { onEvent: (e) => events.push(e) });
    const without = await exec(def, {});
    expect(withHistory).toEqual(without);
    expect((without as { cause: string }).cause).toContain("state 'B' (entered at the event id #4)");
    expect(events[3]!.type).toBe('PassStateEntered'); // event #4
  });

  test('States.Runtime from an intrinsic is not caught, and names the state (wording: "Intrinsic functions" + kit case 60)', async () => {
    const def = {
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: 'fn',
          Parameters: { 'n.$': 'States.ArrayLength($.missing)' },
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.err', Next: 'Caught' }],
          End: true,
        },
        Caught: { Type: 'Succeed' },
      },
    };
    const r = await exec(def, {});
    expect(r).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect((r as { cause: string }).cause).toContain("'$.missing'");
  });

  test("an intrinsic's own failure is catchable and its Cause reaches the output", async () => {
    const def = {
      StartAt: 'P',
      States: {
        P: {
          Type: 'Task',
          Resource: 'fn',
          Parameters: { 'v.$': 'States.StringToJson($.s)' },
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.err', Next: 'Caught' }],
          End: true,
        },
        Caught: { Type: 'Pass', Parameters: { 'Error.$': '$.err.Error', 'Cause.$': '$.err.Cause' }, End: true },
      },
    };
    const ok = await exec(def, { s: '  ' });
    expect(ok).toMatchObject({ status: 'SUCCEEDED', output: { v: null } });
    const caught = await exec(def, { s: '{broken' });
    expect(caught).toMatchObject({ status: 'SUCCEEDED', output: { Error: 'States.IntrinsicFailure' } });
    expect((caught as { output: { Cause: string } }).output.Cause).toContain('{broken');
  });
});
