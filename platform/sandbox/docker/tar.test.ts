import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, expect, test } from 'vitest';
import { tarStream } from './tar.js';

const dir = mkdtempSync(join(tmpdir(), 'mfb-tar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the system tar reads our archives with the exact modes, owners, sizes and contents', async () => {
  const src = join(dir, 'blob.bin');
  const data = Buffer.alloc(1000, 7);
  writeFileSync(src, data);
  const long = `${'d'.repeat(80)}/${'e'.repeat(60)}/file.txt`; // > 100 bytes: needs the ustar prefix
  const archive = await buffer(
    tarStream([
      { type: 'file', name: 'Dockerfile', mode: 0o644, content: Buffer.from('FROM scratch\n') },
      { type: 'dir', name: 'rootfs/tmp', mode: 0o1777 },
      { type: 'file', name: 'rootfs/bin/x', mode: 0o755, size: data.length, hostPath: src },
      { type: 'file', name: long, mode: 0o600, content: Buffer.from('deep') },
    ]),
  );
  expect(archive.length % 512).toBe(0);
  const file = join(dir, 'a.tar');
  writeFileSync(file, archive);
  const listing = execFileSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8' }).trim().split('\n');
  expect(listing).toHaveLength(4);
  expect(listing[0]).toMatch(/^-rw-r--r-- 0\/0 +13 1970-01-01 00:00 Dockerfile$/);
  expect(listing[1]).toMatch(/^drwxrwxrwt 0\/0 +0 1970-01-01 00:00 rootfs\/tmp\/$/);
  expect(listing[2]).toMatch(/^-rwxr-xr-x 0\/0 +1000 1970-01-01 00:00 rootfs\/bin\/x$/);
  expect(listing[3]).toContain(long);
  const out = join(dir, 'out');
  execFileSync('mkdir', [out]);
  execFileSync('tar', ['-xf', file, '-C', out]);
  expect(readFileSync(join(out, 'rootfs/bin/x')).equals(data)).toBe(true);
  expect(readFileSync(join(out, long), 'utf8')).toBe('deep');
  expect(statSync(join(out, 'rootfs/bin/x')).mode & 0o777).toBe(0o755);
});

test('the same entries give byte-identical archives (reproducible layers)', async () => {
  const entries = [{ type: 'file', name: 'a', mode: 0o644, content: Buffer.from('x') }] as const;
  const a = await buffer(tarStream(entries));
  const b = await buffer(tarStream(entries));
  expect(a.equals(b)).toBe(true);
});
