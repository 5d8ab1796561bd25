/**
 * What a restarted platform reads back from the global bus (docs/distributed.md, "Restart and recovery"). Each
 * accepted async execution is journalled on the `executions` topic, keyed by its id: an `accepted` message (what
 * it takes to run it again) before the caller is answered, and a `finished` message once its result is on disk.
 * The sandboxes' checkpoints are on the `checkpoints` topic under the same key. Reading both back tells which
 * executions had not finished when the platform died, and where each one stood (finished ones, sync or async, are
 * in the execution store's files). Any GlobalBus provides this: the topics, keys and `read()` are the whole contract.
 */
import { RawJson } from '../asl/raw-json.js';
import type { GlobalBus } from '../bus/global/index.js';
import { withJsonField, type JsonText } from '../json-text.js';
import type { ResumePoint } from '../protocol.js';

export const TOPIC_EXECUTIONS = 'executions';
export const TOPIC_CHECKPOINTS = 'checkpoints';

/** What an async execution needs to run again after a restart: the same id, app, workflow and input. */
export interface AcceptedExecution {
  t: 'accepted';
  app: string;
  workflow: string;
  input: unknown;
  received: number;
  startTime: string;
  /** The frontend that accepted it, when several share the broker (`hosts: remote`); absent for a single platform. */
  frontend?: string;
  /** That frontend's life (hosts/frontends.ts): a later life of the same frontend is another owner. */
  generation?: string;
}

export type ExecutionEvent = AcceptedExecution | { t: 'finished' };

/** The message id of an execution's `accepted` event (a broker releases a large input by it once it finished). */
export function acceptedId(executionId: string): string {
  return `${executionId}:accepted`;
}

/** An `accepted` event as it is journalled: the input spliced in as the JSON text it arrived as, not serialised again. */
export function acceptedMessage(head: Omit<AcceptedExecution, 'input'>, inputJson: string): JsonText {
  return withJsonField(head, 'input', inputJson);
}

/**
 * A checkpoint as it is journalled: an input that came as bytes from a sandbox (a RawJson) is spliced in as their
 * text, not serialised again; any other is serialised with the rest, once.
 */
export function resumePointMessage(point: ResumePoint): ResumePoint | JsonText {
  if (!(point.input instanceof RawJson)) return point;
  const { input, ...head } = point;
  return withJsonField(head, 'input', input.text);
}

/** An execution that was running when the platform died, with its newest checkpoint (null: from the start). */
export interface InterruptedExecution extends AcceptedExecution {
  id: string;
  checkpoint: ResumePoint | null;
}

const PAGE = 1000;

/**
 * Reads the execution journal and the checkpoints back: the executions that were accepted and had not finished, in
 * acceptance order, each with its newest checkpoint. `mine` says which accepted executions the reader resumes: a
 * single platform those without a frontend, a remote frontend's takeover those of frontends (hosts/takeover.ts).
 * `onDisk` holds the ids whose results the execution store has: such an execution finished even if its `finished`
 * message was lost in the crash; one marked finished whose files are gone was forgotten by the count bound and stays
 * forgotten.
 */
export async function readInterrupted(bus: GlobalBus, onDisk: ReadonlySet<string>, mine: (accepted: AcceptedExecution) => boolean = acceptedHere): Promise<InterruptedExecution[]> {
  const accepted = new Map<string, AcceptedExecution>();
  const finishedMarks = new Set<string>();
  await readAll<ExecutionEvent>(bus, TOPIC_EXECUTIONS, (key, event) => {
    if (event.t !== 'accepted') finishedMarks.add(key);
    else if (mine(event)) accepted.set(key, event);
  });
  const open = new Map<string, InterruptedExecution>();
  for (const [id, event] of accepted) {
    if (!onDisk.has(id) && !finishedMarks.has(id)) open.set(id, { ...event, id, checkpoint: null });
  }
  if (open.size > 0) {
    // Newest wins: checkpoints of one key are in publish order.
    await readAll<ResumePoint>(bus, TOPIC_CHECKPOINTS, (key, point) => {
      const exec = open.get(key);
      if (exec) exec.checkpoint = point;
    });
  }
  return [...open.values()];
}

/** A single platform's own executions: those no frontend of a broker accepted. */
export function acceptedHere(accepted: AcceptedExecution): boolean {
  return accepted.frontend === undefined;
}

async function readAll<T>(bus: GlobalBus, topic: string, visit: (key: string, payload: T) => void): Promise<void> {
  for (let from = 0; ; ) {
    const page = await bus.read<T>(topic, { fromOffset: from, limit: PAGE });
    for (const m of page) visit(m.key, m.payload);
    if (page.length < PAGE) return;
    from = page[page.length - 1]!.offset + 1;
  }
}
