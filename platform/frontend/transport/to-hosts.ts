/**
 * The transport of a frontend with remote hosts: a direct function invocation is placed on a host agent like an
 * execution (placement/on-hosts.ts holds the rule); workflow hops never pass here, since each execution's engine
 * runs on its host.
 */
import type { DoneMessage } from '../../protocol.js';
import type { DeployedApp } from '../apps.js';
import type { StoredExecution } from '../executions.js';
import type { OnHostsPlacement } from '../placement/on-hosts.js';
import type { Hop, HopTransport } from './transport.js';

export class ToHostsTransport implements HopTransport {
  constructor(private readonly hosts: OnHostsPlacement) {}

  async hop(app: DeployedApp, exec: StoredExecution, call: Hop): Promise<DoneMessage> {
    // The records (and history) come with the host's answer and are already kept with the execution.
    const result = await this.hosts.runFunction(app, exec, call.fn, call.input, call.inputJson);
    return { t: 'done', id: exec.executionId, result, records: [], logs: [] };
  }

  async close(): Promise<void> {
    this.hosts.close();
  }
}
