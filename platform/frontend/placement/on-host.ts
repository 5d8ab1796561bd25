/**
 * The engine on the host: the frontend interprets the workflow, and every Task is a hop to a sandbox that holds its
 * function, through the hop transport (the container-per-function baseline's way, and any preset whose sandboxes
 * cannot hold the whole app).
 */
import { loadStateMachine, runExecution, TaskFailure, type ExecutionLimits, type StateMachine, type TaskCall } from '../../asl/index.js';
import { now } from '../../clock.js';
import type { Checkpoint, ExecutionResult, HistoryEvent } from '../../protocol.js';
import type { DeployedApp } from '../apps.js';
import type { StoredExecution } from '../executions.js';
import { runSessionTask } from '../../sessions/task.js';
import type { SessionService } from '../sessions.js';
import type { HopTransport } from '../transport/transport.js';
import type { ExecutionPlacement } from './placement.js';

export class OnHostPlacement implements ExecutionPlacement {
  readonly workflowsInSandbox = false;
  /** State machines by app and workflow, loaded on first use. */
  private readonly machines = new WeakMap<DeployedApp, Map<string, StateMachine>>();

  constructor(
    private readonly keepHistory: boolean,
    private readonly transport: HopTransport,
    private readonly limits: ExecutionLimits,
    private readonly sessions: SessionService,
  ) {}

  async run(app: DeployedApp, exec: StoredExecution, input: unknown, startTime: string): Promise<ExecutionResult> {
    const workflow = exec.workflow!;
    const machine = this.machine(app, workflow);
    exec.t.dispatched = now();
    return runExecution(machine, input, {
      // Hook: call.signal is aborted when the Task's result is no longer wanted (stop, timeout, a failed sibling);
      // the hop in flight runs on until the transport can carry that abort to the invocation.
      invoke: async (call: TaskCall) => {
        // The call's signal aborts on a stop, a Task timeout or a failed sibling: the hop's sandbox is told.
        const done = await this.transport.hop(app, exec, { fn: call.functionName, input: call.input, state: call.stateName, signal: call.signal });
        if (done.result.status === 'FAILED') throw new TaskFailure(done.result.error ?? 'States.TaskFailed', done.result.cause ?? '');
        return done.result.output;
      },
      integrate: (call) => runSessionTask(this.sessions.tasks(app.name), call),
      executionId: exec.executionId,
      executionName: exec.executionId,
      startTime,
      stateMachineName: `${app.name}-${workflow}`,
      signal: exec.abort.signal,
      limits: this.limits,
      ...(this.keepHistory ? { onEvent: (e: HistoryEvent) => exec.history.push(e) } : {}),
    });
  }

  /** Sandboxes hold no workflows under this placement, so none reports progress. */
  checkpoints(_items: Checkpoint[]): void {}

  private machine(app: DeployedApp, workflow: string): StateMachine {
    let byName = this.machines.get(app);
    if (!byName) this.machines.set(app, (byName = new Map()));
    let machine = byName.get(workflow);
    if (!machine) {
      machine = loadStateMachine(app.prepared.workflows[workflow], workflow);
      byName.set(workflow, machine);
    }
    return machine;
  }
}
