/**
 * The execution placement seam: where the ASL engine that runs a workflow sits. One file per variant:
 * in-sandbox.ts (the sandbox agent runs it next to the workers: SAND's grouped design) and on-host.ts (the frontend
 * runs it and every Task is a hop through the hop transport). The composition root (start.ts) picks one from the
 * resolved config.
 */
import type { Checkpoint, ExecutionResult } from '../../protocol.js';
import type { DeployedApp } from '../apps.js';
import type { StoredExecution } from '../executions.js';

export interface ExecutionPlacement {
  /** Whether sandboxes carry the app's workflows and report checkpoints of the executions they run. */
  readonly workflowsInSandbox: boolean;
  /**
   * Runs `exec` (already stored as RUNNING) of `exec.workflow` from `input` to its result. A FAILED workflow resolves;
   * a platform fault (no sandbox could be started, recovery exhausted) rejects. A SUCCEEDED output may be a RawJson
   * (the bytes a sandbox framed, checked as JSON; `plain()` reads its value). `inputJson`: the input as the JSON
   * text it arrived as, when the caller has it; a placement that sends the input elsewhere sends this text.
   */
  run(app: DeployedApp, exec: StoredExecution, input: unknown, startTime: string, inputJson?: string): Promise<ExecutionResult>;
  /** Progress that sandboxes report for executions they run (only when workflowsInSandbox). */
  checkpoints(items: Checkpoint[]): void;
}
