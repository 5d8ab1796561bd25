/**
 * The engine history of an execution that ran on a host agent, fetched from that host on demand, through the broker
 * (docs/distributed.md, "History of executions on hosts"). The history stays in the host's sandbox, as on a single
 * platform (docs/architecture.md#execution-history): it never rides in the host's answer. A frontend asks on the
 * subject `mfhistory.<hostId>` with the execution id; the host asks its sandbox, puts the events (of any size: the
 * object store chunks them, where a NATS message is limited to the server's max_payload) in `mfresults` as
 * `<id>.engine`, and answers with the kind of what it found. A host that is gone, or that started again since
 * (its sandboxes are new), has nothing: the frontend answers MF_HISTORY_GONE naming it.
 */
import type { NatsConnection, Subscription } from 'nats';
import { ErrorCode, JSONCodec } from 'nats';
import { brokerToken } from '../../broker.js';
import { MfError } from '../../errors.js';
import type { HistoryReply } from '../../protocol.js';
import type { BrokerResults } from './results.js';

/**
 * How long a frontend waits for a host's answer: the host asks a local sandbox (milliseconds) and then writes the
 * events to the object store, which for a history of tens of MiB takes seconds on a busy machine.
 */
const ASK_TIMEOUT_MS = 120_000;
/** The prefix of a `historyIn` that names a host rather than a sandbox of this process. */
const ON_HOST = 'host:';

type Ask = { executionId: string };
type Told = { kind: 'events' } | Exclude<HistoryReply, { kind: 'events' }>;
const asks = JSONCodec<Ask>();
const tells = JSONCodec<Told>();

/** The `historyIn` of an execution whose engine history stayed on host `hostId`. */
export function onHost(hostId: string): string {
  return ON_HOST + hostId;
}

/** The host a `historyIn` names, or null when it names a sandbox (or nothing). */
export function hostOf(historyIn: string | null): string | null {
  return historyIn?.startsWith(ON_HOST) ? historyIn.slice(ON_HOST.length) : null;
}

function subject(hostId: string): string {
  return `mfhistory.${brokerToken(hostId)}`;
}

export class HostHistories {
  constructor(
    private readonly nc: NatsConnection,
    private readonly results: BrokerResults,
  ) {}

  /**
   * Host side: answers asks for this host's executions with `engineHistory` (what its sandbox keeps). A finished
   * execution's history does not change: once its events are in the store they are not read and written again.
   */
  serve(hostId: string, engineHistory: (executionId: string) => Promise<HistoryReply>, finished: (executionId: string) => boolean): { stop(): void } {
    const sub: Subscription = this.nc.subscribe(subject(hostId), {
      callback: (err, msg) => {
        if (err) return;
        void (async (): Promise<Told> => {
          const { executionId } = asks.decode(msg.data);
          if (finished(executionId) && (await this.results.has(executionId, 'engine'))) return { kind: 'events' };
          const reply = await engineHistory(executionId);
          if (reply.kind !== 'events') return reply;
          await this.results.putEngine(executionId, reply.json);
          return { kind: 'events' };
        })()
          .catch((): Told => ({ kind: 'unknown' }))
          .then((told) => msg.respond(tells.encode(told)));
      },
    });
    return { stop: () => sub.unsubscribe() };
  }

  /**
   * Frontend side: what host `hostId` keeps of the execution's engine history; a host that is gone has none. A live
   * host that does not answer in time is a broker failure (MF_STORAGE_FAILED), not a history that is gone.
   */
  async ask(hostId: string, executionId: string): Promise<HistoryReply> {
    let told: Told;
    try {
      told = tells.decode((await this.nc.request(subject(hostId), asks.encode({ executionId }), { timeout: ASK_TIMEOUT_MS })).data);
    } catch (err) {
      if ((err as { code?: string }).code === ErrorCode.NoResponders) return { kind: 'unknown' };
      throw new MfError('MF_STORAGE_FAILED', `host agent "${hostId}" did not send the history of execution "${executionId}" within ${ASK_TIMEOUT_MS} ms: ${(err as Error).message}`, { host: hostId, executionId });
    }
    if (told.kind !== 'events') return told;
    const json = await this.results.get(executionId, 'engine');
    return json === null ? { kind: 'unknown' } : { kind: 'events', json };
  }
}
