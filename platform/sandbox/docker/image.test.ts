import { expect, test } from 'vitest';
import { buildContextEntries, DOCKERFILE, NODE_IN_IMAGE, parseLdd, runtimeImageContent } from './image.js';

const LDD = `	linux-vdso.so.1 (0x00007ffd)
	libdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f8b)
	libstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f8a)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f87)
	/lib64/ld-linux-x86-64.so.2 (0x00007f8d)
`;

test('parseLdd keeps the libraries and the loader, skips the vdso, and refuses a missing library', () => {
  expect(parseLdd(LDD)).toEqual(['/lib/x86_64-linux-gnu/libdl.so.2', '/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
  expect(parseLdd('\tstatically linked\n')).toEqual([]);
  expect(() => parseLdd('\tlibfoo.so.1 => not found\n')).toThrow(/libfoo/);
});

test('the image content of this host: node, its libraries, the loader, a 1777 /tmp, and a stable content tag', async () => {
  const c = await runtimeImageContent();
  expect(c.tag).toMatch(/^mfbench-runtime:[0-9a-f]{16}$/);
  expect(c.hash.startsWith(c.tag.split(':')[1]!)).toBe(true);
  expect(c.files.map((f) => f.imagePath)).toContain(NODE_IN_IMAGE);
  expect(c.files.some((f) => /ld-linux|ld-musl/.test(f.imagePath))).toBe(true);
  expect(c.dockerfile).toBe(DOCKERFILE);
  const entries = buildContextEntries(c);
  expect(entries[0]).toMatchObject({ name: 'Dockerfile' });
  expect(entries).toContainEqual({ type: 'dir', name: 'rootfs/tmp', mode: 0o1777 });
  // Every file's parent directory comes before it.
  const names = entries.map((e) => e.name);
  for (const f of c.files) {
    const parent = `rootfs${f.imagePath.slice(0, f.imagePath.lastIndexOf('/'))}`;
    expect(names.indexOf(parent)).toBeGreaterThan(0);
    expect(names.indexOf(parent)).toBeLessThan(names.indexOf(`rootfs${f.imagePath}`));
  }
});
