/**
 * What a chaos run saw, and its counts (docs/experiments.md#chaos): one pure function the experiment's processing step
 * (from stored records) and the test (from the run itself) both use, so that the figure's numbers and the test's
 * assertions are the same numbers.
 */

/** The chain's states, in order: the output's `steps` must be exactly these. */
export const STEPS = ['S1', 'S2', 'S3'] as const;

export type KillKind = 'worker' | 'sandbox' | 'host' | 'frontend';

/** One SIGKILL: of what (`target`: a host or frontend name, or the kind), which pid, and when (ms since the first submission). */
export interface Kill {
  kind: KillKind;
  target: string;
  pid: number;
  plannedMs: number;
  atMs: number;
  /** When what was killed was running again (null: the platform replaces it by itself, workers and sandboxes). */
  restartedMs: number | null;
}

/** One execution as the caller saw it, and its steps as global storage saw them. */
export interface ChaosExecution {
  index: number;
  id: string;
  /** The frontend that accepted it. */
  frontend: string;
  /** ms since the first submission: sent (first attempt) and accepted. */
  sentAt: number;
  acceptedAt: number;
  /** Epoch ms (platform/clock.ts) when the final answers were read. */
  answeredAt: number;
  /** Its terminal status from the caller's view; `lost`: no frontend gave a terminal answer. */
  status: 'SUCCEEDED' | 'FAILED' | 'lost';
  /** A failure's (or a lost execution's) error code, else null. */
  error: string | null;
  cause: string | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  output: any;
  /** The output went through S1, S2, S3 once each, in order. */
  rightOutput: boolean;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  t: any;
  /** Frontends that gave a terminal answer. */
  terminalAnswers: number;
  /** Distinct completions among those answers (more than one: a duplicated output). */
  completions: number;
  /** Per step, how many times it ran (its counter under its idempotency key). */
  runs: number[];
  /** Per step, whether its side effect is in global storage. */
  effects: boolean[];
  /** The causes of its `ExecutionRecovering` events; null when no frontend gave its history. */
  recoveries: string[] | null;
}

export interface ChaosCounts {
  submitted: number;
  completed: number;
  failed: number;
  lost: number;
  duplicatedOutputs: number;
  /** Completed with an output whose steps are not S1, S2, S3 in order. */
  wrongOutputs: number;
  /** Step runs beyond the first, summed over all steps. */
  stepsRerun: number;
  stepRuns: number;
  steps: number;
  /** Steps with no side effect in global storage (each must run at least once). */
  missingSteps: number;
  takenOverFromFrontend: number;
  placedAgainAfterHost: number;
  historyUnavailable: number;
}

/** Whether an output went through every step once, in order. */
export function rightOutput(output: unknown): boolean {
  const steps = (output as { steps?: unknown } | null)?.steps;
  return Array.isArray(steps) && steps.length === STEPS.length && steps.every((s, i) => s === STEPS[i]);
}

export function chaosCounts(executions: readonly Pick<ChaosExecution, 'status' | 'rightOutput' | 'completions' | 'runs' | 'effects' | 'recoveries'>[]): ChaosCounts {
  const completed = executions.filter((e) => e.status === 'SUCCEEDED');
  const runs = executions.flatMap((e) => e.runs);
  return {
    submitted: executions.length,
    completed: completed.length,
    failed: executions.filter((e) => e.status === 'FAILED').length,
    lost: executions.filter((e) => e.status === 'lost').length,
    duplicatedOutputs: executions.filter((e) => e.completions > 1).length,
    wrongOutputs: completed.filter((e) => !e.rightOutput).length,
    stepsRerun: runs.reduce((sum, r) => sum + Math.max(0, r - 1), 0),
    stepRuns: runs.reduce((a, b) => a + b, 0),
    steps: executions.length * STEPS.length,
    missingSteps: executions.reduce((sum, e) => sum + e.effects.filter((x) => !x).length, 0),
    takenOverFromFrontend: executions.filter((e) => e.recoveries?.some((c) => c.includes('frontend'))).length,
    placedAgainAfterHost: executions.filter((e) => e.recoveries?.some((c) => c.includes('host'))).length,
    historyUnavailable: executions.filter((e) => e.recoveries === null).length,
  };
}
