/**
 * Units of the OpenWhisk adapter that need no server: the zip writer (checked with the system's unzip when present,
 * else by reading the archive back by hand), the chain test that picks sequence vs conductor, the options, and the
 * conductor driven through the conductor protocol in-process, against our engine run directly.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadStateMachine, runExecution } from '../../platform/asl/index.js';
import { conduct } from './conductor.js';
import { resolveOpenWhiskOptions } from './config.js';
import { linearChain } from './index.js';
import { STATE_KEY } from './wire.js';
import { zip } from './zip.js';

const hasUnzip = (() => {
  try {
    execFileSync('unzip', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('zip', () => {
  it.skipIf(!hasUnzip)('writes archives unzip accepts, deflated and stored, byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'owzip-'));
    try {
      const big = 'abc'.repeat(10_000);
      const random = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7919) % 251));
      const file = join(dir, 'a.zip');
      writeFileSync(file, await zip([{ path: 'package.json', data: '{"main":"main.js"}' }, { path: 'fn/deep/big.txt', data: big }, { path: 'r.bin', data: random }]));
      execFileSync('unzip', ['-tq', file]);
      execFileSync('unzip', ['-q', file, '-d', join(dir, 'out')]);
      expect(readFileSync(join(dir, 'out', 'fn', 'deep', 'big.txt'), 'utf8')).toBe(big);
      expect(readFileSync(join(dir, 'out', 'r.bin')).equals(random)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses paths that would leave the folder, and duplicates', async () => {
    await expect(zip([{ path: '../x', data: '' }])).rejects.toThrow(/bad entry path/);
    await expect(zip([{ path: '/x', data: '' }])).rejects.toThrow(/bad entry path/);
    await expect(zip([{ path: 'x', data: '' }, { path: 'x', data: '' }])).rejects.toThrow(/duplicate/);
  });
});

describe('linearChain: which workflows become OpenWhisk sequences', () => {
  const fns = new Set(['a', 'b']);
  const chain = { StartAt: 'A', States: { A: { Type: 'Task', Resource: 'a', Next: 'B' }, B: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:b', End: true } } };
  it('a plain chain of Tasks', () => expect(linearChain(chain, fns)).toEqual([{ state: 'A', fn: 'a' }, { state: 'B', fn: 'b' }]));
  const variants: Array<[string, unknown]> = [
    ['a ResultPath', { ...chain, States: { ...chain.States, A: { ...chain.States.A, ResultPath: '$.x' } } }],
    ['a Retry', { ...chain, States: { ...chain.States, A: { ...chain.States.A, Retry: [{ ErrorEquals: ['States.ALL'] }] } } }],
    ['a Pass state', { ...chain, States: { ...chain.States, B: { Type: 'Pass', End: true } } }],
    ['an unreachable state', { ...chain, States: { ...chain.States, C: { Type: 'Task', Resource: 'a', End: true } } }],
    ['a machine TimeoutSeconds', { ...chain, TimeoutSeconds: 5 }],
    ['the lambda:invoke integration', { ...chain, States: { ...chain.States, B: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'b' }, End: true } } }],
  ];
  for (const [what, def] of variants) it(`not with ${what}`, () => expect(linearChain(def, fns)).toBeNull());
});

describe('resolveOpenWhiskOptions', () => {
  it('fills defaults, assumes https, reads __OW_* variables', () => {
    const env = { __OW_API_HOST: 'ow.example.org:443/', __OW_API_KEY: 'u:k', __OW_NAMESPACE: 'team', __OW_IGNORE_CERTS: 'true', MFBENCH_STORAGE_URL: 'http://bench:7070' };
    expect(resolveOpenWhiskOptions({}, env)).toEqual({
      apihost: 'https://ow.example.org:443',
      auth: 'u:k',
      namespace: 'team',
      ignoreCerts: true,
      kind: 'nodejs:20',
      pollIntervalMs: 100,
      pollTimeoutMs: 600_000,
      keepAliveMs: 600_000,
      registry: null,
      registryAuth: null,
      storage: { host: '127.0.0.1', port: 0, url: 'http://bench:7070' },
    });
  });
  it('reads the blackbox image registry and its login from OPENWHISK_REGISTRY*', () => {
    const env = { OPENWHISK_REGISTRY: 'reg.example.org:5000/team/', OPENWHISK_REGISTRY_USER: 'bot', OPENWHISK_REGISTRY_PASSWORD: 'pw' };
    expect(resolveOpenWhiskOptions({ url: 'http://h', token: 'a:b' }, env)).toMatchObject({
      registry: 'reg.example.org:5000/team',
      registryAuth: { username: 'bot', password: 'pw', serveraddress: 'reg.example.org:5000' },
    });
  });
  it('options win over the environment', () => {
    expect(resolveOpenWhiskOptions({ url: 'http://h:1', token: 'a:b', kind: 'nodejs:22' }, { __OW_API_HOST: 'x', __OW_API_KEY: 'c:d' })).toMatchObject({ apihost: 'http://h:1', auth: 'a:b', kind: 'nodejs:22' });
  });
  const bad: Array<[string, object, RegExp]> = [
    ['a path on the host', { url: 'http://h/api/v1', token: 'a:b' }, /without a path/],
    ['an unknown option', { url: 'http://h', token: 'a:b', colour: 1 }, /unknown/],
    ['url and apihost that differ', { url: 'http://h', apihost: 'http://g', token: 'a:b' }, /differ/],
    ['a pool size', { url: 'http://h', token: 'a:b', poolSize: 2 }, /embedded-MicroFunctions/],
    ['a negative poll interval', { url: 'http://h', token: 'a:b', pollIntervalMs: -1 }, /positive/],
    ['a registry that is not host[:port][/path]', { url: 'http://h', token: 'a:b', registry: 'https://reg/x' }, /host\[:port\]\[\/path\]/],
  ];
  for (const [what, o, re] of bad) it(`refuses ${what}`, () => expect(() => resolveOpenWhiskOptions(o, {})).toThrow(re));
});

describe('conduct: our ASL engine behind the conductor protocol', () => {
  const def = {
    StartAt: 'Check',
    States: {
      Check: { Type: 'Choice', Choices: [{ Variable: '$.v', NumericLessThan: 3, Next: 'Inc' }], Default: 'Fan' },
      Inc: { Type: 'Task', Resource: 'inc', Next: 'Check' },
      Fan: { Type: 'Parallel', Branches: [0, 1].map((k) => ({ StartAt: `P${k}`, States: { [`P${k}`]: { Type: 'Task', Resource: 'inc', End: true } } })), Next: 'Each' },
      Each: { Type: 'Map', ItemsPath: '$', ItemProcessor: { StartAt: 'I', States: { I: { Type: 'Task', Resource: 'dbl', Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 1, MaxAttempts: 2 }], End: true } } }, End: true },
    },
  };
  const fns: Record<string, (x: any, attempt: number) => unknown> = {
    inc: (x) => ({ v: x.v + 1 }),
    dbl: (x, attempt) => {
      if (attempt === 1 && x.v === 4) throw Object.assign(new Error('first time'), { name: 'Flaky' });
      return { v: x.v * 2 };
    },
  };

  /** Plays OpenWhisk: runs the continuation's action, re-activates the conductor with its result merged with state. */
  async function drive(input: unknown): Promise<{ result: Record<string, unknown>; components: string[] }> {
    const attempts = new Map<string, number>();
    const components: string[] = [];
    let params: Record<string, unknown> = { __mf_event: input };
    for (let step = 0; step < 100; step++) {
      const out = await conduct(params, { workflow: 'w', definition: def, package: 'p' }, { __OW_NAMESPACE: 'guest', __OW_ACTIVATION_ID: 'x1' });
      if (out.action === undefined) return { result: out, components };
      const name = String(out.action).split('/').pop()!;
      expect(String(out.action)).toBe(`/guest/p/${name}`);
      components.push(name);
      const event = (out.params as Record<string, unknown>).__mf_event;
      const k = `${name}:${JSON.stringify(event)}`;
      attempts.set(k, (attempts.get(k) ?? 0) + 1);
      let result: Record<string, unknown>;
      try {
        result = { __mf_event: fns[name]!(event, attempts.get(k)!) };
      } catch (e) {
        result = { error: { errorType: (e as Error).name, errorMessage: (e as Error).message, trace: [] } };
      }
      params = { ...result, ...(out.state as Record<string, unknown>) };
      expect(Object.keys(out.state as object)).toEqual([STATE_KEY]);
    }
    throw new Error('no end');
  }

  it('gives the same output as the engine run directly, one component at a time (Choice loop, Parallel, Map, Retry)', async () => {
    const direct = await runExecution(loadStateMachine(def, 'w'), { v: 0 }, {
      invoke: async (c) => fns[c.functionName]!(c.input, 2),
      executionId: 'd',
      executionName: 'd',
      startTime: new Date().toISOString(),
    });
    expect(direct).toEqual({ status: 'SUCCEEDED', output: [{ v: 8 }, { v: 8 }] });
    const { result, components } = await drive({ v: 0 });
    expect(result).toEqual({ params: { __mf_event: [{ v: 8 }, { v: 8 }] } });
    // 3 Choice-loop increments, 2 Parallel branches, Map: 2 items, the first retried once (identical calls are told apart by occurrence).
    expect(components).toEqual(['inc', 'inc', 'inc', 'inc', 'inc', 'dbl', 'dbl', 'dbl']);
  });

  it('ends with an error dictionary carrying ASL Error and Cause when the execution fails', async () => {
    const failing = { StartAt: 'F', States: { F: { Type: 'Fail', Error: 'Nope', Cause: 'because' } } };
    expect(await conduct({ __mf_event: {} }, { workflow: 'f', definition: failing, package: 'p' }, {})).toEqual({ error: { aslError: 'Nope', aslCause: 'because' } });
  });
});
