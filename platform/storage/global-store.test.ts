import { appendFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { AppStore } from './global-store.js';

test('a torn last journal line (a crash mid-write) is ignored, earlier writes survive', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mfgs-'));
  const a = await AppStore.open(dir);
  await a.apply({ op: 'put', key: 'k', value: { json: 1 }, mode: 'global' });
  await a.apply({ op: 'increment', key: 'n', by: 5 });
  await a.close();
  await appendFile(join(dir, 'journal.jsonl'), '{"k":"half","v":{"js');
  const b = await AppStore.open(dir);
  expect(await b.apply({ op: 'get', key: 'k', tier: 'global' })).toEqual({ json: 1 });
  expect(await b.apply({ op: 'increment', key: 'n', by: 1 })).toBe(6);
  expect(await b.apply({ op: 'get', key: 'half', tier: 'global' })).toBeNull();
  await b.close();
});

test('a journal much larger than the live data is compacted on open', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mfgs-'));
  const a = await AppStore.open(dir);
  for (let i = 0; i < 2000; i++) await a.apply({ op: 'increment', key: 'c', by: 1 });
  await a.close();
  const before = (await readFile(join(dir, 'journal.jsonl'), 'utf8')).split('\n').filter(Boolean).length;
  expect(before).toBe(2000);
  const b = await AppStore.open(dir);
  expect(await b.apply({ op: 'get', key: 'c', tier: 'global' })).toEqual({ json: 2000 });
  await b.close();
  const after = (await readFile(join(dir, 'journal.jsonl'), 'utf8')).split('\n').filter(Boolean).length;
  expect(after).toBe(1);
});
