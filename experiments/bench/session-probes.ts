/**
 * The measuring half that the sessions bench (bench/sessions.ts) and the `sessions` experiment (experiments/sessions.ts)
 * share, one copy (docs/sessions.md#measured). Each probe takes timestamps and facts and returns them; none computes a
 * statistic or formats anything (docs/conventions.md#6). A probe that cannot measure (no answer, wrong byte count, a
 * failed execution) throws, naming what went wrong.
 *
 * - message: a client's message to a running session function and its answer back (the POST of the message, the
 *   answer read by a GET already waiting), against `perEvent`, one sync execution of a 1-Task workflow per message;
 * - transfer: N bytes from one function to another through a data pipe or through context.storage (put, a message
 *   with the key, get), each timed by the sender from its first byte until the receiver's acknowledgement came back,
 *   or as a workflow payload between two Tasks (the first Task's handlerEnd to the second's handlerStart, so it leaves
 *   out an acknowledgement).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { now } from '../../platform/clock.js';
import type { AppManifest } from '../../platform/manifest.js';
import type { MicroFunctionsClient } from '../../platform/sdk/client.js';
import type { Execution } from '../../platform/sdk/types.js';
import { repoRoot } from '../../workloads/paths.js';

export const TRANSFER_METHODS = ['pipe', 'storage', 'payload'] as const;
export type TransferMethod = (typeof TRANSFER_METHODS)[number];

/** The payloads of 16 MiB, as JSON between two Tasks, must fit in one Task result: the platform config to ask for. */
export const MAX_RESULT_BYTES = 40 * 1024 * 1024;

/** The app every probe runs in: one code folder, roles by event (functions/session-bench/index.mjs). */
export function sessionBenchApp(name: string): AppManifest {
  // Sent inline, so that a remote platform (which refuses local code folders) can run it too.
  const source = readFileSync(join(repoRoot(), 'experiments', 'bench', 'functions', 'session-bench', 'index.mjs'));
  const fn = (fnName: string) => ({ name: fnName, handler: 'index.handler', code: { files: { 'index.mjs': source.toString('base64') } }, memoryMB: 512 });
  const task = (resource: string, next: string | null) => (next ? { Type: 'Task', Resource: resource, Next: next } : { Type: 'Task', Resource: resource, End: true });
  return {
    name,
    functions: ['echo', 'noop', 'tx', 'rx', 'produce', 'consume'].map(fn),
    workflows: {
      one: { StartAt: 'S1', States: { S1: task('noop', null) } },
      payload: { StartAt: 'S1', States: { S1: task('produce', 'S2'), S2: task('consume', null) } },
    },
  };
}

/** Client timestamps of one probe (platform/clock.ts's time base). */
export interface Timed {
  sent: number;
  received: number;
}

export interface TransferSample extends Timed {
  method: TransferMethod;
  bytes: number;
  /** The transfer's own time (sender's clock, or the two Tasks' records), ms. */
  ms: number;
  /** The execution that carried a payload transfer (null for pipe and storage). */
  execution: Execution | null;
}

export class SessionProbes {
  private constructor(
    private readonly client: MicroFunctionsClient,
    private readonly app: string,
    readonly sessionId: string,
  ) {}

  /** Starts the session the probes talk to (echo, tx and rx) in an app deployed with sessionBenchApp. */
  static async open(client: MicroFunctionsClient, app: string): Promise<SessionProbes> {
    const session = await client.startSession(app, {
      functions: [
        { function: 'echo', alias: 'echo', input: { role: 'echo' } },
        { function: 'tx', alias: 'tx', input: { role: 'tx' } },
        { function: 'rx', alias: 'rx', input: { role: 'rx' } },
      ],
    });
    if (session.status !== 'RUNNING') throw new Error(`the probes' session did not start: ${session.status} ${session.reason ?? ''}`);
    return new SessionProbes(client, app, session.sessionId);
  }

  /** A message to the running echo function and its answer back, on the client's clock. */
  async message(i: number): Promise<Timed> {
    const answer = this.receiveOne();
    const sent = now();
    await this.client.sendToSession(this.app, this.sessionId, { i }, 'echo');
    const body = (await answer) as { i?: number };
    const received = now();
    if (body.i !== i) throw new Error(`echo answered ${JSON.stringify(body).slice(0, 100)} to message ${i}`);
    return { sent, received };
  }

  /** The per-event style: one sync execution of a 1-Task workflow per message. */
  async perEvent(i: number): Promise<Timed & { execution: Execution }> {
    const sent = now();
    const execution = await this.client.execute(this.app, 'one', { role: 'noop', i });
    const received = now();
    if (execution.status !== 'SUCCEEDED') throw new Error(`per-event execution failed: ${execution.error ?? ''} ${execution.cause ?? ''}`.slice(0, 300));
    return { sent, received, execution };
  }

  /** Moves `bytes` from one function to another by `method`. */
  async transfer(method: TransferMethod, bytes: number): Promise<TransferSample> {
    if (method === 'payload') {
      const sent = now();
      const execution = await this.client.execute(this.app, 'payload', { role: 'produce', bytes });
      const received = now();
      const [produced, consumed] = execution.records ?? [];
      if (execution.status !== 'SUCCEEDED' || execution.output !== bytes || !produced || !consumed) {
        throw new Error(`payload of ${bytes} bytes failed: ${execution.status} ${execution.error ?? ''} ${execution.cause ?? ''}`.slice(0, 300));
      }
      return { method, bytes, sent, received, ms: consumed.t.handlerStart - produced.t.handlerEnd, execution };
    }
    const answer = this.receiveOne();
    const sent = now();
    await this.client.sendToSession(this.app, this.sessionId, { mode: method, bytes }, 'tx');
    const report = (await answer) as { got?: number; ms?: number };
    const received = now();
    if (report.got !== bytes || typeof report.ms !== 'number') throw new Error(`${method}: rx got ${String(report.got)} bytes of ${bytes}`);
    return { method, bytes, sent, received, ms: report.ms, execution: null };
  }

  /** Stops the session (its functions' processes end with it). */
  async close(): Promise<void> {
    await this.client.stopSession(this.app, this.sessionId);
  }

  /** The next message a session function sent to the client, waited for up to 30 s. */
  private async receiveOne(): Promise<unknown> {
    const [m] = await this.client.receiveFromSession(this.app, this.sessionId, { count: 1, timeoutMs: 30_000 });
    if (!m) throw new Error('no answer from the session within 30 s');
    return m.body;
  }
}
