import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { filesFromZip, UploadError } from './uploads.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('filesFromZip', () => {
  it('a zipped folder: its files relative to the folder, folders and resource forks left out', () => {
    const zip = zipSync({ 'fn/index.mjs': strToU8('export const handler = 1;'), 'fn/lib/': new Uint8Array(), 'fn/lib/a.mjs': strToU8('a'), '__MACOSX/fn/._index.mjs': strToU8('x') });
    expect(filesFromZip(zip)).toEqual({ 'index.mjs': b64('export const handler = 1;'), 'lib/a.mjs': b64('a') });
  });

  it('files at the top stay where they are', () => {
    expect(filesFromZip(zipSync({ 'index.mjs': strToU8('x'), 'lib/a.mjs': strToU8('a') }))).toEqual({ 'index.mjs': b64('x'), 'lib/a.mjs': b64('a') });
  });

  it('refuses what is not a zip, an empty zip, and one that unpacks past the limit before inflating it', () => {
    expect(() => filesFromZip(strToU8('not a zip'))).toThrow(UploadError);
    expect(() => filesFromZip(zipSync({}))).toThrow('the zip holds no file');
    // 70 MiB of zeros deflates to well under a megabyte: a small bomb.
    const bomb = zipSync({ 'zeros.bin': new Uint8Array(70 * 1024 * 1024) }, { level: 9 });
    expect(bomb.length).toBeLessThan(1024 * 1024);
    expect(() => filesFromZip(bomb)).toThrow('unpacks to more than 64 MiB');
  });
});
