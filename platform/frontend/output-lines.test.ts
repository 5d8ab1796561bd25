import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { forEachLine, MAX_LINE_CHARS } from './output-lines.js';

describe('forEachLine', () => {
  test('splits across chunks, keeps the unterminated last line, and cuts lines that never end', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    forEachLine(stream, (l) => lines.push(l));
    stream.write('one\ntw');
    stream.write('o\n');
    stream.write('x'.repeat(MAX_LINE_CHARS * 2 + 5));
    stream.end('\nlast');
    await new Promise((r) => stream.once('end', r));
    expect(lines).toEqual(['one', 'two', 'x'.repeat(MAX_LINE_CHARS), 'x'.repeat(MAX_LINE_CHARS), 'xxxxx', 'last']);
  });
});
