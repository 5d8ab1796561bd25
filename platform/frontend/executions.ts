/**
 * The executions the frontend knows, newest last: what `GET /executions/{id}` answers from, and where placements
 * and transports write what the sandboxes report (records, history, the newest checkpoint) while one runs.
 *
 * Bounded twice. By count: beyond maxStoredExecutions the oldest is forgotten. By bytes: a finished execution is
 * serialised once, and that JSON is what every later answer sends; when the finished executions kept in memory add
 * up to more than maxStoredExecutionBytes, the oldest are dropped from memory and read back from their files on GET.
 *
 * Durable: every finished execution's JSON is appended to the execution log in the data folder off the hot path (the
 * same records the byte bound reads back), so a restarted platform answers it again (docs/distributed.md).
 */
import { randomUUID } from 'node:crypto';
import { ExecutionLog, type LogLocation } from './execution-log.js';
import type { Execution } from '../api.js';
import { MfError } from '../errors.js';
import type { HistoryEvent, ResumePoint } from '../protocol.js';
import type { InvocationRecord } from '../records.js';

/** An execution as the API returns it: a workflow's (workflow set) or a direct function invocation's (function set). */
export type ExecutionView = Omit<Execution, 'workflow' | 'records'> & { workflow: string | null; function?: string; records: InvocationRecord[] };

export interface StoredExecution extends ExecutionView {
  /** The events the platform itself records; the engine's stay in the sandbox named by historyIn, when it ran in one. */
  history: HistoryEvent[];
  /** The sandbox that keeps this execution's engine history (the engine ran there with history on); else null. */
  historyIn: string | null;
  /** The newest checkpoint the sandbox reported (next top-level state and its input), for recovery. */
  checkpoint: ResumePoint | null;
  /** Aborted by a stop (StopExecution): the placement tells the engine, wherever it runs, to end the execution. */
  readonly abort: AbortController;
}

/** An execution's answer: its view as JSON text (made once), and the view itself for the rare caller that reshapes it. */
export interface FinishedExecution {
  readonly json: string;
  view(): ExecutionView;
}

export interface StoreLimits {
  maxCount: number;
  maxBytes: number;
}

/** A finished execution is `kept` in memory (and in the log) or only `stored` in the log; `written` settles with its record. */
type Entry =
  | { kind: 'running'; exec: StoredExecution }
  | { kind: 'kept'; json: string; history: string; historyIn: string | null; bytes: number; written: Promise<void>; location: LogLocation }
  | { kind: 'stored'; historyIn: string | null; written: Promise<void>; location: LogLocation };

export class ExecutionStore {
  /** By id, in creation order (the order the count bound forgets in). */
  private readonly entries = new Map<string, Entry>();
  /** Finished executions held in memory, in finishing order (the order the byte bound spills in). */
  private readonly kept = new Set<string>();
  private keptBytes = 0;
  private readonly log: ExecutionLog;
  /** What the log held at start, until `restore` knows each again. */
  private onDisk = new Map<string, LogLocation>();

  constructor(
    private readonly limits: StoreLimits,
    /** Where finished executions are written (in the data folder, so they outlive the run). */
    dir: string,
  ) {
    this.log = new ExecutionLog(dir);
  }

  /**
   * Stores a new RUNNING execution (with a fresh id, or the id of an execution recovered after a restart); the
   * oldest one is forgotten beyond the count bound.
   */
  create(app: string, workflow: string | null, fn: string | null, received: number, id: string = randomUUID()): StoredExecution {
    const exec = unstoredExecution(app, workflow, fn, received, id);
    this.add(exec.executionId, { kind: 'running', exec });
    return exec;
  }

  /** Knows again a finished execution that a previous run wrote (recovery after a restart; ids from `storedIds`). */
  restore(id: string): void {
    const location = this.onDisk.get(id);
    this.onDisk.delete(id);
    if (location) this.add(id, { kind: 'stored', historyIn: location.historyIn, written: Promise.resolve(), location });
  }

  /** The execution while it runs; MF_EXECUTION_NOT_FOUND once it has finished or was forgotten. */
  get(id: string): StoredExecution {
    const exec = this.running(id);
    if (!exec) throw notFound(id);
    return exec;
  }

  /** The execution if it is still running (late reports of finished or forgotten executions are dropped). */
  running(id: string): StoredExecution | null {
    const entry = this.entries.get(id);
    return entry?.kind === 'running' && entry.exec.status === 'RUNNING' ? entry.exec : null;
  }

  /**
   * Keeps a finished execution as JSON, made once here (with `outputJson`, the output its caller already
   * serialised, spliced in rather than serialised again), and spills the oldest kept ones beyond the byte bound.
   */
  finish(exec: StoredExecution, outputJson: string | null): FinishedExecution & { history: string; written: Promise<void> } {
    const view = executionView(exec);
    const json = viewJson(view, outputJson);
    const history = exec.history.length === 0 ? '[]' : JSON.stringify(exec.history);
    let written: Promise<void> = Promise.resolve();
    if (this.entries.get(exec.executionId)?.kind === 'running') {
      const appended = this.log.append(exec.executionId, json, history, exec.historyIn);
      written = appended.written;
      written.catch(() => undefined);
      const bytes = json.length + history.length;
      this.entries.set(exec.executionId, { kind: 'kept', json, history, historyIn: exec.historyIn, bytes, written, location: appended.location });
      this.kept.add(exec.executionId);
      this.keptBytes += bytes;
      this.spillBeyondBound();
    }
    return { json, history, view: () => view, written };
  }

  /** Any known execution's answer: a running one is serialised now, a spilled one read back. */
  async answer(id: string): Promise<FinishedExecution> {
    const entry = this.entries.get(id);
    if (!entry) throw notFound(id);
    if (entry.kind === 'running') {
      const view = executionView(entry.exec);
      return { json: JSON.stringify(view), view: () => view };
    }
    // A result is answered once it is on disk, so that no restart can answer it differently.
    const json = entry.kind === 'kept' ? await entry.written.then(() => entry.json, () => entry.json) : await this.readStored(id, entry, 'view');
    return { json, view: () => JSON.parse(json) as ExecutionView };
  }

  /** The sandbox that keeps a known execution's engine history, or null (the platform's own events are all there is). */
  historyIn(id: string): string | null {
    const entry = this.entries.get(id);
    if (!entry) throw notFound(id);
    return entry.kind === 'running' ? entry.exec.historyIn : entry.historyIn;
  }

  /** Any known execution's history as the platform recorded it, as JSON text. */
  async historyJson(id: string): Promise<string> {
    const entry = this.entries.get(id);
    if (!entry) throw notFound(id);
    if (entry.kind === 'running') return JSON.stringify(entry.exec.history);
    return entry.kind === 'kept' ? entry.history : this.readStored(id, entry, 'history');
  }

  /** Ids of the finished executions an earlier run wrote, oldest first (read once, at a restart). */
  async storedIds(): Promise<Set<string>> {
    this.onDisk = await this.log.scan();
    return new Set(this.onDisk.keys());
  }

  /** Writes what is queued to the log and closes it (a clean stop). */
  close(): Promise<void> {
    return this.log.close();
  }

  /** Bytes of finished executions held in memory (for tests and metrics). */
  get bytesInMemory(): number {
    return this.keptBytes;
  }

  private add(id: string, entry: Entry): void {
    this.entries.set(id, entry);
    if (this.entries.size > this.limits.maxCount) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.forget(oldest);
    }
  }

  /** Beyond the byte bound, the oldest kept executions leave memory; their files answer for them. */
  private spillBeyondBound(): void {
    while (this.keptBytes > this.limits.maxBytes && this.kept.size > 0) {
      const id = this.kept.values().next().value as string;
      const entry = this.entries.get(id);
      this.release(id);
      if (entry?.kind === 'kept') this.entries.set(id, { kind: 'stored', historyIn: entry.historyIn, written: entry.written, location: entry.location });
    }
  }

  private async readStored(id: string, entry: Extract<Entry, { kind: 'stored' }>, part: 'view' | 'history'): Promise<string> {
    try {
      await entry.written;
      return await this.log.read(entry.location, part);
    } catch (err) {
      throw new MfError('MF_STORAGE_FAILED', `execution "${id}" was written to disk and cannot be read back: ${(err as Error).message}`, { executionId: id });
    }
  }

  private forget(id: string): void {
    const entry = this.entries.get(id);
    this.entries.delete(id);
    this.release(id);
    if (entry && entry.kind !== 'running') {
      const { location } = entry;
      void entry.written.then(() => this.log.forget(id, location), () => undefined);
    }
  }

  private release(id: string): void {
    if (!this.kept.delete(id)) return;
    const entry = this.entries.get(id);
    if (entry?.kind === 'kept') this.keptBytes -= entry.bytes;
  }
}

/** What the API shows of a stored execution (history has its own route; the checkpoint and the abort are internal). */
export function executionView(exec: StoredExecution): ExecutionView {
  const { history: _history, historyIn: _historyIn, checkpoint: _checkpoint, abort: _abort, ...view } = exec;
  return view;
}

/** The view as JSON; an output already serialised by the caller goes in as that text, last. */
function viewJson(view: ExecutionView, outputJson: string | null): string {
  if (outputJson === null || !('output' in view)) return JSON.stringify(view);
  const { output: _output, ...rest } = view as ExecutionView & { output?: unknown };
  const head = JSON.stringify(rest);
  return `${head.slice(0, -1)},"output":${outputJson}}`;
}

function notFound(id: string): MfError {
  return new MfError('MF_EXECUTION_NOT_FOUND', `no execution with id "${id}" is known`, { executionId: id });
}

/**
 * A RUNNING execution that no store holds: what a host agent runs one Task hop of another host's execution on
 * (transport/journal.ts); its records travel back with the hop's result and are kept there.
 */
export function unstoredExecution(app: string, workflow: string | null, fn: string | null, received: number, id: string): StoredExecution {
  return {
    executionId: id,
    app,
    workflow,
    ...(fn !== null ? { function: fn } : {}),
    status: 'RUNNING',
    error: null,
    cause: null,
    t: { received, dispatched: 0, completed: null },
    records: [],
    history: [],
    historyIn: null,
    checkpoint: null,
    abort: new AbortController(),
  };
}
