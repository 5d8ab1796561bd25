import { afterEach, describe, expect, test } from 'vitest';
import { sandboxEnv } from './sandbox-env.js';

describe('sandboxEnv', () => {
  const secret = 'MFBENCH_TEST_SECRET_TOKEN';
  afterEach(() => {
    delete process.env[secret];
  });

  test('is an allowlist: nothing of the platform environment reaches a sandbox but locale and time zone', () => {
    process.env[secret] = 'do-not-leak';
    process.env.TZ = process.env.TZ ?? 'UTC';
    const env = sandboxEnv('bwrap', '/opt/node/bin');
    expect(Object.keys(env).sort()).toEqual(['HOME', 'MFBENCH_SANDBOX_BACKEND', 'PATH', ...(process.env.LANG ? ['LANG'] : []), ...(process.env.LC_ALL ? ['LC_ALL'] : []), 'TZ'].sort());
    expect(Object.values(env).join(' ')).not.toContain('do-not-leak');
    expect(env.MFBENCH_SANDBOX_BACKEND).toBe('bwrap');
    expect(env.PATH!.split(':')[0]).toBe('/opt/node/bin');
    expect(env.HOME).toBe('/tmp');
  });
});
