import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { ERROR_CODES } from './errors.js';

test('docs/errors.md lists every error code with its HTTP status', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  for (const [code, { status }] of Object.entries(ERROR_CODES)) {
    expect(doc, `docs/errors.md is missing ${code}`).toContain(`| \`${code}\` | ${status} |`);
  }
});
