import { describe, expect, test } from 'vitest';
import { ERROR_CODES, isErrorBody, MfError, toMfError, type ErrorCode } from './errors.js';

describe('MfError', () => {
  test.each(Object.entries(ERROR_CODES) as Array<[ErrorCode, { status: number; meaning: string }]>)(
    '%s maps to HTTP %#, survives a process boundary and has a meaning',
    (code, { status, meaning }) => {
      const err = new MfError(code, `something about ${code}`, { where: 'here' });
      expect(err.code).toBe(code);
      expect(err.status).toBe(status);
      expect(meaning.length).toBeGreaterThan(10);
      const wire = JSON.parse(JSON.stringify(err));
      expect(wire).toEqual({ code, message: `something about ${code}`, details: { where: 'here' } });
      const back = MfError.fromJSON(wire);
      expect(back).toBeInstanceOf(MfError);
      expect(back.code).toBe(code);
      expect(back.details).toEqual({ where: 'here' });
    },
  );

  test('codes are stable MF_ names and statuses are HTTP statuses', () => {
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^MF_[A-Z_]+$/);
      expect(status).toBeGreaterThanOrEqual(200);
      expect(status).toBeLessThan(600);
    }
  });

  test('an unknown error body becomes MF_INTERNAL with the text kept', () => {
    const err = MfError.fromJSON({ code: 'NOPE', message: 'x' });
    expect(err.code).toBe('MF_INTERNAL');
    expect(err.message).toContain('NOPE');
    expect(isErrorBody({ code: 'MF_BAD_REQUEST', message: 'm' })).toBe(true);
    expect(isErrorBody({ code: 'MF_BAD_REQUEST' })).toBe(false);
  });

  test('toMfError keeps MfErrors and wraps anything else', () => {
    const e = new MfError('MF_APP_NOT_FOUND', 'gone');
    expect(toMfError(e)).toBe(e);
    const wrapped = toMfError(new TypeError('boom'), 'MF_BAD_REQUEST');
    expect(wrapped.code).toBe('MF_BAD_REQUEST');
    expect(wrapped.message).toBe('boom');
    expect(toMfError('plain').code).toBe('MF_INTERNAL');
  });
});
