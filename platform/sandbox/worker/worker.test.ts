/**
 * The worker as a real child process: forks the compiled dist/platform/sandbox/worker/main.js (run `npm run build`
 * first) and talks to it as the sandbox agent does: control messages over the IPC channel, invocations and results
 * as frames on the local bus's pipe (platform/bus/frames.ts).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FrameChannel } from '../../bus/frames.js';
import type { FunctionSpec } from '../../manifest.js';
import { LOCAL_BUS_FD, type AgentToWorker, type AgentToWorkerFrame, type LambdaError, type WorkerToAgent as ControlMessage, type WorkerToAgentFrame } from '../../protocol.js';

/** A result frame decoded for the assertions: the payload parsed back into an outcome. */
interface DecodedResult {
  t: 'result';
  id: string;
  handlerStart: number;
  handlerEnd: number;
  logs: WorkerToAgentFrame['logs'];
  outcome: { ok: true; value: unknown } | { ok: false; error: LambdaError };
  /** The payload's byte count as framed (0 for a failure). */
  bytes: number;
}
type WorkerToAgent = ControlMessage | DecodedResult;
/** What the tests send: the agent's control messages, or an invocation with its event (framed by send()). */
type TestMessage = AgentToWorker | (Extract<AgentToWorkerFrame, { t: 'invoke' }> & { event: unknown }) | Extract<AgentToWorkerFrame, { t: 'cancel' }>;

const workerMain = fileURLToPath(new URL('../../../dist/platform/sandbox/worker/main.js', import.meta.url));
const fixtures = fileURLToPath(new URL('../../runtime/fixtures/', import.meta.url));

type ResultMsg = DecodedResult;

function spec(dir: string, handler: string, extra: Partial<FunctionSpec> = {}): FunctionSpec {
  return { app: 'wapp', name: 'wfn', handler, codeDir: `${fixtures}${dir}`, memoryMB: 128, timeoutMs: 30_000, env: {}, ...extra };
}

/** A forked worker with a message log and a way to wait for the next matching message. */
class Worker {
  readonly messages: WorkerToAgent[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: Array<{ match: (m: WorkerToAgent) => boolean; resolve: (m: WorkerToAgent) => void }> = [];
  private seen = 0;
  private readonly bus: FrameChannel<WorkerToAgentFrame, AgentToWorkerFrame>;

  constructor(readonly child: ChildProcess) {
    child.stderr?.setEncoding('utf8').on('data', (d: string) => this.stderr.push(d));
    child.on('message', (m: ControlMessage) => this.receive(m));
    this.bus = new FrameChannel(child.stdio[LOCAL_BUS_FD] as Duplex, ({ header, payload }) => {
      const { error, ...rest } = header;
      const outcome = error !== undefined ? { ok: false as const, error } : { ok: true as const, value: JSON.parse(payload?.toString('utf8') ?? 'null') as unknown };
      this.receive({ ...rest, outcome, bytes: payload?.length ?? 0 });
    });
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  private receive(m: WorkerToAgent): void {
    this.messages.push(m);
    const i = this.waiters.findIndex((w) => w.match(m));
    if (i >= 0) this.waiters.splice(i, 1)[0]?.resolve(m);
  }

  static start(): Worker {
    return new Worker(fork(workerMain, [], { stdio: ['ignore', 'inherit', 'pipe', 'ipc', 'pipe'] }));
  }

  send(m: TestMessage): void {
    if (m.t === 'invoke') {
      const { event, ...header } = m;
      this.bus.send(header, JSON.stringify(event));
    } else if (m.t === 'cancel') this.bus.send(m);
    else this.child.send(m);
  }

  /** The first message (received from now on, or already received and not yet claimed) that matches. */
  next<T extends WorkerToAgent>(match: (m: WorkerToAgent) => m is T, timeoutMs = 10_000): Promise<T> {
    const already = this.messages.slice(this.seen).find(match);
    if (already !== undefined) {
      this.seen = this.messages.indexOf(already) + 1;
      return Promise.resolve(already);
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          this.seen = this.messages.length;
          resolve(m as T);
        },
      });
    });
  }

  result(id: string, timeoutMs?: number): Promise<ResultMsg> {
    const found = this.messages.find((m): m is ResultMsg => m.t === 'result' && m.id === id);
    if (found !== undefined) return Promise.resolve(found);
    return this.next((m): m is ResultMsg => m.t === 'result' && m.id === id, timeoutMs);
  }

  invoke(id: string, event: unknown, deadlineIn = 30_000): Promise<ResultMsg> {
    const p = this.result(id);
    this.send({ t: 'invoke', id, event, deadline: Date.now() + deadlineIn, executionId: 'exec-1', idempotencyKey: `exec-1/${id}` });
    return p;
  }

  async load(s: FunctionSpec): Promise<Extract<WorkerToAgent, { t: 'loaded' } | { t: 'load-failed' }>> {
    const p = this.next((m): m is Extract<WorkerToAgent, { t: 'loaded' } | { t: 'load-failed' }> => m.t === 'loaded' || m.t === 'load-failed');
    this.send({ t: 'load', spec: s });
    return p;
  }
}

/** Whether a process runs; an exited process that nobody has reaped yet (a zombie) counts as gone. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

const started: Worker[] = [];
function start(): Worker {
  const w = Worker.start();
  started.push(w);
  return w;
}

beforeAll(() => {
  if (!existsSync(workerMain)) throw new Error(`${workerMain} is missing: run \`npm run build\` before these tests`);
});

afterEach(() => {
  for (const w of started.splice(0)) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
});

describe('worker process', () => {
  it('reports booted first, loads once, and serves several invocations', async () => {
    const w = start();
    const booted = await w.next((m): m is { t: 'booted' } => m.t === 'booted');
    expect(w.messages[0]).toEqual(booted);

    const loaded = await w.load(spec('esm', 'index.echo'));
    expect(loaded.t).toBe('loaded');
    if (loaded.t !== 'loaded') return;
    expect(loaded.initMs).toBeGreaterThanOrEqual(0);

    for (let i = 0; i < 5; i++) {
      const r = await w.invoke(`i${i}`, { i });
      expect(r).toMatchObject({ t: 'result', id: `i${i}`, logs: [], outcome: { ok: true, value: { echo: { i } } } });
      expect(r.handlerEnd).toBeGreaterThanOrEqual(r.handlerStart);
      expect(Math.abs(r.handlerStart - Date.now())).toBeLessThan(5_000);
    }

    const again = await w.load(spec('esm', 'index.echo'));
    expect(again).toMatchObject({ t: 'load-failed', error: { code: 'MF_INTERNAL' } });
    expect(again.t === 'load-failed' && again.error.message).toMatch(/already loaded wfn/);
    // The refused second load leaves the loaded function serving.
    expect((await w.invoke('after', 'x')).outcome).toEqual({ ok: true, value: { echo: 'x' } });
  });

  it('runs invocations concurrently and returns each its own logs', async () => {
    const w = start();
    await w.load(spec('esm', 'index.logs'));
    const t0 = Date.now();
    const results = await Promise.all(['A', 'B', 'C', 'D'].map((tag, i) => w.invoke(tag, { tag, wait: 150 - i * 30 })));
    // Sequential execution would take at least 2 * (150 + 120 + 90 + 60) ms.
    expect(Date.now() - t0).toBeLessThan(700);
    for (const r of results) {
      expect(r.outcome).toEqual({ ok: true, value: r.id });
      expect(r.logs.map((l) => l.message)).toEqual([
        `start ${r.id}`, `info ${r.id}`, `warn ${r.id}`, `error ${r.id}`, `debug ${r.id}`, `ctx ${r.id}`, `ctx-warn ${r.id}`,
      ]);
    }
    // Results come back as they finish, not in the order they were sent: D waited least.
    const order = w.messages.filter((m): m is ResultMsg => m.t === 'result').map((m) => m.id);
    expect(order[0]).toBe('D');
    expect(order.at(-1)).toBe('A');
  });

  it('sets the Lambda environment in the worker process', async () => {
    const w = start();
    await w.load(spec('esm', 'index.env', { env: { GREETING: 'hi' } }));
    const r = await w.invoke('env', { names: ['AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', '_HANDLER', 'GREETING'] });
    expect(r.outcome).toEqual({
      ok: true,
      value: { AWS_LAMBDA_FUNCTION_NAME: 'wfn', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128', _HANDLER: 'index.env', GREETING: 'hi' },
    });
  });

  it('reports function errors and unserialisable results as failed outcomes and keeps serving', async () => {
    const w = start();
    await w.load(spec('cjs', 'index.handler'));
    expect((await w.invoke('ok', 1)).outcome).toEqual({ ok: true, value: { kind: 'cjs', fn: 'wfn', event: 1 } });

    const w2 = start();
    await w2.load(spec('esm', 'index.bigint'));
    const big = await w2.invoke('big', {});
    expect(big.outcome).toMatchObject({ ok: false, error: { errorType: 'Runtime.ResultSerializationError' } });
    expect(big.outcome.ok === false && big.outcome.error.errorMessage).toMatch(/BigInt/);
    // Still alive and serving.
    expect((await w2.invoke('big2', {})).outcome.ok).toBe(false);
    expect(w2.child.exitCode).toBeNull();

    const w3 = start();
    await w3.load(spec('esm', 'index.throwsCustom'));
    const thrown = await w3.invoke('t', {});
    expect(thrown.outcome).toMatchObject({ ok: false, error: { errorType: 'ValidationError', errorMessage: 'bad input' } });
  });

  it('answers load-failed with the typed error for a missing handler or a module that throws', async () => {
    const w = start();
    const missing = await w.load(spec('esm', 'nothing.handler'));
    expect(missing).toMatchObject({ t: 'load-failed', error: { code: 'MF_HANDLER_NOT_FOUND', details: { errorType: 'Runtime.ImportModuleError' } } });
    // An invocation sent to a worker whose load failed is answered, not dropped.
    const r = await w.invoke('x', {});
    expect(r.outcome).toMatchObject({ ok: false, error: { errorType: 'Runtime.FunctionNotLoaded' } });

    const w2 = start();
    const init = await w2.load(spec('init-throws', 'index.handler'));
    expect(init).toMatchObject({
      t: 'load-failed',
      error: { code: 'MF_FUNCTION_INIT_FAILED', details: { errorType: 'InitError', errorMessage: 'cannot connect to the database' } },
    });
  });

  it('answers an invocation sent before any load', async () => {
    const w = start();
    const r = await w.invoke('early', {});
    expect(r.outcome).toMatchObject({ ok: false, error: { errorType: 'Runtime.FunctionNotLoaded' } });
  });

  it('an invocation sent right behind its load waits for the load', async () => {
    const w = start();
    w.send({ t: 'load', spec: spec('esm', 'index.echo') });
    const r = await w.invoke('right-behind', 'now');
    expect(r.outcome).toEqual({ ok: true, value: { echo: 'now' } });
  });

  it('an unhandled rejection fails every in-flight invocation, then the worker exits(1)', async () => {
    const w = start();
    await w.load(spec('esm', 'index.unhandled'));
    const bystander = w.result('bystander');
    w.send({ t: 'invoke', id: 'bystander', event: { after: 60_000 }, deadline: Date.now() + 30_000, executionId: null, idempotencyKey: 'bystander' });
    const culprit = await w.invoke('culprit', { tag: 'X', after: 50 });
    expect(culprit.outcome).toMatchObject({
      ok: false,
      error: { errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: 'Error: rejected X' },
    });
    expect((await bystander).outcome).toEqual(culprit.outcome);
    expect(await w.exited).toEqual({ code: 1, signal: null });
    expect(w.stderr.join('')).toMatch(/unhandled promise rejection/);
  });

  it('an uncaught exception fails in-flight invocations with the error name, then the worker exits(1)', async () => {
    const w = start();
    await w.load(spec('esm', 'index.uncaught'));
    const r = await w.invoke('boom', { tag: 'Y', after: 30 });
    expect(r.outcome).toMatchObject({ ok: false, error: { errorType: 'TypeError', errorMessage: 'uncaught Y' } });
    expect(r.outcome.ok === false && r.outcome.error.trace[0]).toBe('TypeError: uncaught Y');
    expect(await w.exited).toEqual({ code: 1, signal: null });
  });

  it('exits when the agent disconnects the IPC channel', async () => {
    const w = start();
    await w.load(spec('esm', 'index.slow'));
    w.send({ t: 'invoke', id: 'pending', event: { ms: 60_000 }, deadline: Date.now() + 60_000, executionId: null, idempotencyKey: 'pending' });
    w.child.disconnect();
    const exit = await Promise.race([w.exited, new Promise((r) => setTimeout(() => r('still running'), 5_000))]);
    expect(exit).toEqual({ code: 0, signal: null });
  });

  it('exits when its parent process dies (no orphan workers)', async () => {
    // A stand-in agent: a plain Node process that forks the worker, prints its pid, and is then SIGKILLed.
    const script = `
      const { fork } = require('node:child_process');
      const w = fork(${JSON.stringify(workerMain)}, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc', 'pipe'] });
      w.on('message', (m) => { if (m.t === 'booted') console.log(String(w.pid)); });
    `;
    const agent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const workerPid = await new Promise<number>((resolve, reject) => {
      agent.stdout.setEncoding('utf8').once('data', (d: string) => resolve(Number(d.trim())));
      agent.once('exit', () => reject(new Error('stand-in agent exited early')));
    });
    expect(alive(workerPid)).toBe(true);
    agent.kill('SIGKILL');
    const gone = await waitUntil(() => !alive(workerPid), 5_000);
    if (!gone) process.kill(workerPid, 'SIGKILL');
    expect(gone).toBe(true);
  });
});
