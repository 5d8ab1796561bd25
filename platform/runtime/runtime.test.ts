import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isMfError, type MfError } from '../errors.js';
import type { FunctionSpec } from '../manifest.js';
import {
  abortInvocation,
  failAllInFlight,
  inFlightCount,
  invokeHandler,
  loadFunction,
  MAX_LOG_LINES,
  unhandledRejectionError,
  type HandlerOutcome,
  type LoadedFunction,
} from './index.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

function spec(dir: string, handler: string, extra: Partial<FunctionSpec> = {}): FunctionSpec {
  return { app: 'testapp', name: 'fn', handler, codeDir: `${fixtures}${dir}`, memoryMB: 256, timeoutMs: 30_000, env: {}, ...extra };
}

let seq = 0;
async function invoke(fn: LoadedFunction, event: unknown = {}, deadlineIn = 30_000): Promise<HandlerOutcome> {
  seq++;
  return invokeHandler(fn, event, { invocationId: `inv-${seq}`, executionId: null, deadline: Date.now() + deadlineIn });
}

async function run(handler: string, event: unknown = {}, dir = 'esm'): Promise<HandlerOutcome['outcome']> {
  const fn = await loadFunction(spec(dir, handler));
  return (await invoke(fn, event)).outcome;
}

async function loadError(s: FunctionSpec): Promise<MfError> {
  try {
    await loadFunction(s);
  } catch (err) {
    if (isMfError(err)) return err;
    throw err;
  }
  throw new Error('loadFunction did not fail');
}

describe('loadFunction: module kinds and handler names', () => {
  it('loads an ESM .mjs handler and reports its init time', async () => {
    const fn = await loadFunction(spec('esm', 'index.echo'));
    expect(fn.initMs).toBeGreaterThanOrEqual(0);
    expect(fn.file).toBe(`${fixtures}esm/index.mjs`);
    const r = await invoke(fn, { a: 1 });
    expect(r.outcome).toEqual({ ok: true, value: { echo: { a: 1 } } });
    expect(r.handlerEnd).toBeGreaterThanOrEqual(r.handlerStart);
  });

  it('loads a CommonJS .cjs handler, including exports Node cannot detect statically', async () => {
    expect(await run('index.handler', { b: 2 }, 'cjs')).toEqual({ ok: true, value: { kind: 'cjs', fn: 'fn', event: { b: 2 } } });
    expect(await run('index.hidden', {}, 'cjs')).toEqual({ ok: true, value: 'hidden-export' });
    expect(await run('index.nested.handler', {}, 'cjs')).toEqual({ ok: true, value: 'cjs-nested' });
  });

  it('loads .js as ESM or CommonJS following the nearest package.json "type"', async () => {
    expect(await run('index.handler', {}, 'js-module')).toEqual({ ok: true, value: { kind: 'esm' } });
    expect(await run('index.handler', {}, 'js-commonjs')).toEqual({ ok: true, value: { kind: 'cjs' } });
  });

  it('tries .mjs, then .js, then .cjs', async () => {
    expect(await run('index.handler', {}, 'order')).toEqual({ ok: true, value: 'mjs' });
    expect(await run('other.handler', {}, 'order')).toEqual({ ok: true, value: 'js-before-cjs' });
  });

  it('resolves a handler in a sub-folder and a nested export path', async () => {
    expect(await run('lib/sub.handler', { c: 3 })).toEqual({ ok: true, value: { from: 'lib/sub', event: { c: 3 } } });
    expect(await run('index.nested.deeper.handler')).toEqual({ ok: true, value: 'nested-export' });
  });
});

describe('loadFunction: errors', () => {
  it.each([
    ['missing file', spec('esm', 'nope.handler'), 'Runtime.ImportModuleError', /nope\.mjs, nope\.js, nope\.cjs/],
    ['missing export', spec('esm', 'index.doesNotExist'), 'Runtime.HandlerNotFound', /"doesNotExist" .* is undefined or not exported/],
    ['export not a function', spec('esm', 'index.notAFunction'), 'Runtime.HandlerNotFound', /is not a function \(it is number\)/],
    ['missing nested export', spec('esm', 'index.nested.nothing.handler'), 'Runtime.HandlerNotFound', /nested\.nothing\.handler/],
    ['no export in the handler string', spec('esm', 'index'), 'Runtime.MalformedHandlerName', /malformed/],
    ['empty export segment', spec('esm', 'index.a..b'), 'Runtime.MalformedHandlerName', /malformed/],
    ['path climbing out', spec('esm', '../cjs/index.handler'), 'Runtime.MalformedHandlerName', /inside the function's code folder/],
  ])('%s -> MF_HANDLER_NOT_FOUND', async (_name, s, errorType, message) => {
    const err = await loadError(s);
    expect(err.code).toBe('MF_HANDLER_NOT_FOUND');
    expect(err.message).toMatch(message);
    expect(err.details).toMatchObject({ errorType, function: 'fn', handler: s.handler });
  });

  it('names the file and the export it looked for', async () => {
    const missingFile = await loadError(spec('esm', 'nope.handler'));
    expect(missingFile.details.tried).toEqual([`${fixtures}esm/nope.mjs`, `${fixtures}esm/nope.js`, `${fixtures}esm/nope.cjs`]);
    const missingExport = await loadError(spec('esm', 'index.doesNotExist'));
    expect(missingExport.details).toMatchObject({ file: `${fixtures}esm/index.mjs`, export: 'doesNotExist' });
  });

  it('a module that throws at top level -> MF_FUNCTION_INIT_FAILED with the error type and message', async () => {
    const err = await loadError(spec('init-throws', 'index.handler'));
    expect(err.code).toBe('MF_FUNCTION_INIT_FAILED');
    expect(err.details).toMatchObject({ errorType: 'InitError', errorMessage: 'cannot connect to the database' });
    expect(err.message).toContain('InitError: cannot connect to the database');
  });

  it('a module that does not parse -> MF_FUNCTION_INIT_FAILED, Runtime.UserCodeSyntaxError', async () => {
    const err = await loadError(spec('syntax-error', 'index.handler'));
    expect(err.code).toBe('MF_FUNCTION_INIT_FAILED');
    expect(err.details.errorType).toBe('Runtime.UserCodeSyntaxError');
  });

  it('a module whose import is missing -> MF_FUNCTION_INIT_FAILED, Runtime.ImportModuleError', async () => {
    const err = await loadError(spec('missing-dep', 'index.handler'));
    expect(err.code).toBe('MF_FUNCTION_INIT_FAILED');
    expect(err.details.errorType).toBe('Runtime.ImportModuleError');
    expect(err.details.errorMessage).toContain('mfbench-fixture-package-that-does-not-exist');
  });
});

describe('environment and context', () => {
  it('sets the Lambda environment variables; spec.env is added but cannot override reserved names', async () => {
    const names = [
      'AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_LAMBDA_FUNCTION_VERSION', 'AWS_LAMBDA_LOG_GROUP_NAME',
      'AWS_LAMBDA_LOG_STREAM_NAME', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_EXECUTION_ENV', 'LAMBDA_TASK_ROOT',
      'LAMBDA_RUNTIME_DIR', '_HANDLER', 'MY_SETTING', 'MF_APP_NAME',
    ];
    const s = spec('esm', 'index.env', { name: 'env-fn', memoryMB: 512, env: { MY_SETTING: 'on', AWS_LAMBDA_FUNCTION_NAME: 'hijack' } });
    const fn = await loadFunction(s);
    const r = await invoke(fn, { names });
    expect(r.outcome.ok).toBe(true);
    const env = (r.outcome as { value: Record<string, string> }).value;
    expect(env).toMatchObject({
      AWS_LAMBDA_FUNCTION_NAME: 'env-fn',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/env-fn',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
      LAMBDA_TASK_ROOT: `${fixtures}esm`,
      _HANDLER: 'index.env',
      MY_SETTING: 'on',
      MF_APP_NAME: 'testapp',
    });
    expect(env.AWS_LAMBDA_LOG_STREAM_NAME).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(env.LAMBDA_RUNTIME_DIR).toMatch(/platform[/\\]runtime$/);
  });

  it('lets spec.env choose the region, which the ARN then carries', async () => {
    const fn = await loadFunction(spec('esm', 'index.contextFields', { name: 'regional', env: { AWS_REGION: 'eu-west-1' } }));
    const r = await invoke(fn);
    expect(r.outcome).toMatchObject({ ok: true, value: { invokedFunctionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:regional' } });
    expect(process.env.AWS_DEFAULT_REGION).toBe('eu-west-1');
  });

  it('gives the handler a Lambda context plus executionId and log', async () => {
    const fn = await loadFunction(spec('esm', 'index.contextFields', { name: 'ctx-fn', memoryMB: 128 }));
    const r = await invokeHandler(fn, {}, { invocationId: 'req-123', executionId: 'exec-9', deadline: Date.now() + 5000 });
    expect(r.outcome.ok).toBe(true);
    const v = (r.outcome as { value: Record<string, unknown> }).value;
    expect(v).toMatchObject({
      functionName: 'ctx-fn',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ctx-fn',
      memoryLimitInMB: '128',
      awsRequestId: 'req-123',
      logGroupName: '/aws/lambda/ctx-fn',
      callbackWaitsForEmptyEventLoop: true,
      identity: true,
      clientContext: true,
      executionId: 'exec-9',
      hasLogMethods: true,
    });
    expect(v.logStreamName).toBe(fn.constants.logStreamName);
    expect(v.remaining).toBeGreaterThan(4000);
    expect(v.remaining).toBeLessThanOrEqual(5000);
  });

  it('getRemainingTimeInMillis decreases as time passes, and is never negative', async () => {
    const fn = await loadFunction(spec('esm', 'index.remaining'));
    const r = await invoke(fn, {}, 10_000);
    const { first, second } = (r.outcome as { value: { first: number; second: number } }).value;
    expect(first).toBeLessThanOrEqual(10_000);
    expect(first - second).toBeGreaterThanOrEqual(50);
    const past = await invoke(fn, {}, -1000);
    expect(past.outcome).toEqual({ ok: true, value: { first: 0, second: 0 } });
  });
});

describe('handler styles', () => {
  it.each([
    ['callback(null, value)', 'index.callbackStyle', { x: 7 }, { viaCallback: 7 }],
    ['arity-3 handler: the callback wins over a returned value', 'index.callbackReturnsValue', {}, 'from-callback'],
    ['context.succeed later, from a 2-arity handler returning nothing', 'index.succeedLater', { x: 'y' }, { succeeded: 'y' }],
    ['context.done(null, value)', 'index.doneOk', {}, 'done-ok'],
    ['context.succeed passed around unbound', 'index.unboundSucceed', {}, 'unbound'],
    ['sync handler returning a value', 'index.syncValue', { x: 1 }, { sync: 1 }],
    ['async handler returning undefined gives null', 'index.returnsUndefined', {}, null],
    ['first completion wins', 'index.firstWins', {}, 'first'],
    ['callback inside an async handler before its promise', 'index.asyncThenCallback', {}, 'callback-first'],
  ])('%s', async (_name, handler, event, value) => {
    expect(await run(handler, event)).toEqual({ ok: true, value });
  });

  it.each([
    ['thrown Error subclass with a custom name', 'index.throwsCustom', 'ValidationError', 'bad input'],
    ['thrown subclass without its own name keeps "Error", as Lambda does', 'index.throwsUnnamedSubclass', 'Error', 'no name set'],
    ['synchronous throw', 'index.throwsSync', 'RangeError', 'sync throw'],
    ['thrown string', 'index.throwsString', 'string', 'just a string'],
    ['thrown plain object', 'index.throwsObject', 'object', '{"code":42}'],
    ['callback(err)', 'index.callbackError', 'TypeError', 'callback failed'],
    ['context.fail(err)', 'index.failLater', 'Error', 'context failed'],
    ['context.fail(string)', 'index.failString', 'string', 'failed as string'],
    ['context.fail() with nothing', 'index.failNothing', 'string', 'handled'],
    ['context.done(err, value)', 'index.doneError', 'SyntaxError', 'done with error'],
  ])('%s -> Lambda error shape', async (_name, handler, errorType, errorMessage) => {
    const outcome = await run(handler);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.errorType).toBe(errorType);
    expect(outcome.error.errorMessage).toBe(errorMessage);
    expect(Array.isArray(outcome.error.trace)).toBe(true);
    if (errorType !== 'string' && errorType !== 'object') {
      expect(outcome.error.trace[0]).toBe(`${errorType}: ${errorMessage}`);
      expect(outcome.error.trace.length).toBeGreaterThan(1);
    } else {
      expect(outcome.error.trace).toEqual([]);
    }
  });

  it.each([
    ['BigInt', 'index.bigint', /BigInt/],
    ['circular structure', 'index.circular', /circular/],
  ])('a %s result fails with Runtime.ResultSerializationError', async (_name, handler, message) => {
    const outcome = await run(handler);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.errorType).toBe('Runtime.ResultSerializationError');
    expect(outcome.error.errorMessage).toMatch(/^Unable to stringify response body: /);
    expect(outcome.error.errorMessage).toMatch(message);
  });

  it('skips the serialisation check when asked (the worker serialises once, when sending)', async () => {
    const fn = await loadFunction(spec('esm', 'index.bigint'));
    const r = await invokeHandler(fn, {}, { invocationId: 'x', executionId: null, deadline: Date.now() + 1000 }, { checkSerializable: false });
    expect(r.outcome).toEqual({ ok: true, value: { n: 10n } });
  });
});

describe('cancellation', () => {
  const start = (fn: LoadedFunction, id: string, event: unknown) => invokeHandler(fn, event, { invocationId: id, executionId: null, deadline: Date.now() + 30_000 });

  it('abortInvocation aborts context.signal with an AbortError carrying the reason', async () => {
    const fn = await loadFunction(spec('esm', 'index.abortable'));
    const running = start(fn, 'cancel-1', { ms: 10_000 });
    await new Promise((r) => setTimeout(r, 20));
    expect(abortInvocation('cancel-1', 'the state timed out')).toBe(true);
    const { outcome } = await running;
    expect(outcome).toMatchObject({ ok: false, error: { errorType: 'AbortError', errorMessage: 'the state timed out' } });
    expect(abortInvocation('cancel-1', 'again')).toBe(false); // finished: nothing to abort
  });

  it('an abort that comes before the function reads context.signal is not lost', async () => {
    const fn = await loadFunction(spec('esm', 'index.abortable'));
    const running = start(fn, 'cancel-2', { ms: 10_000, lookAfterMs: 100 });
    expect(abortInvocation('cancel-2', 'stopped early')).toBe(true);
    expect((await running).outcome).toMatchObject({ ok: false, error: { errorType: 'AbortError', errorMessage: 'stopped early' } });
  });
});

describe('process-wide faults', () => {
  it('failAllInFlight fails every running invocation with the given error', async () => {
    const fn = await loadFunction(spec('esm', 'index.slow'));
    const a = invoke(fn, { ms: 5_000 });
    const b = invoke(fn, { ms: 5_000 });
    expect(inFlightCount()).toBe(2);
    const error = { errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: 'Error: x', trace: [] };
    expect(failAllInFlight(error)).toBe(2);
    expect((await a).outcome).toEqual({ ok: false, error });
    expect((await b).outcome).toEqual({ ok: false, error });
    expect(inFlightCount()).toBe(0);
  });

  it.each([
    ['an Error', new TypeError('bad'), 'TypeError: bad'],
    ['a string', 'plain reason', 'plain reason'],
    ['undefined', undefined, 'undefined'],
  ])('unhandledRejectionError with %s as the reason', (_name, reason, errorMessage) => {
    const e = unhandledRejectionError(reason);
    expect(e.errorType).toBe('Runtime.UnhandledPromiseRejection');
    expect(e.errorMessage).toBe(errorMessage);
    expect(e.trace[0]).toBe(`Runtime.UnhandledPromiseRejection: ${errorMessage}`);
  });
});

describe('logs', () => {
  it('captures console.* and context.log lines per invocation, with levels, for concurrent invocations', async () => {
    const fn = await loadFunction(spec('esm', 'index.logs'));
    const [a, b] = await Promise.all([invoke(fn, { tag: 'A', wait: 15 }), invoke(fn, { tag: 'B', wait: 5 })]);
    for (const [r, tag] of [[a, 'A'], [b, 'B']] as const) {
      expect(r.outcome).toEqual({ ok: true, value: tag });
      expect(r.logs.map((l) => [l.level, l.message])).toEqual([
        ['info', `start ${tag}`],
        ['info', `info ${tag}`],
        ['warn', `warn ${tag}`],
        ['error', `error ${tag}`],
        ['debug', `debug ${tag}`],
        ['info', `ctx ${tag}`],
        ['warn', `ctx-warn ${tag}`],
      ]);
      for (const l of r.logs) {
        expect(l.t).toBeGreaterThanOrEqual(r.handlerStart);
        expect(l.t).toBeLessThanOrEqual(r.handlerEnd);
      }
    }
  });

  it('lines written after the invocation finished do not change its returned logs', async () => {
    const fn = await loadFunction(spec('esm', 'index.logsAfterReturn'));
    const r = await invoke(fn);
    expect(r.logs.map((l) => l.message)).toEqual(['during']);
    await new Promise((res) => setTimeout(res, 60));
    expect(r.logs.map((l) => l.message)).toEqual(['during']);
  });

  it('keeps at most MAX_LOG_LINES lines, then one truncation marker', async () => {
    const fn = await loadFunction(spec('esm', 'index.manyLogs'));
    const r = await invoke(fn, { lines: MAX_LOG_LINES + 500 });
    expect(r.logs).toHaveLength(MAX_LOG_LINES + 1);
    expect(r.logs[MAX_LOG_LINES - 1]?.message).toBe(`line ${MAX_LOG_LINES - 1} `);
    expect(r.logs[MAX_LOG_LINES]).toMatchObject({ level: 'warn' });
    expect(r.logs[MAX_LOG_LINES]?.message).toMatch(/truncated: 500 more line\(s\) dropped/);
  });

  it('keeps at most 256 KiB of log text per invocation', async () => {
    const fn = await loadFunction(spec('esm', 'index.manyLogs'));
    const r = await invoke(fn, { lines: 100, width: 10_000 });
    const bytes = r.logs.reduce((n, l) => n + Buffer.byteLength(l.message), 0);
    expect(bytes).toBeLessThanOrEqual(256 * 1024 + 1024);
    expect(r.logs.length).toBeLessThan(100);
    expect(r.logs.at(-1)?.message).toMatch(/truncated/);
  });
});
