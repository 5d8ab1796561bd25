import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { AppUsers } from './app-users.js';

describe('AppUsers', () => {
  const closed = mkdtempSync(join(tmpdir(), 'mfusers-')); // mkdtemp makes it 0700: others cannot pass
  afterAll(() => rmSync(closed, { recursive: true, force: true }));

  test('a root platform whose data folder others can reach gives each app a user of its own, kept until released', () => {
    const users = new AppUsers('/tmp/mfbench-users-test', true);
    expect(users.enabled).toBe(true);
    expect(users.warning).toBeNull();
    const a = users.forApp('a')!;
    const b = users.forApp('b')!;
    expect(a.uid).toBeGreaterThanOrEqual(0x1000_0000);
    expect(a.uid).not.toBe(b.uid);
    expect(users.forApp('a')).toEqual(a);
    users.release('a');
    expect(users.forApp('a')).toBeDefined();
  });

  test('a folder above the data folder that others cannot pass: no app users, and one line that names it', () => {
    const users = new AppUsers(join(closed, 'data'), true);
    expect(users.enabled).toBe(false);
    expect(users.forApp('a')).toBeUndefined();
    expect(users.warning).toContain(closed);
  });

  test('a platform that is not root cannot switch users, and says nothing', () => {
    const users = new AppUsers('/tmp/mfbench-users-test', false);
    expect(users.enabled).toBe(false);
    expect(users.warning).toBeNull();
    expect(users.forApp('a')).toBeUndefined();
  });
});
