/**
 * The bwrap backend on its own (test/hostile-app.test.ts checks what it isolates): the default of a served
 * platform where bwrap works, and a sandbox that cannot start says why in bwrap's own words.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { BwrapBackend, bwrapUsable } from '../dist/platform/sandbox/bwrap-backend.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const bwrap = bwrapUsable();

describe.runIf(bwrap.ok || process.env.CI === 'true')('bwrap backend', () => {
  test('platform start without --backend takes bwrap, and says so', async () => {
    expect(bwrap, 'CI installs bubblewrap (.ci/run)').toMatchObject({ ok: true });
    const dataDir = await mkdtemp(join(tmpdir(), 'mf-bwrap-'));
    const child = spawn(process.execPath, [CLI, 'platform', 'start', '--port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!/backend \w+/.test(stderr) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      expect(stderr).toMatch(/backend bwrap;/);
      expect(stderr).not.toMatch(/no isolating sandbox backend/);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('a sandbox bwrap cannot make fails with bwrap\'s own words, and nothing is left', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mf-bwrap-'));
    const dir = join(root, 'sb');
    await mkdir(dir);
    const backend = new BwrapBackend();
    try {
      const sandbox = await backend.create({ sandboxId: 'b1', app: 'a', dir, socketPath: join(dir, 'bus.sock'), readPaths: [join(root, 'no-such-code')] });
      const exit = await sandbox.exited;
      expect(exit.code).not.toBe(0);
      expect(exit.logTail?.join('\n')).toMatch(/no-such-code/);
    } finally {
      await backend.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
