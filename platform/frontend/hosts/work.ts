/**
 * What frontends and host agents say to each other on the broker (docs/distributed.md, "Host agents and frontends").
 * A frontend publishes each execution it places to the chosen host's work topic; the host agent runs it whole and
 * publishes its answer, keyed by the execution id, to the results topic, which every frontend reads with a consumer
 * group of its own and keeps the answers it waits for.
 */
import type { ErrorBody } from '../../errors.js';
import { withJsonField, type JsonText } from '../../json-text.js';
import type { ExecutionResult, HistoryEvent, ResumePoint } from '../../protocol.js';
import type { InvocationRecord } from '../../records.js';

/** One host's work: a topic of its own, so that its durable consumer takes only what was placed on it. */
export function workTopic(hostId: string): string {
  return `work.${hostId}`;
}

/** The consumer group of a host agent on its work topic. */
export const HOST_GROUP = 'host';

/** Every host agent's answers. */
export const TOPIC_RESULTS = 'execution-results';

/** The consumer group of one frontend on the results topic. */
export function frontendGroup(frontendId: string): string {
  return `frontend-${frontendId}`;
}

/** An execution placed on a host: a workflow's (`workflow`) or a direct function invocation (`fn`). */
export interface Work {
  executionId: string;
  app: string;
  workflow: string | null;
  fn: string | null;
  input: unknown;
  received: number;
  startTime: string;
  /** Where to resume: the newest checkpoint of a run on a host that was lost (null: from the start). */
  checkpoint: ResumePoint | null;
  /** 0 for the first placement, n for the n-th after a host was lost. */
  attempt: number;
}

/** A placement's message id: JetStream keeps one message per id, so a replayed publish of a placement is not a second one. */
export function workId(executionId: string, attempt: number): string {
  return `${executionId}:${attempt}`;
}

/** The message id of a host's answer to one placement. */
export function resultId(executionId: string, attempt: number): string {
  return `${executionId}:${attempt}:result`;
}

/**
 * A placement as it goes on the broker: the head serialised, the input spliced in as the JSON text it arrived as
 * (the request's body), so the input is never serialised on the way to the host.
 */
export function workMessage(head: Omit<Work, 'input'>, inputJson: string): JsonText {
  return withJsonField(head, 'input', inputJson);
}

/** A host agent's answer: the execution's result with what its sandboxes reported, or the platform fault that ended it. */
export type WorkResult = { executionId: string; attempt: number; host: string } & (
  /** `historyKept`: the engine's history stayed in the host's sandbox (fetched on demand, hosts/histories.ts). */
  | { result: ExecutionResult; records: InvocationRecord[]; history: HistoryEvent[]; historyKept?: boolean }
  | { error: ErrorBody }
);
