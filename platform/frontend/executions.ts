/**
 * The executions the frontend knows, newest last, bounded by count: what `GET /executions/{id}` answers from, and
 * where placements and transports write what the sandboxes report (records, history, the newest checkpoint).
 */
import { randomUUID } from 'node:crypto';
import type { Execution } from '../api.js';
import { MfError } from '../errors.js';
import type { HistoryEvent } from '../protocol.js';
import type { InvocationRecord } from '../records.js';

/** An execution as the API returns it: a workflow's (workflow set) or a direct function invocation's (function set). */
export type ExecutionView = Omit<Execution, 'workflow' | 'records'> & { workflow: string | null; function?: string; records: InvocationRecord[] };

export interface StoredExecution extends ExecutionView {
  history: HistoryEvent[];
  /** The newest checkpoint the sandbox reported (next top-level state and its input), for recovery. */
  checkpoint: { state: string; input: unknown } | null;
  /** Aborted by a stop (StopExecution): the placement tells the engine, wherever it runs, to end the execution. */
  readonly abort: AbortController;
}

export class ExecutionStore {
  private readonly executions = new Map<string, StoredExecution>();

  constructor(private readonly max: number) {}

  /** Stores a new RUNNING execution; the oldest one is forgotten beyond the bound. */
  create(app: string, workflow: string | null, fn: string | null, received: number): StoredExecution {
    const exec: StoredExecution = {
      executionId: randomUUID(),
      app,
      workflow,
      ...(fn !== null ? { function: fn } : {}),
      status: 'RUNNING',
      error: null,
      cause: null,
      t: { received, dispatched: 0, completed: null },
      records: [],
      history: [],
      checkpoint: null,
      abort: new AbortController(),
    };
    this.executions.set(exec.executionId, exec);
    if (this.executions.size > this.max) {
      const oldest = this.executions.keys().next().value;
      if (oldest !== undefined) this.executions.delete(oldest);
    }
    return exec;
  }

  get(id: string): StoredExecution {
    const exec = this.executions.get(id);
    if (!exec) throw new MfError('MF_EXECUTION_NOT_FOUND', `no execution with id "${id}" is known`, { executionId: id });
    return exec;
  }

  /** The execution if it is still running (late reports of finished or forgotten executions are dropped). */
  running(id: string): StoredExecution | null {
    const exec = this.executions.get(id);
    return exec?.status === 'RUNNING' ? exec : null;
  }

  view(id: string): ExecutionView {
    return executionView(this.get(id));
  }
}

/** What the API shows of a stored execution (history has its own route; the checkpoint and the abort are internal). */
export function executionView(exec: StoredExecution): ExecutionView {
  const { history: _history, checkpoint: _checkpoint, abort: _abort, ...view } = exec;
  return view;
}
