/**
 * The deployed apps: each one's prepared code, its sandboxes and its logs, by name.
 */
import type { AppSummary } from '../api.js';
import { now } from '../clock.js';
import { MfError } from '../errors.js';
import type { DoneMessage, LogLine } from '../protocol.js';
import type { PreparedApp } from './deploy.js';
import type { StoredExecution } from './executions.js';
import type { AppSandboxes } from './sandboxes.js';

/** A log line as the frontend keeps it: attributed to its invocation, function and execution. */
export type AppLogLine = LogLine & { invocationId: string; function: string; executionId: string };

export class DeployedApp {
  readonly deployedAt = new Date().toISOString();
  readonly logs: AppLogLine[] = [];

  constructor(
    readonly prepared: PreparedApp,
    readonly sandboxes: AppSandboxes,
    private readonly maxLogLines: number,
  ) {}

  get name(): string {
    return this.prepared.name;
  }

  /** Keeps what a sandbox reported for an execution: records and logs (its history stays in the sandbox). */
  collect(exec: StoredExecution, done: DoneMessage): void {
    // Appended one by one: a spread of a huge array (a 100,000-item Map's records) overflows the stack.
    appendAll(exec.records, done.records);
    if (done.logs.length === 0) return;
    for (const line of done.logs) this.logs.push({ ...line, executionId: exec.executionId });
    this.trimLogs();
  }

  /**
   * Keeps a line the app's sandbox printed outside any invocation's captured log (a process it spawned, a direct
   * write to stdout, a worker's crash report): it belongs to the app, not to the platform's own output.
   */
  keepOutput(message: string, stream: 'stdout' | 'stderr'): void {
    this.logs.push({ t: now(), level: stream === 'stderr' ? 'error' : 'info', message, invocationId: '', function: '', executionId: '' });
    this.trimLogs();
  }

  private trimLogs(): void {
    if (this.logs.length > this.maxLogLines) this.logs.splice(0, this.logs.length - this.maxLogLines);
  }

  summary(): AppSummary {
    const { prepared } = this;
    return {
      name: prepared.name,
      functions: prepared.functions.map((f) => ({ name: f.name, handler: f.handler, memoryMB: f.memoryMB, timeoutSeconds: f.timeoutMs / 1000 })),
      workflows: Object.keys(prepared.workflows),
      sandboxes: this.sandboxes.live().map((link) => ({
        id: link.id,
        pid: link.sandbox.pid,
        agentPid: link.agentPid,
        backend: link.sandbox.backend,
        ...(link.sandbox.containerId ? { containerId: link.sandbox.containerId } : {}),
        functions: link.functions,
        createdAt: new Date(link.createdAt).toISOString(),
      })),
      deployedAt: this.deployedAt,
    };
  }
}

function appendAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}

/** The apps by name; a lookup of an unknown name is a typed 404. */
export class AppRegistry {
  private readonly apps = new Map<string, DeployedApp>();

  get size(): number {
    return this.apps.size;
  }

  has(name: string): boolean {
    return this.apps.has(name);
  }

  get(name: string): DeployedApp {
    const app = this.apps.get(name);
    if (!app) throw new MfError('MF_APP_NOT_FOUND', `no app named "${name}" is deployed`, { app: name });
    return app;
  }

  add(app: DeployedApp): void {
    this.apps.set(app.name, app);
  }

  remove(name: string): void {
    this.apps.delete(name);
  }

  all(): DeployedApp[] {
    return [...this.apps.values()];
  }
}
