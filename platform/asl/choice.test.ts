import { describe, expect, test } from 'vitest';
import { compileCondition, compileStringMatches, parseTimestamp } from './choice.js';
import { AslSyntaxError, StatesError } from './errors.js';

const check = (rule: object, input: unknown, ctx: unknown = {}) => compileCondition(rule, '$.r')(input, () => ctx);

describe('Choice comparison operators', () => {
  test.each([
    ['StringEquals', 'a', 'a', true],
    ['StringEquals', 'a', 'b', false],
    ['StringLessThan', 'A', 'AB', true],
    ['StringGreaterThan', 'b', 'a', true],
    ['StringLessThanEquals', 'A', 'A', true],
    ['StringGreaterThanEquals', 'A', 'B', false],
    ['NumericEquals', 3, 3.0, true],
    ['NumericLessThan', 1, 2, true],
    ['NumericGreaterThan', 1, 0, true],
    ['NumericLessThanEquals', 2, 2, true],
    ['NumericGreaterThanEquals', 1, 2, false],
    ['BooleanEquals', false, false, true],
    ['TimestampEquals', '2016-03-14T01:59:00Z', '2016-03-14T01:59:00.000Z', true],
    ['TimestampEquals', '2016-03-14T02:59:00+01:00', '2016-03-14T01:59:00Z', true],
    ['TimestampLessThan', '2016-03-14T01:59:00Z', '2016-03-14T01:59:00.000000001Z', true],
    ['TimestampGreaterThan', '2012-10-09T19:00:56Z', '2012-10-09T19:00:55Z', true],
    ['TimestampLessThanEquals', '2012-10-09T19:00:55Z', '2012-10-09T19:00:55Z', true],
    ['TimestampGreaterThanEquals', '2012-10-09T19:00:54Z', '2012-10-09T19:00:55Z', false],
  ])('%s: %j vs %j is %s (literal and Path forms)', (op, a, b, expected) => {
    expect(check({ Variable: '$.a', [op]: b }, { a })).toBe(expected);
    expect(check({ Variable: '$.a', [`${op}Path`]: '$.b' }, { a, b })).toBe(expected);
  });

  test('type mismatches are false, not errors (kit case 16)', () => {
    expect(check({ Variable: '$.v', NumericEquals: 0 }, { v: '' })).toBe(false);
    expect(check({ Variable: '$.v', StringEquals: '1' }, { v: 1 })).toBe(false);
    expect(check({ Variable: '$.v', BooleanEquals: true }, { v: 'true' })).toBe(false);
    expect(check({ Variable: '$.v', TimestampEquals: '2016-03-14T01:59:00Z' }, { v: 'not a date' })).toBe(false);
  });

  test('type tests', () => {
    const input = { n: null, num: 1.5, s: 's', b: false, ts: '2016-03-14T01:59:00Z' };
    expect(check({ Variable: '$.n', IsNull: true }, input)).toBe(true);
    expect(check({ Variable: '$.num', IsNull: false }, input)).toBe(true);
    expect(check({ Variable: '$.num', IsNumeric: true }, input)).toBe(true);
    expect(check({ Variable: '$.s', IsNumeric: true }, input)).toBe(false);
    expect(check({ Variable: '$.s', IsString: true }, input)).toBe(true);
    expect(check({ Variable: '$.b', IsBoolean: true }, input)).toBe(true);
    expect(check({ Variable: '$.ts', IsTimestamp: true }, input)).toBe(true);
    expect(check({ Variable: '$.s', IsTimestamp: true }, input)).toBe(false);
    expect(check({ Variable: '$.n', IsPresent: true }, input)).toBe(true); // kit case 19: present with value null
    expect(check({ Variable: '$.missing', IsPresent: false }, input)).toBe(true);
  });

  test('a missing Variable is States.Runtime (except for IsPresent)', () => {
    expect(() => check({ Variable: '$.missing', StringEquals: 'x' }, {})).toThrow(StatesError);
    try {
      check({ Variable: '$.missing', IsNull: true }, {});
    } catch (e) {
      expect((e as StatesError).error).toBe('States.Runtime');
    }
  });

  test('Variable may read the context object (kit case 38)', () => {
    expect(check({ Variable: '$$.Execution.Input.input-value', NumericLessThanEquals: 0 }, {}, { Execution: { Input: { 'input-value': 0 } } })).toBe(true);
  });
});

describe('StringMatches (spec: "*" is the only wildcard, "\\*" and "\\\\" escape)', () => {
  test.each([
    ['foo*.log', 'foo23.log', true],
    ['*.log', 'zebra.log', true],
    ['foo*.*', 'foobar.zebra', true],
    ['foo*.log', 'foo23.txt', false],
    ['a?c', 'abc', false],
    ['a?c', 'a?c', true],
    ['log-\\*.txt', 'log-*.txt', true],
    ['log-\\*.txt', 'log-1.txt', false],
    ['back\\\\slash', 'back\\slash', true],
    ['*', '', true],
  ])('%j matches %j: %s', (pattern, value, expected) => {
    expect(compileStringMatches(pattern).test(value)).toBe(expected);
    expect(check({ Variable: '$', StringMatches: pattern }, value)).toBe(expected);
  });
});

describe('boolean operators', () => {
  // The Choice example of the spec / AWS docs (kit case 13).
  const rules = [
    { Not: { Variable: '$.type', StringEquals: 'Private' } },
    { Variable: '$.value', NumericEquals: 0 },
    { And: [{ Variable: '$.value', NumericGreaterThanEquals: 20 }, { Variable: '$.value', NumericLessThan: 30 }] },
  ];
  test.each([
    [{ type: 'Public', value: 5 }, [true, false, false]],
    [{ type: 'Private', value: 0 }, [false, true, false]],
    [{ type: 'Private', value: 22 }, [false, false, true]],
    [{ type: 'Private', value: 30 }, [false, false, false]],
  ])('input %j', (input, expected) => {
    expect(rules.map((r) => check(r, input))).toEqual(expected);
  });
  test('Or and nested Not', () => {
    const rule = { Or: [{ Variable: '$.a', NumericEquals: 1 }, { Not: { Variable: '$.b', IsPresent: true } }] };
    expect(check(rule, { a: 1, b: 1 })).toBe(true);
    expect(check(rule, { a: 2 })).toBe(true);
    expect(check(rule, { a: 2, b: 0 })).toBe(false);
  });
  test('a singleton And is valid (kit case 14)', () => {
    expect(check({ And: [{ Variable: '$.t', StringEquals: 'Public' }] }, { t: 'Public' })).toBe(true);
  });
});

describe('malformed rules are rejected at load time', () => {
  test.each([
    [{ Variable: '$.a' }, 'exactly one comparison operator'],
    [{ Variable: '$.a', StringEquals: 'x', NumericEquals: 1 }, 'exactly one comparison operator'],
    [{ Variable: '$.a', NumericEquals: '1' }, 'must be a number'],
    [{ Variable: '$.a', TimestampEquals: '2016-03-14' }, 'RFC 3339'],
    [{ Variable: '$.a', IsNull: 'yes' }, 'true or false'],
    [{ StringEquals: 'x' }, 'Variable'],
    [{ And: [] }, 'non-empty'],
    [{ Variable: 'a.b', StringEquals: 'x' }, 'invalid JSONPath'],
  ])('%j', (rule, message) => {
    expect(() => compileCondition(rule, '$.r')).toThrow(AslSyntaxError);
    expect(() => compileCondition(rule, '$.r')).toThrow(message);
  });
});

describe('timestamps', () => {
  test('nanosecond precision and offsets', () => {
    expect(parseTimestamp('2016-03-05T21:29:29.243167252Z')).toEqual([Date.UTC(2016, 2, 5, 21, 29, 29) / 1000, 243167252]);
    expect(parseTimestamp('2016-03-14T01:59:00-05:30')).toEqual([Date.UTC(2016, 2, 14, 7, 29, 0) / 1000, 0]);
  });
  test.each(['2016-03-14t01:59:00z', '2016-03-14 01:59:00Z', '2016-02-30T00:00:00Z', '2016-13-01T00:00:00Z', '2016-03-14T01:59:00', 5])('%j is not a timestamp', (v) => {
    expect(parseTimestamp(v)).toBeNull();
  });
});
