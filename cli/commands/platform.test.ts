import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, resolveConfig } from '../../platform/config.js';
import { CLI_DEFAULT_PORT, CONFIG_OPTIONS, SERVED_DEFAULTS, userConfigFromArgv, withConfigOptions } from './platform.js';

function parse(args: string[]): Record<string, unknown> {
  return withConfigOptions(yargs(args)).strict().exitProcess(false).fail(false).parseSync() as Record<string, unknown>;
}

describe('platform start options', () => {
  it('has one flag per config key, and no two keys share a flag', () => {
    expect(Object.keys(CONFIG_OPTIONS).sort()).toEqual(Object.keys(DEFAULTS).sort());
    const flags = Object.values(CONFIG_OPTIONS).map((o) => o.flag);
    expect(new Set(flags).size).toBe(flags.length);
  });

  it('passes on only what was given, over the CLI port default; resolveConfig fills the rest', () => {
    expect(userConfigFromArgv(parse([]))).toEqual({ port: CLI_DEFAULT_PORT });
    const user = userConfigFromArgv(
      parse(['--port', '0', '--host', '0.0.0.0', '--data-dir', '/tmp/x', '--token', 'abcdefgh1', '--invocation-auth', '--pool-size', '0',
        '--worker-start', 'deploy', '--max-body-bytes', '2048', '--no-keep-history', '--no-allow-local-code', '--default-memory-mb', '64']),
    );
    expect(user).toEqual({
      port: 0,
      host: '0.0.0.0',
      dataDir: '/tmp/x',
      token: 'abcdefgh1',
      invocationAuth: true,
      poolSize: 0,
      workerStart: 'deploy',
      maxBodyBytes: 2048,
      keepHistory: false,
      allowLocalCode: false,
      defaultMemoryMB: 64,
    });
    expect(resolveConfig(user)).toMatchObject({ ...user, backend: DEFAULTS.backend, maxStoredExecutions: DEFAULTS.maxStoredExecutions });
  });

  it('platform start serves without code folders unless told (--allow-local-code)', () => {
    expect(resolveConfig(userConfigFromArgv(parse([]), SERVED_DEFAULTS)).allowLocalCode).toBe(false);
    expect(resolveConfig(userConfigFromArgv(parse(['--allow-local-code']), SERVED_DEFAULTS)).allowLocalCode).toBe(true);
  });

  it('lets a command set its own defaults (the demo uses port 0)', () => {
    expect(userConfigFromArgv(parse(['--pool-size', '1']), { port: 0 })).toEqual({ port: 0, poolSize: 1 });
  });

  it('refuses a value outside the choices', () => {
    expect(() => parse(['--worker-start', 'sometimes'])).toThrow(/Invalid values/);
  });
});
