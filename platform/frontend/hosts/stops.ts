/**
 * StopExecution across hosts (docs/distributed.md, "Stops on hosts"). The frontend that placed an execution ends it
 * ABORTED at once, as a single platform does, and tells the host it placed it on, on the subject `mfstop.<hostId>`;
 * that host stops its own run of it (its engine makes no further transitions and tells its running invocations), or,
 * if the work has not reached it yet, answers it ABORTED without running it. Fire and forget, as a stop is on a single
 * platform: a host that is gone runs nothing to stop, and the answer a host sends afterwards is dropped, since the
 * execution has its answer already.
 */
import type { NatsConnection, Subscription } from 'nats';
import { JSONCodec } from 'nats';
import { brokerToken } from '../../broker.js';

/** What a stop carries: StopExecution's optional error and cause. */
export interface StopMessage {
  executionId: string;
  error: string | null;
  cause: string | null;
}

const codec = JSONCodec<StopMessage>();

function subject(hostId: string): string {
  return `mfstop.${brokerToken(hostId)}`;
}

export class HostStops {
  constructor(private readonly nc: NatsConnection) {}

  /** Host side: calls `stop` for every stop sent to this host; a message that does not parse is dropped. */
  serve(hostId: string, stop: (message: StopMessage) => void): { stop(): void } {
    const sub: Subscription = this.nc.subscribe(subject(hostId), {
      callback: (err, msg) => {
        if (err) return;
        let message: StopMessage;
        try {
          message = codec.decode(msg.data);
        } catch {
          return;
        }
        if (typeof message?.executionId === 'string') stop(message);
      },
    });
    return { stop: () => sub.unsubscribe() };
  }

  /** Frontend side: tells host `hostId` to stop an execution it runs (or is about to). */
  tell(hostId: string, message: StopMessage): void {
    this.nc.publish(subject(hostId), codec.encode(message));
  }
}
