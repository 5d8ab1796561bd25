/**
 * The engine in the sandbox (SAND's grouped design): the whole workflow runs in one sandbox of the app, whose agent
 * hands each state's output to the next function's worker on the sandbox's local bus. The agent reports each
 * top-level transition (a checkpoint); the newest one is kept with the execution and copied to the global bus off
 * the hot path. If the sandbox dies, the execution resumes from that checkpoint (or from the start) in another
 * sandbox, up to recoveryAttempts times; the caller sees one result.
 */
import { now } from '../../clock.js';
import type { GlobalBus } from '../../bus/global/index.js';
import type { Checkpoint, ExecutionResult } from '../../protocol.js';
import type { DeployedApp } from '../apps.js';
import type { ExecutionStore, StoredExecution } from '../executions.js';
import { resumePointMessage, TOPIC_CHECKPOINTS } from '../recovery.js';
import type { ExecutionPlacement } from './placement.js';

export class InSandboxPlacement implements ExecutionPlacement {
  readonly workflowsInSandbox = true;

  constructor(
    private readonly keepHistory: boolean,
    private readonly executions: ExecutionStore,
    private readonly bus: GlobalBus,
  ) {}

  async run(app: DeployedApp, exec: StoredExecution, input: unknown, startTime: string, inputJson?: string): Promise<ExecutionResult> {
    // Encoded once (from the text the input arrived as, when there is one), for every attempt: the frame's payload,
    // which the agent passes to the first Task without parsing it.
    const payload = Buffer.from(inputJson ?? JSON.stringify(input) ?? 'null');
    const done = await app.sandboxes.request(
      null,
      exec,
      (sandboxStart, attempt, sandboxId) => {
        // The history stays in the sandbox that runs the execution; a recovery moves it to the next one.
        if (this.keepHistory) exec.historyIn = sandboxId;
        const header = {
          t: 'execute' as const,
          id: exec.executionId,
          workflow: exec.workflow!,
          executionName: exec.executionId,
          startTime,
          sandboxStart,
          wantHistory: this.keepHistory,
          // A recovery: its input goes in the header (serialised now, once per recovery: not the hot path).
          ...(exec.checkpoint ? { resumeAt: exec.checkpoint } : {}),
          ...(attempt > 0 ? { attempt } : {}),
        };
        return { header, payload };
      },
      (attempt, cause) => exec.history.push({ t: now(), type: 'ExecutionRecovering', state: exec.checkpoint?.state ?? 'StartAt', attempt, cause }),
      // A stop reaches the agent running the execution, whose engine aborts it and tells its running invocations.
      exec.abort.signal,
    );
    app.collect(exec, done);
    return done.result;
  }

  checkpoints(items: Checkpoint[]): void {
    for (const { id, records, unusable, ...point } of items) {
      const exec = this.executions.running(id);
      if (!exec) continue;
      for (const record of records) exec.records.push(record); // no spread: a huge array overflows the stack
      if (unusable) continue;
      exec.checkpoint = point;
      // The global copy of the local bus's progress, off the hot path: the input goes in as the bytes the sandbox
      // framed (checked by the link), never serialised again.
      void this.bus.publish(TOPIC_CHECKPOINTS, id, resumePointMessage(point)).catch(() => undefined);
    }
  }
}
