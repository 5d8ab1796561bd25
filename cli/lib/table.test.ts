import { describe, expect, it } from 'vitest';
import { formatNumber, formatTable } from './table.js';

describe('formatTable', () => {
  it('pads text left-aligned and numbers right-aligned, with a rule under the header', () => {
    expect(formatTable(['name', 'ms'], [['hello', 1.5], ['noop-chain', 12], ['x', null]])).toBe(
      ['name          ms', '----------  ----', 'hello       1.50', 'noop-chain    12', 'x              -'].join('\n'),
    );
  });
  it('formats numbers with few digits', () => {
    expect([formatNumber(3), formatNumber(0.12345), formatNumber(12.345), formatNumber(1234.56), formatNumber(Number.NaN)]).toEqual([
      '3',
      '0.123',
      '12.35',
      '1234.6',
      'NaN',
    ]);
  });
});
