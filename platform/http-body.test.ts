import type { IncomingMessage } from 'node:http';
import { describe, expect, test } from 'vitest';
import { MfError } from './errors.js';
import { bearerToken, parseJson } from './http-body.js';

describe('parseJson', () => {
  const depthError = (text: string, max: number): MfError | null => {
    try {
      parseJson(Buffer.from(text), max);
      return null;
    } catch (err) {
      return err as MfError;
    }
  };

  test('refuses nesting past the limit before parsing, and accepts it up to the limit', () => {
    expect(depthError('[[[1]]]', 3)).toBeNull();
    expect(depthError('[[[[1]]]]', 3)?.code).toBe('MF_BAD_REQUEST');
    expect(depthError('{"a":{"b":{"c":{}}}}', 3)?.details).toEqual({ maxDepth: 3 });
    // Depth is the deepest point, not the number of brackets.
    expect(depthError('[[1],[2],[3],[4],[5]]', 2)).toBeNull();
  });

  test('brackets and escaped quotes inside strings are not nesting', () => {
    expect(parseJson(Buffer.from('{"s":"[[[[{{{{\\"[[[["}'), 1)).toEqual({ s: '[[[[{{{{"[[[[' });
    expect(parseJson(Buffer.from('["\\\\", [1]]'), 2)).toEqual(['\\', [1]]);
    expect(parseJson(Buffer.from('{"é[":"ü{"}'), 1)).toEqual({ 'é[': 'ü{' });
  });

  test('an empty body is {}; bad JSON is MF_BAD_REQUEST', () => {
    expect(parseJson(Buffer.from('  '), 1)).toEqual({});
    expect(depthError('{"a":', 8)?.code).toBe('MF_BAD_REQUEST');
  });
});

describe('bearerToken', () => {
  const req = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;
  test.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['BEARER  abc ', 'abc'],
    ['Basic abc', null],
    ['Bearer', null],
    ['Bearer a b', null],
    [undefined, null],
  ])('%s -> %s', (header, token) => {
    expect(bearerToken(req(header))).toBe(token);
  });
});
