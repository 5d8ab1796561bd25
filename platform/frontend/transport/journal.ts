/**
 * The journal transport (busMode global), as OpenWhisk routes work through Kafka: a hop is published to the global
 * bus, a dispatcher consumes it and runs it on a sandbox, and its result comes back over the bus. The bus here is
 * the embedded journal in the data folder or a broker; publisher and dispatcher are this process, a single platform
 * or one host agent (whose topics carry its host id: docs/distributed.md).
 */
import { randomUUID } from 'node:crypto';
import { now } from '../../clock.js';
import { MfError, toMfError, type ErrorBody } from '../../errors.js';
import type { DoneMessage } from '../../protocol.js';
import type { GlobalBus, Subscription } from '../../bus/global/index.js';
import type { AppRegistry, DeployedApp } from '../apps.js';
import type { ExecutionStore, StoredExecution } from '../executions.js';
import { runHop, type Hop, type HopTransport } from './transport.js';

const TOPIC_HOPS = 'hops';
const TOPIC_RESULTS = 'hop-results';

/** A host agent's hops stay its own: its topics carry its host id (a single platform's are the plain names). */
function scoped(topic: string, hostId: string | null): string {
  return hostId === null ? topic : `${topic}.${hostId}`;
}

type BusHop = Hop & { hopId: string; app: string; executionId: string };
type BusResult = { hopId: string; done: DoneMessage } | { hopId: string; error: ErrorBody };

export class JournalTransport implements HopTransport {
  /** Hops published to the bus, waiting for their result message. */
  private readonly waiting = new Map<string, { resolve(done: DoneMessage): void; reject(err: unknown): void }>();
  private consumers: Promise<Subscription[]> | null = null;
  private readonly hopsTopic: string;
  private readonly resultsTopic: string;

  constructor(
    private readonly bus: GlobalBus,
    private readonly apps: AppRegistry,
    private readonly executions: ExecutionStore,
    /** The host agent this transport runs in (null: a single platform). */
    hostId: string | null = null,
  ) {
    this.hopsTopic = scoped(TOPIC_HOPS, hostId);
    this.resultsTopic = scoped(TOPIC_RESULTS, hostId);
  }

  async hop(app: DeployedApp, exec: StoredExecution, call: Hop): Promise<DoneMessage> {
    await this.startConsumers();
    const hopId = randomUUID();
    const done = new Promise<DoneMessage>((resolve, reject) => this.waiting.set(hopId, { resolve, reject }));
    if (exec.t.dispatched === 0) exec.t.dispatched = now();
    // The signal stays here: a hop on the bus cannot be cancelled yet, so it runs until it answers or its function's
    // timeout ends it (docs/recovery.md).
    const { signal: _signal, ...wire } = call;
    // The hop id is the message id: a broker drops a replayed publish of the same hop (docs/distributed.md).
    await this.bus.publish<BusHop>(this.hopsTopic, exec.executionId, { hopId, app: app.name, executionId: exec.executionId, ...wire }, { id: hopId });
    return done;
  }

  async close(): Promise<void> {
    for (const sub of (await this.consumers?.catch(() => [])) ?? []) await sub.close();
  }

  private startConsumers(): Promise<Subscription[]> {
    this.consumers ??= Promise.all([
      // Acked when picked up (OpenWhisk's invoker commits on pickup): a hop is dispatched once, not redelivered mid-run.
      this.bus.subscribe<BusHop>(this.hopsTopic, 'dispatcher', (m) => {
        void this.dispatch(m.payload);
      }),
      this.bus.subscribe<BusResult>(this.resultsTopic, 'frontend', (m) => {
        const waiter = this.waiting.get(m.payload.hopId);
        if (!waiter) return;
        this.waiting.delete(m.payload.hopId);
        if ('done' in m.payload) waiter.resolve(m.payload.done);
        else waiter.reject(MfError.fromJSON(m.payload.error));
      }),
    ]);
    return this.consumers;
  }

  private async dispatch(hop: BusHop): Promise<void> {
    let result: BusResult;
    try {
      result = { hopId: hop.hopId, done: await runHop(this.apps.get(hop.app), this.executions.get(hop.executionId), hop) };
    } catch (err) {
      result = { hopId: hop.hopId, error: toMfError(err).toJSON() };
    }
    await this.bus.publish<BusResult>(this.resultsTopic, hop.executionId, result, { id: `${hop.hopId}:result` }).catch((err: unknown) => {
      const waiter = this.waiting.get(hop.hopId);
      this.waiting.delete(hop.hopId);
      waiter?.reject(err);
    });
  }
}
