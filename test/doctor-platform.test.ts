/**
 * `mfbench doctor --platform openwhisk` through the real CLI (a child process) against the OpenWhisk double: every
 * piece a run needs is checked in order (connect, deploy, call, storage, remove) and nothing is left deployed; a
 * refused key stops at the first step with its typed error.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenWhiskDouble } from './doubles/openwhisk/server.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

interface Step {
  step: string;
  ok: boolean;
  detail: string;
}

async function doctor(args: string[]): Promise<{ platform: { name: string; steps: Step[] } }> {
  const { stdout } = await run(process.execPath, [CLI, 'doctor', '--json', ...args], { maxBuffer: 16 * 1024 * 1024, env: { ...process.env, __OW_API_HOST: '', __OW_API_KEY: '' } });
  return JSON.parse(stdout);
}

describe('mfbench doctor --platform openwhisk against the OpenWhisk double', () => {
  let ow: OpenWhiskDouble;
  beforeAll(async () => {
    ow = await OpenWhiskDouble.start();
  });
  afterAll(async () => {
    await ow?.close();
  });

  it('checks connect, deploy, call, storage and remove, and leaves nothing deployed', async () => {
    const r = await doctor(['--platform', 'openwhisk', '--url', ow.url, '--token', ow.auth]);
    expect(r.platform.name).toBe('openwhisk');
    expect(r.platform.steps.map((s) => [s.step, s.ok])).toEqual([
      ['connect', true],
      ['deploy', true],
      ['call', true],
      ['storage', true],
      ['remove', true],
    ]);
    expect(ow.listing()).toEqual({ packages: [], actions: [] });
  }, 180_000);

  it('a refused key stops at connect with MF_UNAUTHORIZED', async () => {
    const r = await doctor(['--platform', 'openwhisk', '--url', ow.url, '--token', `${ow.auth.split(':')[0]}:wrong`]);
    expect(r.platform.steps).toHaveLength(1);
    expect(r.platform.steps[0]).toMatchObject({ step: 'connect', ok: false, detail: expect.stringMatching(/^MF_UNAUTHORIZED: .*--token/) });
  }, 60_000);
});
