import { describe, expect, test } from 'vitest';
import { isMfError } from '../errors.js';
import { checkSessionStart, checkTarget, DEFAULT_SESSION_POLICY } from './spec.js';

const FUNCTIONS = ['collector', 'detector'];

describe('checkSessionStart', () => {
  test('fills in defaults and expands counts', () => {
    const spec = checkSessionStart({ functions: [{ function: 'collector', alias: 'c', input: { w: 1 } }, { function: 'detector', count: 2 }] }, FUNCTIONS);
    expect(spec.functions).toEqual([
      { function: 'collector', alias: 'c', input: { w: 1 } },
      { function: 'detector', alias: null, input: {} },
      { function: 'detector', alias: null, input: {} },
    ]);
    expect(spec.policy).toEqual(DEFAULT_SESSION_POLICY);
    expect(checkSessionStart({ functions: [{ function: 'collector' }], policy: { onFailure: 'restart', heartbeatSeconds: 2 } }, FUNCTIONS).policy).toMatchObject({ onFailure: 'restart', heartbeatSeconds: 2 });
  });

  test.each([
    ['not an object', 'x', 'MF_BAD_REQUEST'],
    ['no functions', { functions: [] }, 'MF_BAD_REQUEST'],
    ['unknown function', { functions: [{ function: 'nope' }] }, 'MF_FUNCTION_NOT_FOUND'],
    ['bad count', { functions: [{ function: 'collector', count: 0 }] }, 'MF_BAD_REQUEST'],
    ['alias with count', { functions: [{ function: 'collector', alias: 'a', count: 2 }] }, 'MF_BAD_REQUEST'],
    ['alias twice', { functions: [{ function: 'collector', alias: 'a' }, { function: 'detector', alias: 'a' }] }, 'MF_BAD_REQUEST'],
    ['bad alias', { functions: [{ function: 'collector', alias: 'a b' }] }, 'MF_BAD_REQUEST'],
    ['too many instances', { functions: [{ function: 'collector', count: 65 }] }, 'MF_BAD_REQUEST'],
    ['unknown policy field', { functions: [{ function: 'collector' }], policy: { x: 1 } }, 'MF_BAD_REQUEST'],
    ['bad onFailure', { functions: [{ function: 'collector' }], policy: { onFailure: 'retry' } }, 'MF_BAD_REQUEST'],
    ['negative lifetime', { functions: [{ function: 'collector' }], policy: { maxLifetimeSeconds: -1 } }, 'MF_BAD_REQUEST'],
    ['huge messages', { functions: [{ function: 'collector' }], policy: { maxMessageBytes: 1e12 } }, 'MF_BAD_REQUEST'],
    ['fractional restarts', { functions: [{ function: 'collector' }], policy: { maxRestarts: 1.5 } }, 'MF_BAD_REQUEST'],
  ])('%s is refused with %s', (_what, body, code) => {
    let caught: unknown;
    try {
      checkSessionStart(body, FUNCTIONS);
    } catch (err) {
      caught = err;
    }
    expect(isMfError(caught, code as 'MF_BAD_REQUEST')).toBe(true);
  });
});

describe('checkTarget', () => {
  test('an absent target is the whole session; names and objects pass; anything else is refused', () => {
    expect(checkTarget(undefined)).toEqual({ all: true });
    expect(checkTarget('c')).toBe('c');
    expect(checkTarget({ function: 'detector' })).toEqual({ function: 'detector' });
    expect(checkTarget({ instance: 'detector.1' })).toEqual({ instance: 'detector.1' });
    expect(() => checkTarget(42)).toThrow(/target/);
    expect(() => checkTarget('')).toThrow(/target/);
  });
});
