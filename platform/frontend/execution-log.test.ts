/**
 * The finished-execution log on real files: records read back byte for byte, batches in append order, tombstones,
 * a torn tail ignored at the next start (which appends to a new segment), and dead segments deleted oldest first.
 */
import { appendFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ExecutionLog } from './execution-log.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mf-exlog-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const segments = async () => (await readdir(dir)).sort();

describe('ExecutionLog', () => {
  test('reads back both texts of a record, multi-byte text included, and a restart finds them again', async () => {
    const log = new ExecutionLog(dir);
    expect((await log.scan()).size).toBe(0);
    const a = log.append('a', '{"output":"é ✓ 𝄞"}', '[{"type":"ExecutionSucceeded"}]', 'sb-7');
    const b = log.append('b', '{"output":2}', '[]');
    await Promise.all([a.written, b.written]);
    expect(await log.read(a.location, 'view')).toBe('{"output":"é ✓ 𝄞"}');
    expect(await log.read(a.location, 'history')).toBe('[{"type":"ExecutionSucceeded"}]');
    expect(await log.read(b.location, 'view')).toBe('{"output":2}');
    await log.close();
    expect(await segments()).toEqual(['00000000.log']); // one batch, one file

    const again = new ExecutionLog(dir);
    const found = await again.scan();
    expect([...found.keys()]).toEqual(['a', 'b']);
    expect(await again.read(found.get('a')!, 'view')).toBe('{"output":"é ✓ 𝄞"}');
    expect([found.get('a')!.historyIn, found.get('b')!.historyIn]).toEqual(['sb-7', null]); // where the engine's history stayed
    await again.close();
  });

  test('a forgotten record stays forgotten after a restart', async () => {
    const log = new ExecutionLog(dir);
    await log.scan();
    const a = log.append('a', '{}', '[]');
    const b = log.append('b', '{}', '[]');
    await b.written;
    log.forget('a', a.location);
    await log.close();
    const again = new ExecutionLog(dir);
    expect([...(await again.scan()).keys()]).toEqual(['b']);
    await again.close();
  });

  test('a torn tail is ignored, and the next start appends to a new segment, never after it', async () => {
    const log = new ExecutionLog(dir);
    await log.scan();
    await log.append('whole', '{"x":1}', '[]').written;
    await log.close();
    await appendFile(join(dir, '00000000.log'), '+ torn 100 2\n{"x":'); // killed mid-write

    const second = new ExecutionLog(dir);
    expect([...(await second.scan()).keys()]).toEqual(['whole']);
    const c = second.append('c', '{"x":3}', '[]');
    await c.written;
    await second.close();
    expect(c.location.segment).toBe(1);
    expect(await segments()).toEqual(['00000000.log', '00000001.log']);

    const third = new ExecutionLog(dir);
    const found = await third.scan();
    expect([...found.keys()]).toEqual(['whole', 'c']);
    expect(await third.read(found.get('c')!, 'view')).toBe('{"x":3}');
    await third.close();
  });

  test('full segments roll; a segment whose records are all forgotten is deleted once every older one is', async () => {
    const log = new ExecutionLog(dir, 30); // a record of 19 bytes: two records per segment
    await log.scan();
    const records = Array.from({ length: 8 }, (_, i) => ({ id: `r${i}`, ...log.append(`r${i}`, `{"i":${i}}`, '[]') }));
    await Promise.all(records.map((r) => r.written));
    const used = [...new Set(records.map((r) => r.location.segment))];
    expect(used.length).toBeGreaterThanOrEqual(3);
    const inSecond = records.filter((r) => r.location.segment === used[1]);
    for (const r of inSecond) log.forget(r.id, r.location);
    await log.close();
    // The second segment is dead, but the first is not: it stays (a tombstone never outlives the record it kills).
    expect((await segments()).map((f) => Number(f.slice(0, 8)))).toEqual(expect.arrayContaining([used[0], used[1]]));
    const restarted = new ExecutionLog(dir, 30);
    const left = await restarted.scan();
    expect([...left.keys()]).toEqual(records.filter((r) => !inSecond.includes(r)).map((r) => r.id));
    for (const r of records.filter((x) => x.location.segment === used[0])) restarted.forget(r.id, left.get(r.id)!);
    await restarted.close();
    const files = (await segments()).map((f) => Number(f.slice(0, 8)));
    expect(files).not.toContain(used[0]);
    expect(files).not.toContain(used[1]); // dead, and now a prefix: deleted
    const last = new ExecutionLog(dir, 30);
    expect([...(await last.scan()).keys()]).toEqual(records.filter((r) => r.location.segment !== used[0] && r.location.segment !== used[1]).map((r) => r.id));
    await last.close();
  });

  test('every record that finished in one event-loop turn goes out in one write, in append order', async () => {
    const log = new ExecutionLog(dir);
    await log.scan();
    const all = Array.from({ length: 50 }, (_, i) => log.append(`e${i}`, JSON.stringify({ i }), '[]'));
    await Promise.all(all.map((r) => r.written));
    await log.close();
    const text = await readFile(join(dir, '00000000.log'), 'latin1');
    const ids = [...text.matchAll(/^\+ (\S+) /gm)].map((m) => m[1]);
    expect(ids).toEqual(all.map((_, i) => `e${i}`));
  });
});
