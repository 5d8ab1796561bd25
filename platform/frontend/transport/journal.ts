/**
 * The journal transport (busMode global), as OpenWhisk routes work through Kafka: a hop is published to the global
 * bus, a dispatcher consumes it and runs it on a sandbox, and its result comes back over the bus. The bus here is
 * the embedded journal in the data folder or a broker; publisher and dispatcher are this process, a single platform
 * or one host agent (whose topics carry its host id: docs/distributed.md). A host agent given a hop peer (an option
 * for experiments, docs/distributed.md#hops-across-hosts) sends every second Task hop of an execution to the peer's
 * hops topic instead: the peer's agent runs it on its own sandbox and answers on this host's results topic.
 */
import { randomUUID } from 'node:crypto';
import { now } from '../../clock.js';
import { MfError, toMfError, type ErrorBody } from '../../errors.js';
import type { DoneMessage } from '../../protocol.js';
import type { GlobalBus, Subscription } from '../../bus/global/index.js';
import type { AppRegistry, DeployedApp } from '../apps.js';
import { unstoredExecution, type ExecutionStore, type StoredExecution } from '../executions.js';
import { runHop, type Hop, type HopTransport } from './transport.js';

const TOPIC_HOPS = 'hops';
const TOPIC_RESULTS = 'hop-results';

/** A host agent's hops stay its own: its topics carry its host id (a single platform's are the plain names). */
function scoped(topic: string, hostId: string | null): string {
  return hostId === null ? topic : `${topic}.${hostId}`;
}

/** `replyTo`: the host agent that sent the hop to this one (a peer's hop), whose results topic gets the answer. */
type BusHop = Hop & { hopId: string; app: string; executionId: string; replyTo?: string };
type BusResult = { hopId: string; done: DoneMessage } | { hopId: string; error: ErrorBody };

export class JournalTransport implements HopTransport {
  /** Hops published to the bus, waiting for their result message. */
  private readonly waiting = new Map<string, { resolve(done: DoneMessage): void; reject(err: unknown): void }>();
  private consumers: Promise<Subscription[]> | null = null;
  private readonly hopsTopic: string;
  private readonly resultsTopic: string;
  /** Task hops sent so far per execution (a hop peer takes every second one). */
  private readonly sent = new WeakMap<StoredExecution, number>();

  constructor(
    private readonly bus: GlobalBus,
    private readonly apps: AppRegistry,
    private readonly executions: ExecutionStore,
    /** The host agent this transport runs in (null: a single platform). */
    private readonly hostId: string | null = null,
    private readonly peer: HopPeer | null = null,
  ) {
    this.hopsTopic = scoped(TOPIC_HOPS, hostId);
    this.resultsTopic = scoped(TOPIC_RESULTS, hostId);
    // A host agent's dispatcher listens from the start: a peer may send it hops before it runs any execution itself.
    if (hostId !== null) void this.startConsumers().catch(() => undefined);
  }

  async hop(app: DeployedApp, exec: StoredExecution, call: Hop): Promise<DoneMessage> {
    await this.startConsumers();
    const hopId = randomUUID();
    const done = new Promise<DoneMessage>((resolve, reject) => this.waiting.set(hopId, { resolve, reject }));
    if (exec.t.dispatched === 0) exec.t.dispatched = now();
    // The signal stays here: a hop on the bus cannot be cancelled yet, so it runs until it answers or its function's
    // timeout ends it (docs/recovery.md).
    const { signal: _signal, ...wire } = call;
    const toPeer = this.toPeer(exec, call);
    const message: BusHop = { hopId, app: app.name, executionId: exec.executionId, ...wire, ...(toPeer !== null ? { replyTo: this.hostId! } : {}) };
    // The hop id is the message id: a broker drops a replayed publish of the same hop (docs/distributed.md).
    await this.bus.publish<BusHop>(toPeer ?? this.hopsTopic, exec.executionId, message, { id: hopId });
    if (toPeer === null) return done;
    // The peer kept its records with a passing execution of its own: they are this execution's.
    const answer = await done;
    app.collect(exec, answer);
    return answer;
  }

  /** The peer's hops topic when this Task hop goes to the peer (every second one of an execution), else null. */
  private toPeer(exec: StoredExecution, call: Hop): string | null {
    const peer = this.peer?.hostId ?? null;
    if (peer === null || this.hostId === null || call.state === null) return null;
    const n = this.sent.get(exec) ?? 0;
    this.sent.set(exec, n + 1);
    return n % 2 === 1 ? scoped(TOPIC_HOPS, peer) : null;
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
      result = { hopId: hop.hopId, done: hop.replyTo === undefined ? await runHop(this.apps.get(hop.app), this.executions.get(hop.executionId), hop) : await this.runPeerHop(hop) };
    } catch (err) {
      result = { hopId: hop.hopId, error: toMfError(err).toJSON() };
    }
    const resultsTopic = hop.replyTo === undefined ? this.resultsTopic : scoped(TOPIC_RESULTS, hop.replyTo);
    await this.bus.publish<BusResult>(resultsTopic, hop.executionId, result, { id: `${hop.hopId}:result` }).catch((err: unknown) => {
      const waiter = this.waiting.get(hop.hopId);
      this.waiting.delete(hop.hopId);
      waiter?.reject(err);
    });
  }

  /**
   * Another host's Task hop: its execution is not in this host's store, so the hop runs on a passing one, and its
   * records name this host (the sender keeps them with the execution). Its app is deployed here first if it is not.
   */
  private async runPeerHop(hop: BusHop): Promise<DoneMessage> {
    await this.peer?.appReady(hop.app);
    const exec = unstoredExecution(hop.app, null, hop.fn, now(), hop.executionId);
    const done = await runHop(this.apps.get(hop.app), exec, hop);
    for (const record of done.records) record.host = this.hostId!;
    return done;
  }
}

/** What a host agent's transport needs to send hops to a peer and to take a peer's (hosts/agent.ts). */
export interface HopPeer {
  /** The host agent that runs every second Task hop of this host's executions; null: none (this host takes peers' hops only). */
  hostId: string | null;
  /** Deploys an app on this host from its manifest on the broker unless it is deployed already. */
  appReady(app: string): Promise<unknown>;
}
