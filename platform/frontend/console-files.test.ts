/** The console's static files: read once from the bundle folder, served at /console/ without a token. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, testPlatform } from '../../test/helpers/platform.js';
import { loadConsoleFiles } from './console-files.js';

describe('loadConsoleFiles', () => {
  it('keeps the files it knows the type of, and nothing when the console was not built', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mfconsole-'));
    await writeFile(join(dir, 'index.html'), '<!doctype html>');
    await writeFile(join(dir, 'main.js'), 'export {};');
    await writeFile(join(dir, 'notes.txt'), 'not served');
    const files = loadConsoleFiles(dir);
    expect([...files.keys()].sort()).toEqual(['index.html', 'main.js']);
    expect(files.get('main.js')?.contentType).toBe('text/javascript; charset=utf-8');
    expect(loadConsoleFiles(join(dir, 'missing')).size).toBe(0);
  });
});

describe('the console on a platform', () => {
  let platform: Awaited<ReturnType<typeof testPlatform>>;
  beforeAll(async () => {
    platform = await testPlatform();
  });
  afterAll(async () => {
    await platform.close();
  });

  it('serves the page and its bundle without a token, under a policy that allows only its own origin', async () => {
    for (const path of ['/console', '/console/']) {
      const page = await fetch(platform.url + path);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await page.text()).toContain('/console/main.js');
    }
    const bundle = await fetch(`${platform.url}/console/main.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await bundle.text()).length).toBeGreaterThan(10_000);
  });

  it('answers a file it does not have with MF_NOT_FOUND, and keeps the API behind the token', async () => {
    const missing = await call(platform, 'GET', '/console/nope.js', undefined, { token: null });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('MF_NOT_FOUND');
    expect((await call(platform, 'GET', '/console/..%2Fhttp.js', undefined, { token: null })).status).toBe(404);
    expect((await call(platform, 'POST', '/workflows/validate', { definition: {} }, { token: null })).status).toBe(401);
  });
});
