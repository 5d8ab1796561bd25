/**
 * One temporary folder for the whole test run, deleted at the end: every test, the platforms and doubles they start
 * and their child processes inherit TMPDIR, so os.tmpdir() puts their data, sockets and unpacked actions here, and a
 * run leaves nothing behind in the machine's /tmp (tests that fail half-way included).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default async function setup(): Promise<() => Promise<void>> {
  // Short on purpose: Unix socket paths under it must stay within 107 bytes.
  const dir = await mkdtemp(join(tmpdir(), 'mfbt-'));
  process.env.TMPDIR = dir;
  return async () => {
    await rm(dir, { recursive: true, force: true });
  };
}
