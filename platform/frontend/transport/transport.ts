/**
 * The hop transport seam: how one Task hop (a function invocation on behalf of an execution) travels from the
 * workflow engine to a worker of its function, and how its result comes back. One file per variant:
 * direct.ts (straight over the sandbox link) and journal.ts (through the embedded global bus). The composition root
 * (start.ts) picks one from the resolved config.
 */
import { randomUUID } from 'node:crypto';
import { jsonBytes } from '../../asl/raw-json.js';
import { now } from '../../clock.js';
import type { DoneMessage } from '../../protocol.js';
import type { DeployedApp } from '../apps.js';
import type { StoredExecution } from '../executions.js';

/** One Task hop: the function, its input, and the state it runs for (null for a direct function invocation). */
export interface Hop {
  fn: string;
  input: unknown;
  /** The input as JSON text when the caller has it (a request's body): a transport that sends it sends this text. */
  inputJson?: string;
  state: string | null;
  /** Aborted when the hop's result is no longer wanted: the sandbox running it is told (docs/recovery.md). */
  signal?: AbortSignal;
}

export interface HopTransport {
  /** Runs `call` on a worker of `app` and resolves with the sandbox's answer; a platform fault rejects. */
  hop(app: DeployedApp, exec: StoredExecution, call: Hop): Promise<DoneMessage>;
  /** Stops taking hops and lets go of what the transport holds (not the global bus: the platform owns it). */
  close(): Promise<void>;
}

/**
 * The end of every transport: the hop runs on a sandbox of its function's unit, again on another sandbox if that one
 * dies, and what the sandbox reports is kept with the execution.
 */
export async function runHop(app: DeployedApp, exec: StoredExecution, call: Hop): Promise<DoneMessage> {
  // Encoded once for every attempt: the text the input came as, a previous hop's result as its own bytes, or serialised now.
  const payload = call.inputJson !== undefined ? Buffer.from(call.inputJson) : jsonBytes(call.input);
  const done = await app.sandboxes.request(
    call.fn,
    exec,
    (sandboxStart, attempt) => ({
      header: {
        t: 'invoke',
        id: randomUUID(),
        fn: call.fn,
        sandboxStart,
        executionId: exec.executionId,
        ...(call.state !== null ? { state: call.state } : {}),
        ...(attempt > 0 ? { attempt } : {}),
      },
      payload,
    }),
    (attempt, cause) => exec.history.push({ t: now(), type: 'TaskRecovering', state: call.state ?? call.fn, attempt, cause }),
    call.signal,
  );
  app.collect(exec, done);
  return done;
}
