/**
 * The sandbox agent: one per sandbox, it runs the app's workflows next to the app's workers. Where a Task's result
 * passes unchanged into the next Task (handover-plan.ts), the agent plans the hop when it dispatches the first one and
 * the worker hands its result straight to the next worker; the agent's engine follows behind, off the critical path,
 * with the same results (records, checkpoints, history). Every other hop goes worker -> agent -> worker (the local
 * bus); only the final result goes back to the frontend.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { now } from '../../clock.js';
import { debugHopDelayUs, hopDelay } from '../../debug-hop-delay.js';
import { MfError, toMfError } from '../../errors.js';
import type { FunctionSpec } from '../../manifest.js';
import type {
  AgentToFrontend,
  Handover,
  CheckpointOnWire,
  ExecutionResult,
  DoneMessage,
  FrontendToAgent,
  LogLine,
  ResumePoint,
  SandboxAppSpec,
  SandboxStartTimes,
} from '../../protocol.js';
import { temperatureOf, type InvocationOutcome, type InvocationRecord } from '../../records.js';
import { loadStateMachine, runExecution, TaskFailure, type StateMachine, type TaskCall } from '../../asl/index.js';
import type { SessionReply } from '../../sessions/types.js';
import { SandboxStorage } from '../../storage/local-tier.js';
import type { StorageOp, StorageReply } from '../../storage/types.js';
import { PendingReplies } from '../../bus/pending-replies.js';
import { fromFramed, toFramed } from './payloads.js';
import { HistoryShelf } from './history.js';
import { askingSessionTasks, runSessionTask } from '../../sessions/task.js';
import { SessionManager } from './sessions.js';
import { handoverRoutes, type HandoverRoutes } from './handover-plan.js';
import { Workers, type FunctionWorker, type InvocationAnswer } from './workers.js';
import type { RuntimeProcess } from './runtime-boot.js';

/** Off unless the debug switch is set (platform/debug-hop-delay.ts); read once, when the agent starts. */
const DEBUG_HOP_DELAY_US = debugHopDelayUs();
const debugHopDelay = hopDelay(DEBUG_HOP_DELAY_US);

/** What one request (an execution or a direct invocation) accumulates while it runs. */
interface RequestContext {
  executionId: string | null;
  /** The frontend's recovery attempt of this request (0: first run); stamped on every record it yields. */
  attempt: number;
  sandboxStart: SandboxStartTimes | null;
  records: InvocationRecord[];
  logs: DoneMessage['logs'];
  /** Invocations started per state: the n-th visit of a state (a loop, a Map item) gets its own idempotency key. */
  visits: Map<string, number>;
  /** The workflow's handover routes (null for a direct invocation). */
  routes: HandoverRoutes | null;
  /** Invocations planned to be handed over between workers, by state, until the engine reaches that state. */
  ahead: Map<string, Ahead>;
}

/**
 * A Task invocation the previous state's worker hands straight to this state's worker. The agent reserved the slot
 * and awaits the answer from the start; the engine takes it over when it reaches the state with the very value the
 * previous result was read as (`input`), or it is withdrawn.
 */
interface Ahead {
  state: string;
  fn: string;
  worker: FunctionWorker;
  invocationId: string;
  idempotencyKey: string;
  answer: Promise<InvocationAnswer>;
  /** Known once the previous state's result was read: its value, its framed size, and when its handler ended (the hop's start). */
  input: { value: unknown; bytes: number; sentAt: number } | null;
  next: Ahead | null;
}

type InvocationResult = { ok: true; value: unknown } | { ok: false; error: string; cause: string };

const HOST = hostname();
/** The input of a request whose frame had no payload. */
const NULL_JSON = Buffer.from('null');
/** How long checkpoints are coalesced before they go to the frontend. */
const CHECKPOINT_FLUSH_MS = 2;

export class Agent {
  private spec: SandboxAppSpec | null = null;
  private workers: Workers | null = null;
  private sessions: SessionManager | null = null;
  /** Pipes to other sessions waiting for the frontend to broker them. */
  private readonly brokerReplies = new PendingReplies<SessionReply>();
  private readonly sessionTaskReplies = new PendingReplies<SessionReply>();
  /** A workflow's session Tasks: the frontend owns the app's sessions, so they are asked of it. */
  private readonly sessionTasks = askingSessionTasks((op) => this.sessionTaskReplies.request((id) => this.send({ t: 'session-task', id, op })));
  private readonly machines = new Map<string, StateMachine>();
  private readonly routes = new Map<string, HandoverRoutes>();
  private invocationsStarted = 0;
  /** Global-tier storage requests waiting for the frontend's answer. */
  private readonly storageReplies = new PendingReplies<StorageReply>();
  private readonly storage = new SandboxStorage((op) => this.globalStorage(op));
  /** Newest checkpoint per running execution, flushed to the frontend in one message per flush. */
  private readonly checkpoints = new Map<string, { point: ResumePoint; ctx: RequestContext }>();
  private checkpointTimer: NodeJS.Timeout | null = null;
  /** The requests (executions, direct invocations) running here, so that an 'abort' from the frontend reaches them. */
  private readonly running = new Map<string, AbortController>();
  /** Execution history stays here until someone asks for it (bounded as the frontend bounds its executions). */
  private history: HistoryShelf | null = null;

  constructor(
    readonly sandboxId: string,
    private readonly backend: string,
    /** Sends a message to the frontend; `payload` (JSON bytes) rides in the same frame, unescaped (platform/bus/frames.ts). */
    private readonly send: (message: AgentToFrontend, payload?: Buffer) => void,
    /** Ends the process once shut down (main.ts: after the messages sent meanwhile have left). */
    private readonly exit: (code: number) => void = (code) => process.exit(code),
  ) {}

  /** `payload`: the frame's bytes (an execute's or invoke's input as JSON), null when it has none. */
  handle(message: FrontendToAgent, payload: Buffer | null = null): void {
    switch (message.t) {
      case 'deploy':
        void this.deploy(message.spec);
        return;
      case 'execute':
        void this.execute(message, payload);
        return;
      case 'invoke':
        void this.invokeDirect(message, payload);
        return;
      case 'abort':
        this.running.get(message.id)?.abort(message.reason);
        return;
      case 'storage-result':
        this.storageReplies.answer(message.id, message.reply);
        return;
      case 'session': {
        const { id } = message;
        if (!this.sessions) {
          this.send({ t: 'session-reply', id, reply: { ok: false, error: new MfError('MF_INTERNAL', 'the sandbox has no app deployed').toJSON() } });
          return;
        }
        void this.sessions.handle(message.op).then((reply) => this.send({ t: 'session-reply', id, reply }));
        return;
      }
      case 'pipe-brokered':
        this.brokerReplies.answer(message.id, message.reply);
        return;
      case 'session-tasked':
        this.sessionTaskReplies.answer(message.id, message.reply);
        return;
      case 'history':
        this.send({ t: 'history-reply', id: message.id, reply: this.history?.get(message.executionId) ?? { kind: 'unknown' } });
        return;
      case 'shutdown':
        void this.shutdown().then(() => this.exit(0));
        return;
    }
  }

  /** The global storage tier lives in the platform: ask the frontend. */
  private globalStorage(op: StorageOp): Promise<StorageReply> {
    return this.storageReplies.request((id) => this.send({ t: 'storage', id, op }));
  }

  async shutdown(): Promise<void> {
    await Promise.all([this.sessions?.shutdown(), this.workers?.shutdown()]);
  }

  /** Deploys the app the frontend handed over when it created the sandbox (main.ts), with the runtime forked at boot. */
  deployAtCreate(spec: SandboxAppSpec, early: Promise<RuntimeProcess> | null): void {
    void this.deploy(spec, early);
  }

  private async deploy(spec: SandboxAppSpec, early: Promise<RuntimeProcess> | null = null): Promise<void> {
    try {
      if (this.spec) throw new MfError('MF_INTERNAL', `sandbox ${this.sandboxId} already runs app "${this.spec.app}"`);
      for (const [name, definition] of Object.entries(spec.workflows)) {
        const machine = loadStateMachine(definition, name);
        this.machines.set(name, machine);
        // No routes, no hand-over: every hop goes through this agent (the `handover` switch, for ablations).
        if (spec.policy.handover) this.routes.set(name, handoverRoutes(machine));
      }
      const functions = new Map<string, FunctionSpec>(spec.functions.map((f) => [f.name, f]));
      this.spec = spec;
      this.history = new HistoryShelf(spec.policy.history);
      const { poolSize, workerConcurrency, maxWorkersPerFunction, keepAliveMs, recoveryAttempts, maxResultBytes, handover } = spec.policy;
      this.workers = new Workers(
        functions,
        { poolSize, workerConcurrency, maxWorkersPerFunction, keepAliveMs, recoveryAttempts, maxResultBytes, handover },
        process.cwd(),
        (op) => this.storage.handle(op),
        early,
      );
      this.sessions = new SessionManager(
        spec.app,
        this.sandboxId,
        functions,
        process.cwd(),
        (op) => this.storage.handle(op),
        (end) => this.send({ t: 'session-ended', ...end }),
        (to) => this.brokerReplies.request((id) => this.send({ t: 'pipe-broker', id, to })),
      );
      const workersStarted = spec.startWorkersAtDeploy ? await this.workers.startAll() : 0;
      this.send({ t: 'deployed', workersStarted });
    } catch (err) {
      this.send({ t: 'deploy-failed', error: toMfError(err).toJSON() });
    }
  }

  private async execute(message: Extract<FrontendToAgent, { t: 'execute' }>, payload: Buffer | null): Promise<void> {
    const machine = this.machines.get(message.workflow);
    if (!machine) {
      const error = new MfError('MF_WORKFLOW_NOT_FOUND', `the app has no workflow "${message.workflow}"`, { workflow: message.workflow });
      this.send({ t: 'rejected', id: message.id, error: error.toJSON() });
      return;
    }
    const ctx: RequestContext = {
      executionId: message.id,
      attempt: message.attempt ?? 0,
      sandboxStart: message.sandboxStart,
      records: [],
      logs: [],
      visits: new Map(),
      routes: this.routes.get(message.workflow) ?? null,
      ahead: new Map(),
    };
    const shelf = message.wantHistory ? this.history : null;
    const history = shelf?.start(message.id) ?? null;
    const abort = new AbortController();
    this.running.set(message.id, abort);
    let result: ExecutionResult;
    try {
      result = await runExecution(machine, fromFramed(payload ?? NULL_JSON), {
        invoke: (call: TaskCall) => this.invokeForTask(call, ctx),
        integrate: (call) => runSessionTask(this.sessionTasks, call),
        signal: abort.signal,
        executionId: message.id,
        executionName: message.executionName,
        startTime: message.startTime,
        stateMachineName: `${this.spec?.app ?? 'app'}-${message.workflow}`,
        ...(this.spec ? { limits: this.spec.policy.limits } : {}),
        ...(history ? { onEvent: (e) => history.push(e) } : {}),
        ...(this.spec?.policy.checkpoints ? { onTransition: (state: string, input: unknown, variables: Readonly<Record<string, unknown>>) => this.checkpoint(message.id, state, input, variables, ctx) } : {}),
        ...(message.resumeAt ? { resumeAt: message.resumeAt } : {}),
      });
    } catch (err) {
      // runExecution reports ASL failures as results; reaching here is an engine bug, reported as such.
      result = { status: 'FAILED', error: 'MF_INTERNAL', cause: toMfError(err).message };
    }
    this.running.delete(message.id);
    this.checkpoints.delete(message.id);
    // Handovers the engine never reached (the execution failed or was stopped before them) free their slots.
    for (const a of ctx.ahead.values()) this.workers?.withdraw(a.worker, a.invocationId);
    this.sendDone(message.id, result, ctx);
    // Measured and bounded after the answer left: the history is not on the execution's path.
    if (shelf) setImmediate(() => shelf.finish(message.id));
  }

  /** The answer to a request: a SUCCEEDED output goes as the frame's payload, the bytes it arrived as (never escaped into the header). */
  private sendDone(id: string, result: ExecutionResult, ctx: RequestContext): void {
    if (result.status === 'SUCCEEDED') this.send({ t: 'done', id, result: { status: 'SUCCEEDED' }, records: ctx.records, logs: ctx.logs }, toFramed(result.output));
    else this.send({ t: 'done', id, result, records: ctx.records, logs: ctx.logs });
  }

  /**
   * Keeps the newest checkpoint of an execution and flushes all pending ones shortly after, off the hot path:
   * the local bus hands the output on at once (the hop is dispatched before the flush runs); the global copy follows
   * asynchronously, coalesced, its input framed as the bytes it arrived as (never parsed, escaped or re-serialised).
   */
  private checkpoint(id: string, state: string, input: unknown, variables: Readonly<Record<string, unknown>>, ctx: RequestContext): void {
    // The engine hands a snapshot (a new object after each Assign), so keeping the reference is safe.
    this.checkpoints.set(id, { point: hasAny(variables) ? { state, input, variables } : { state, input }, ctx });
    this.checkpointTimer ??= setTimeout(() => {
      this.checkpointTimer = null;
      // The records flushed here leave the context, so 'done' carries only the rest: none is lost or sent twice.
      for (const [cid, { point, ctx }] of this.checkpoints) {
        const item: CheckpointOnWire = { id: cid, state: point.state, ...(point.variables ? { variables: point.variables } : {}), records: ctx.records.splice(0) };
        this.send({ t: 'checkpoint', ...item }, toFramed(point.input));
      }
      this.checkpoints.clear();
    }, CHECKPOINT_FLUSH_MS);
  }

  private async invokeDirect(message: Extract<FrontendToAgent, { t: 'invoke' }>, payload: Buffer | null): Promise<void> {
    const ctx: RequestContext = {
      executionId: message.executionId ?? message.id,
      attempt: message.attempt ?? 0,
      sandboxStart: message.sandboxStart,
      records: [],
      logs: [],
      visits: new Map(),
      routes: null,
      ahead: new Map(),
    };
    if (!this.spec?.functions.some((f) => f.name === message.fn)) {
      const error = new MfError('MF_FUNCTION_NOT_FOUND', `the app has no function "${message.fn}"`, { function: message.fn });
      this.send({ t: 'rejected', id: message.id, error: error.toJSON() });
      return;
    }
    const abort = new AbortController();
    this.running.set(message.id, abort);
    // The input goes to the worker as the bytes it came in (toFramed passes a RawJson's bytes on).
    const r = await this.invoke(message.fn, fromFramed(payload ?? NULL_JSON), message.state ?? null, ctx, abort.signal);
    this.running.delete(message.id);
    this.sendDone(message.id, r.ok ? { status: 'SUCCEEDED', output: r.value } : { status: 'FAILED', error: r.error, cause: r.cause }, ctx);
  }

  /**
   * Hook for cancellation: call.signal is aborted when the Task's result is no longer wanted (the execution was
   * stopped or timed out, a Parallel sibling failed, the Task's TimeoutSeconds passed). The engine has already moved
   * on by then; telling the running invocation (and abandoning it) is to be wired in here.
   */
  private async invokeForTask(call: TaskCall, ctx: RequestContext): Promise<unknown> {
    const r = await this.invoke(call.functionName, call.input, call.stateName, ctx, call.signal, this.takeAhead(call, ctx));
    if (r.ok) return r.value;
    throw new TaskFailure(r.error, r.cause);
  }

  /** The handover planned for this call, if the engine reached its state with exactly the value that was handed over. */
  private takeAhead(call: TaskCall, ctx: RequestContext): Ahead | null {
    const ahead = ctx.ahead.get(call.stateName);
    if (!ahead || ahead.input === null || ahead.input.value !== call.input || ahead.fn !== call.functionName) return null;
    ctx.ahead.delete(call.stateName);
    return ahead;
  }

  /**
   * Plans the hops after `state` that can be handed over worker to worker: each next state of the route gets a slot on
   * an existing worker of its function with room (never a new one: a hop that would wait goes through the agent).
   * Returns the first planned hop (the rest follow its `next`), or null when none could be planned.
   */
  private planHandover(state: string | null, ctx: RequestContext, workers: Workers): Ahead | null {
    const route = state === null ? undefined : ctx.routes?.get(state);
    if (!route) return null;
    const planned: Ahead[] = [];
    for (const step of route) {
      if (ctx.ahead.has(step.state)) break;
      const worker = workers.reserveForHandover(step.fn);
      if (!worker) break;
      this.invocationsStarted++;
      const invocationId = randomUUID();
      const ahead: Ahead = {
        state: step.state,
        fn: step.fn,
        worker,
        invocationId,
        idempotencyKey: peekIdempotencyKey(ctx, step.state),
        answer: workers.expect(worker, invocationId),
        input: null,
        next: null,
      };
      const previous = planned[planned.length - 1];
      if (previous) previous.next = ahead;
      ctx.ahead.set(step.state, ahead);
      planned.push(ahead);
    }
    return planned[0] ?? null;
  }

  /** Gives up the planned handovers from `ahead` on: the result before them was not handed over. */
  private withdrawFrom(ahead: Ahead | null, ctx: RequestContext): void {
    for (let a = ahead; a !== null; a = a.next) {
      if (ctx.ahead.get(a.state) === a) ctx.ahead.delete(a.state);
      this.workers?.withdraw(a.worker, a.invocationId);
    }
  }

  /** What a result says about the handover planned after it: the next invocation's event, or its withdrawal. */
  private handedOn(next: Ahead | null, answer: InvocationAnswer, result: InvocationResult, ctx: RequestContext, outputBytes: number): void {
    if (next === null) return;
    if (answer.kind === 'result' && answer.message.forwarded && result.ok) {
      next.input = { value: result.value, bytes: outputBytes, sentAt: answer.message.handlerEnd };
      this.workers?.started(next.worker, next.invocationId);
    } else this.withdrawFrom(next, ctx);
  }

  /**
   * Runs one function invocation, and runs it again in a fresh worker when its worker was killed from outside
   * (recovery: the caller sees one result; the function may have run more than once). Never throws.
   */
  private async invoke(fn: string, input: unknown, state: string | null, ctx: RequestContext, signal: AbortSignal, ahead: Ahead | null = null): Promise<InvocationResult> {
    const retries = this.spec?.policy.recoveryAttempts ?? 0;
    let result: InvocationResult & { retryable?: boolean } = { ok: false, error: 'MF_INTERNAL', cause: 'not run' };
    const key = idempotencyKey(ctx, state ?? fn);
    for (let retry = 0; retry <= retries; retry++) {
      // The first run of a handed-over state is already under way; a re-run goes through the agent.
      result = retry === 0 && ahead ? await this.awaitHandedOver(ahead, ctx, signal) : await this.invokeOnce(fn, input, state, ctx, retry, signal, key);
      if (result.ok || !result.retryable || signal.aborted) break;
    }
    const { retryable: _retryable, ...plain } = result;
    return plain;
  }

  /** Runs one function invocation on a local worker and records it. Never throws. */
  private async invokeOnce(
    fn: string,
    input: unknown,
    state: string | null,
    ctx: RequestContext,
    retry: number,
    signal: AbortSignal,
    key: string,
  ): Promise<InvocationResult & { retryable?: boolean }> {
    const workers = this.workers;
    if (!workers || !this.spec) return { ok: false, error: 'MF_INTERNAL', cause: 'the sandbox has no app deployed' };
    const queued = now();
    debugHopDelay();
    const firstInSandbox = this.invocationsStarted++ === 0;
    const invocationId = randomUUID();
    const event = toFramed(input);
    const inputBytes = event.length;

    let acquired;
    try {
      acquired = await workers.acquire(fn);
    } catch (err) {
      const e = toMfError(err);
      const t = now();
      const outcome: InvocationOutcome = { state: 'crashed', error: e.code, cause: e.message };
      ctx.records.push(this.record({ invocationId, fn, state, ctx, temperature: temperatureOf({ sandboxCreatedForRequest: ctx.sandboxStart !== null, firstInSandbox, workerStartedForInvocation: true }), workerPid: -1, workerOrigin: 'spawn', t: { queued, workerReady: t, handlerStart: t, handlerEnd: t, published: t }, coldStart: {}, inputBytes, outputBytes: 0, outcome, retry }));
      return { ok: false, error: e.code, cause: e.message };
    }
    const workerReady = now();
    const { worker, started, phases } = acquired;
    if (signal.aborted) {
      // Cancelled while it waited for a worker: it never ran, so it leaves no record.
      workers.release(worker);
      return { ok: false, error: 'States.Aborted', cause: 'the invocation was cancelled before it started' };
    }
    const next = this.planHandover(state, ctx, workers);
    const answer = await workers.invoke(worker, invocationId, event, ctx.executionId, key, signal, next ? handoverOf(next) : undefined);
    const published = now();

    const temperature = temperatureOf({ sandboxCreatedForRequest: ctx.sandboxStart !== null, firstInSandbox, workerStartedForInvocation: started });
    const coldStart =
      temperature === 'cold-sandbox' && ctx.sandboxStart !== null
        ? { sandboxCreateMs: ctx.sandboxStart.createMs, sandboxConnectMs: ctx.sandboxStart.connectMs, sandboxStartMs: ctx.sandboxStart.totalMs, ...phases }
        : phases;
    const base = { invocationId, fn, state, ctx, temperature, workerPid: worker.pid, workerOrigin: started ? worker.origin : ('existing' as const), coldStart, inputBytes, retry };
    return this.conclude(answer, base, { queued, workerReady, published }, next);
  }

  /**
   * Awaits a handed-over invocation the engine has reached: its record is the agent's as for any other, stamped
   * `queued` and `workerReady` when the previous handler ended (the hop began in that worker) and marked handedOver.
   */
  private async awaitHandedOver(ahead: Ahead, ctx: RequestContext, signal: AbortSignal): Promise<InvocationResult & { retryable?: boolean }> {
    this.workers?.watch(ahead.worker, ahead.invocationId, signal);
    const answer = await ahead.answer;
    const published = now();
    const { value: _value, bytes, sentAt } = ahead.input!;
    const base = {
      invocationId: ahead.invocationId,
      fn: ahead.fn,
      state: ahead.state,
      ctx,
      temperature: temperatureOf({ sandboxCreatedForRequest: ctx.sandboxStart !== null, firstInSandbox: false, workerStartedForInvocation: false }),
      workerPid: ahead.worker.pid,
      workerOrigin: 'existing' as const,
      coldStart: {},
      inputBytes: bytes,
      retry: 0,
      handedOver: true,
    };
    return this.conclude(answer, base, { queued: sentAt, workerReady: sentAt, published }, ahead.next);
  }

  /** Turns a worker's answer into the invocation's result and record, and settles the handover planned after it. */
  private conclude(
    answer: InvocationAnswer,
    base: Omit<Parameters<Agent['record']>[0], 't' | 'outputBytes' | 'outcome'>,
    stamps: { queued: number; workerReady: number; published: number },
    next: Ahead | null,
  ): InvocationResult & { retryable?: boolean } {
    const { ctx, fn, invocationId } = base;
    const { queued, workerReady, published } = stamps;
    if (answer.kind === 'fault') {
      this.withdrawFrom(next, ctx);
      const error = answer.code === 'MF_FUNCTION_TIMEOUT' ? 'States.Timeout' : answer.code;
      const kind = answer.code === 'MF_FUNCTION_TIMEOUT' ? 'timeout' : answer.code === 'MF_INVOCATION_ABANDONED' ? 'abandoned' : 'crashed';
      const outcome: InvocationOutcome = { state: kind, error, cause: answer.message };
      ctx.records.push(this.record({ ...base, t: { queued, workerReady, handlerStart: workerReady, handlerEnd: published, published }, outputBytes: 0, outcome }));
      return { ok: false, error, cause: answer.message, retryable: answer.external === true };
    }
    const m = answer.message;
    for (const line of m.logs) ctx.logs.push(attribute(line, invocationId, fn));
    const t = { queued, workerReady, handlerStart: m.handlerStart, handlerEnd: m.handlerEnd, published };
    const result = this.resultOf(answer, base, t);
    this.handedOn(next, answer, result, ctx, answer.payload?.length ?? 0);
    return result;
  }

  /** A worker's answer read: the value (its size the frame's) or the function's error, recorded. */
  private resultOf(
    answer: Extract<InvocationAnswer, { kind: 'result' }>,
    base: Omit<Parameters<Agent['record']>[0], 't' | 'outputBytes' | 'outcome'>,
    t: InvocationRecord['t'],
  ): InvocationResult {
    const { ctx, fn } = base;
    const m = answer.message;
    const maxResultBytes = this.spec?.policy.maxResultBytes ?? Infinity;
    if (m.error === undefined) {
      // The size is the framed bytes'; an oversized result is refused before anything else.
      const payload = answer.payload ?? Buffer.from('null');
      const outputBytes = payload.length;
      if (outputBytes > maxResultBytes) {
        const cause = `the result of "${fn}" is ${outputBytes} bytes, over the limit of ${maxResultBytes} (maxResultBytes)`;
        ctx.records.push(this.record({ ...base, t, outputBytes, outcome: { state: 'error', error: 'MF_RESULT_TOO_LARGE', cause } }));
        return { ok: false, error: 'MF_RESULT_TOO_LARGE', cause };
      }
      // Not parsed here: the engine parses it only where a state reads into it (platform/asl/raw-json.ts).
      ctx.records.push(this.record({ ...base, t, outputBytes, outcome: { state: 'ok' } }));
      return { ok: true, value: fromFramed(payload) };
    }
    const { errorType, errorMessage, trace } = m.error;
    const cause = JSON.stringify({ errorType, errorMessage, trace });
    ctx.records.push(this.record({ ...base, t, outputBytes: 0, outcome: { state: 'error', error: errorType, cause } }));
    return { ok: false, error: errorType, cause };
  }

  private record(r: {
    invocationId: string;
    fn: string;
    state: string | null;
    ctx: RequestContext;
    temperature: InvocationRecord['temperature'];
    workerPid: number;
    workerOrigin: InvocationRecord['workerOrigin'];
    t: InvocationRecord['t'];
    coldStart: InvocationRecord['coldStart'];
    inputBytes: number;
    outputBytes: number;
    outcome: InvocationOutcome;
    retry: number;
    handedOver?: boolean;
  }): InvocationRecord {
    return {
      invocationId: r.invocationId,
      executionId: r.ctx.executionId,
      app: this.spec?.app ?? '',
      function: r.fn,
      state: r.state,
      temperature: r.temperature,
      sandboxId: this.sandboxId,
      workerPid: r.workerPid,
      workerOrigin: r.workerOrigin,
      host: HOST,
      backend: this.backend,
      t: r.t,
      coldStart: r.coldStart,
      inputBytes: r.inputBytes,
      outputBytes: r.outputBytes,
      outcome: r.outcome,
      ...(r.ctx.attempt > 0 ? { attempt: r.ctx.attempt } : {}),
      ...(r.retry > 0 ? { retry: r.retry } : {}),
      ...(r.handedOver ? { handedOver: true as const } : {}),
    };
  }
}

function attribute(line: LogLine, invocationId: string, fn: string): DoneMessage['logs'][number] {
  return { ...line, invocationId, function: fn };
}

/** The Handover header of a planned hop and those after it, as the worker of the previous state receives it. */
function handoverOf(a: Ahead): Handover {
  const h: Handover = { to: a.worker.inbox!, id: a.invocationId, idempotencyKey: a.idempotencyKey, timeoutMs: a.worker.spec.timeoutMs };
  // The debug delay is per hop, whoever carries it: a handed-over hop's worker spends it before forwarding.
  if (DEBUG_HOP_DELAY_US > 0) h.debugDelayUs = DEBUG_HOP_DELAY_US;
  if (a.next) h.next = handoverOf(a.next);
  return h;
}


function hasAny(record: Readonly<Record<string, unknown>>): boolean {
  for (const _ in record) return true;
  return false;
}

/**
 * The step's idempotency key (context.idempotencyKey): the same for every run of one step of one execution, whether
 * a retry, a recovery in another sandbox or a re-run after a platform restart, so that a function can make its side
 * effects happen once (docs/distributed.md). A step is a state's n-th visit within the request.
 */
function idempotencyKey(ctx: RequestContext, step: string): string {
  const key = peekIdempotencyKey(ctx, step);
  ctx.visits.set(step, (ctx.visits.get(step) ?? 0) + 1);
  return key;
}

/** The key the step's next visit will get (a planned handover: the visit counts when the engine reaches it). */
function peekIdempotencyKey(ctx: RequestContext, step: string): string {
  return `${ctx.executionId ?? randomUUID()}/${step}/${ctx.visits.get(step) ?? 0}`;
}
