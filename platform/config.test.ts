import { describe, expect, test } from 'vitest';
import { DEFAULTS, isLoopbackHost, resolveConfig, type UserConfig } from './config.js';
import { MfError } from './errors.js';

describe('resolveConfig', () => {
  test('no user config gives the defaults, frozen', () => {
    const c = resolveConfig();
    expect(c).toEqual(DEFAULTS);
    expect(Object.isFrozen(c)).toBe(true);
  });

  test('broker: none by default (embedded journals); one nats:// URL or a comma-separated cluster', () => {
    expect(resolveConfig().broker).toBeNull();
    expect(resolveConfig({ broker: 'nats://127.0.0.1:4222' }).broker).toBe('nats://127.0.0.1:4222');
    expect(resolveConfig({ broker: 'nats://a:4222, nats://b:4222' }).broker).toBe('nats://a:4222, nats://b:4222');
    expect(resolveConfig().brokerReplicas).toBe(1);
    expect(resolveConfig({ broker: 'nats://a:4222,nats://b:4222,nats://c:4222', brokerReplicas: 3 }).brokerReplicas).toBe(3);
  });

  test('user values win; undefined values do not erase defaults', () => {
    const c = resolveConfig({ port: 8080, poolSize: 0, token: undefined });
    expect(c.port).toBe(8080);
    expect(c.poolSize).toBe(0);
    expect(c.token).toBeNull();
  });

  test.each<[string, UserConfig]>([
    ['broker', { broker: 'http://127.0.0.1:4222' }],
    ['broker', { broker: 'nats://127.0.0.1:4222,' }],
    ['broker', { broker: 42 as never }],
    ['brokerReplicas', { broker: 'nats://127.0.0.1:4222', brokerReplicas: 6 }],
    ['brokerReplicas', { broker: 'nats://127.0.0.1:4222', brokerReplicas: 1.5 }],
    ['brokerReplicas', { brokerReplicas: 3 }],
    ['hosts', { hosts: 'remote' }],
    ['hosts', { broker: 'nats://127.0.0.1:4222', hosts: 'elsewhere' as never }],
    ['port', { port: 70000 }],
    ['port', { port: 1.5 }],
    ['poolSize', { poolSize: -1 }],
    ['backend', { backend: 'vm' as never }],
    ['workerStart', { workerStart: 'later' as never }],
    ['token', { token: 'short' }],
    ['maxBodyBytes', { maxBodyBytes: 10 }],
    ['defaultTimeoutSeconds', { defaultTimeoutSeconds: 0 }],
    ['defaultMemoryMB', { defaultMemoryMB: 8 }],
    ['maxJsonDepth', { maxJsonDepth: 0 }],
    ['requestTimeoutSeconds', { requestTimeoutSeconds: 0 }],
    ['maxResultBytes', { maxResultBytes: 10 }],
    ['maxStoredExecutionBytes', { maxStoredExecutionBytes: -1 }],
    ['maxTransitions', { maxTransitions: 0 }],
    ['maxExecutionSeconds', { maxExecutionSeconds: -5 }],
  ])('a bad %s is MF_CONFIG_INVALID naming the option', (option, user) => {
    try {
      resolveConfig(user);
      expect.unreachable('resolveConfig accepted a bad value');
    } catch (err) {
      expect(err).toBeInstanceOf(MfError);
      expect((err as MfError).code).toBe('MF_CONFIG_INVALID');
      expect((err as MfError).details.option).toBe(option);
    }
  });

  test('the bounds default to AWS-like values (docs/limits.md)', () => {
    expect(resolveConfig()).toMatchObject({ maxResultBytes: 6 * 1024 * 1024, maxTransitions: 25_000, maxJsonDepth: 128, requestTimeoutSeconds: 30 });
  });

  test.each([
    ['127.0.0.1', false],
    ['127.8.9.10', false],
    ['localhost', false],
    ['::1', false],
    ['[::1]', false],
    ['0.0.0.0', true],
    ['::', true],
  ])('listening on %s, invocation needs the token: %s (unless set)', (host, auth) => {
    expect(isLoopbackHost(host)).toBe(!auth);
    expect(resolveConfig({ host }).invocationAuth).toBe(auth);
    expect(resolveConfig({ host, invocationAuth: false }).invocationAuth).toBe(false);
    expect(resolveConfig({ host, invocationAuth: true }).invocationAuth).toBe(true);
  });

  test('an unknown option is rejected, not ignored', () => {
    expect(() => resolveConfig({ colour: 'blue' } as UserConfig)).toThrow(/unknown config option "colour"/);
  });
});
