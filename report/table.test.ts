import { describe, expect, it } from 'vitest';
import { formatTable } from './table.js';

// The header, number and alignment defaults are tested where the CLI uses them: cli/lib/table.test.ts.
describe('formatTable without a header', () => {
  it('lays out the rows alone, with the alignment asked for, and no trailing spaces', () => {
    const rows = [
      ['warm p50', '1.25 ms', 'target <= 2 ms'],
      ['per-hop overhead', '0.1 ms', ''],
    ];
    expect(formatTable(null, rows, { align: ['left', 'right', 'left'] })).toBe(
      ['warm p50          1.25 ms  target <= 2 ms', 'per-hop overhead   0.1 ms'].join('\n'),
    );
  });
  it('takes its columns from the longest row', () => {
    expect(formatTable(null, [['a'], ['bb', 3]])).toBe(['a', 'bb  3'].join('\n'));
    expect(formatTable(null, [])).toBe('');
  });
});
