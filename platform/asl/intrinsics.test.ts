import { describe, expect, test } from 'vitest';
import { AslSyntaxError, StatesError } from './errors.js';
import { evalIntrinsic, formatValue, parseIntrinsic } from './intrinsics.js';

const run = (text: string, input: unknown = {}, ctx: unknown = {}) => evalIntrinsic(parseIntrinsic(text), input, () => ctx);

function failure(fn: () => unknown): StatesError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StatesError) return e;
    throw e;
  }
  throw new Error('expected a StatesError');
}

// Expected values are the examples of the AWS "Intrinsic functions for JSONPath states" page and the spec.
describe('intrinsic functions: documented examples', () => {
  test('States.Format with an escaped quote', () => {
    expect(run("States.Format('Welcome to {} {}\\'s playlist.', $.firstName, $.lastName)", { firstName: 'John', lastName: 'Doe' })).toBe(
      "Welcome to John Doe's playlist.",
    );
  });
  test('States.Format with literal braces escaped', () => {
    expect(run("States.Format('\\{{}\\}', 'x')")).toBe('{x}');
  });
  test('States.StringToJson / JsonToString', () => {
    expect(run('States.StringToJson($.someString)', { someString: '{"number": 20}' })).toEqual({ number: 20 });
    expect(run('States.JsonToString($.someJson)', { someJson: { name: 'Foo', year: 2020 } })).toBe('{"name":"Foo","year":2020}');
  });
  test('States.Array', () => {
    expect(run("States.Array('Foo', 2020, $.someJson, null)", { someJson: { random: 'abcdefg' } })).toEqual(['Foo', 2020, { random: 'abcdefg' }, null]);
  });
  const nine = { inputArray: [1, 2, 3, 4, 5, 6, 7, 8, 9] };
  test('States.ArrayPartition', () => expect(run('States.ArrayPartition($.inputArray, 4)', nine)).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9]]));
  test('States.ArrayContains', () => expect(run('States.ArrayContains($.inputArray, 5)', nine)).toBe(true));
  test('States.ArrayRange', () => expect(run('States.ArrayRange(1, 9, 2)')).toEqual([1, 3, 5, 7, 9]));
  test('States.ArrayGetItem', () => expect(run('States.ArrayGetItem($.inputArray, 5)', nine)).toBe(6));
  test('States.ArrayLength', () => expect(run('States.ArrayLength($.inputArray)', nine)).toBe(9));
  test('States.ArrayUnique', () => expect(run('States.ArrayUnique($.a)', { a: [1, 2, 3, 3, 3, 3, 3, 3, 4] })).toEqual([1, 2, 3, 4]));
  test('States.Base64Encode / Decode', () => {
    expect(run("States.Base64Encode('Data to encode')")).toBe('RGF0YSB0byBlbmNvZGU=');
    expect(run("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')")).toBe('Data to encode');
  });
  test('States.Hash with every algorithm', () => {
    expect(run("States.Hash('input data', 'SHA-1')")).toBe('aaff4a450a104cd177d28d18d74485e8cae074b7');
    expect(run("States.Hash('input data', 'SHA-256')")).toBe('b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3');
    expect(run("States.Hash('input data', 'MD5')")).toMatch(/^[0-9a-f]{32}$/);
    expect(run("States.Hash('input data', 'SHA-384')")).toMatch(/^[0-9a-f]{96}$/);
    expect(run("States.Hash('input data', 'SHA-512')")).toMatch(/^[0-9a-f]{128}$/);
  });
  test('States.JsonMerge is shallow', () => {
    expect(run('States.JsonMerge($.a, $.b, false)', { a: { a: { a1: 1, a2: 2 }, b: 2 }, b: { a: { a3: 1, a4: 2 }, c: 3 } })).toEqual({ a: { a3: 1, a4: 2 }, b: 2, c: 3 });
  });
  test('States.MathRandom is in [start, end) and deterministic with a seed', () => {
    for (let i = 0; i < 50; i++) {
      const v = run('States.MathRandom(1, 999)') as number;
      expect(Number.isInteger(v) && v >= 1 && v < 999).toBe(true);
    }
    expect(run('States.MathRandom(1, 999, 7)')).toBe(run('States.MathRandom(1, 999, 7)'));
  });
  test('States.MathAdd, rounding half up like Java', () => {
    expect(run('States.MathAdd(111, -1)')).toBe(110);
    expect(run('States.MathAdd(2.5, 0)')).toBe(3);
    expect(run('States.MathAdd(-2.5, 0)')).toBe(-2);
  });
  test('States.StringSplit splits on any delimiter character', () => {
    expect(run("States.StringSplit('1,2,3,4,5', ',')")).toEqual(['1', '2', '3', '4', '5']);
    expect(run("States.StringSplit('This.is+a,test=string', '.+,=')")).toEqual(['This', 'is', 'a', 'test', 'string']);
  });
  test('States.UUID is a v4 UUID', () => {
    expect(run('States.UUID()')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('intrinsic functions: parsing and failures', () => {
  test('nested calls, context paths and literals', () => {
    expect(run("States.JsonMerge(States.StringToJson('{\"k\": \"v\"}'), $$.Execution.Input, false)", {}, { Execution: { Input: { i: 1 } } })).toEqual({ k: 'v', i: 1 });
    expect(run("States.Array(true, false, null, -1.5, 'a,b', $.x['y,z'])", { x: { 'y,z': 7 } })).toEqual([true, false, null, -1.5, 'a,b', 7]);
    expect(run("States.Format('{} and {}', States.ArrayLength(States.Array(1, 2)), $.s)", { s: 'x' })).toBe('2 and x');
  });
  test('States.Format renders objects and arrays the Java way (kit case 21)', () => {
    expect(formatValue({ Arg1: 1, Arg2: [] })).toBe('{Arg1=1, Arg2=[]}');
    expect(formatValue([1, 'a', null, { b: true }])).toBe('[1, a, null, {b=true}]');
  });
  test.each([
    "States.Nope('x')",
    'States.Format(',
    "States.ArrayLength('a', 'b')",
    'States.UUID(1)',
    "States.Format('unterminated)",
    'notAFunction()',
  ])('%s does not parse', (text) => {
    expect(() => parseIntrinsic(text)).toThrow(AslSyntaxError);
  });
  test.each([
    ["States.StringToJson('{not json')", {}],
    ["States.ArrayLength('not an array')", {}],
    ["States.ArrayGetItem($.a, 5)", { a: [1] }],
    ['States.ArrayRange(1, 2, 0)', {}],
    ['States.ArrayRange(0, 2000, 1)', {}],
    ['States.ArrayPartition($.a, 0)', { a: [1] }],
    ["States.Format('{} {}', 'one')", {}],
    ["States.Hash('x', 'SHA-3')", {}],
    ['States.JsonMerge($.a, $.a, true)', { a: {} }],
    ["States.MathAdd('1', 2)", {}],
    ["States.Base64Decode('###')", {}],
  ])('%s fails with States.IntrinsicFailure', (text, input) => {
    expect(failure(() => run(text as string, input)).error).toBe('States.IntrinsicFailure');
  });
  test('a missing path argument is States.Runtime', () => {
    expect(failure(() => run('States.ArrayLength($.missing)')).error).toBe('States.Runtime');
  });
});
