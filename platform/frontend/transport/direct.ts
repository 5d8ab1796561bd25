/**
 * The direct transport: a hop goes straight over the link to a sandbox of its function, and the answer comes back
 * on it. With the engine in the sandbox, hops between states never reach the frontend: they stay on the sandbox's
 * local bus; this transport carries only what starts on the frontend (direct invocations, host-side engines).
 */
import type { DoneMessage } from '../../protocol.js';
import type { DeployedApp } from '../apps.js';
import type { StoredExecution } from '../executions.js';
import { runHop, type Hop, type HopTransport } from './transport.js';

export class DirectTransport implements HopTransport {
  hop(app: DeployedApp, exec: StoredExecution, call: Hop): Promise<DoneMessage> {
    return runHop(app, exec, call);
  }

  async close(): Promise<void> {}
}
