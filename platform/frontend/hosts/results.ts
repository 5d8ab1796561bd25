/**
 * Finished executions on the broker, so that every frontend of it answers `GET /executions/{id}` (and its history)
 * with the same text, whichever frontend placed the execution (docs/distributed.md, "Results on any frontend"). The
 * frontend that placed an execution writes it once its own files are written (off the path: its callers are answered
 * from its memory, as before); a frontend that does not know an id reads it here. Object store `mfresults`: objects
 * `<id>.history` and then `<id>.view` (the answer, byte for byte), so a view found means the history is there too;
 * an object store takes a result of any size (it chunks). Each expires after RESULT_TTL_MS.
 */
import { nanos, type NatsConnection, type ObjectStore } from 'nats';
import { brokerToken } from '../../broker.js';
import { MfError } from '../../errors.js';
import { lazyBucket } from './bucket.js';

const BUCKET = 'mfresults'; // no '-': never an app's buckets (mf-<app>, mfobj-<app>)
/** How long the broker keeps a finished execution (each frontend also keeps its own, bounded by maxStoredExecutions). */
export const RESULT_TTL_MS = 7 * 24 * 60 * 60_000;

/** `engine`: an engine history a host agent put here when a frontend asked for it (histories.ts). */
export type ResultPart = 'view' | 'history' | 'engine';

export class BrokerResults {
  private readonly bucket = lazyBucket(`the bucket ${BUCKET}`, () => this.nc.jetstream().views.os(BUCKET, { replicas: this.replicas, ttl: nanos(RESULT_TTL_MS) }));

  constructor(
    private readonly nc: NatsConnection,
    private readonly replicas: number,
  ) {}

  /**
   * Keeps a finished execution: its history first, its view last (a view means both are whole). `historyIn` (the
   * history object's description) says where the engine's part of the history stayed, when not in `history`.
   */
  async put(executionId: string, view: string, history: string, historyIn: string | null = null): Promise<void> {
    await this.call(`keep execution "${executionId}"`, async (store) => {
      await store.putBlob({ name: objectName(executionId, 'history'), ...(historyIn !== null ? { description: historyIn } : {}) }, Buffer.from(history));
      await store.putBlob({ name: objectName(executionId, 'view') }, Buffer.from(view));
    });
  }

  /** Where the engine's part of a finished execution's history stayed (see put), or null. */
  async historyIn(executionId: string): Promise<string | null> {
    const info = await this.call(`read execution "${executionId}"`, async (store) => store.info(objectName(executionId, 'history')));
    return info?.description || null;
  }

  /** Whether the broker has that part of an execution. */
  async has(executionId: string, part: ResultPart): Promise<boolean> {
    return (await this.call(`read execution "${executionId}"`, async (store) => store.info(objectName(executionId, part)))) !== null;
  }

  /** Keeps an engine history a host agent read from its sandbox for a frontend that asked (histories.ts). */
  async putEngine(executionId: string, events: string): Promise<void> {
    await this.call(`keep the history of execution "${executionId}"`, async (store) => void (await store.putBlob({ name: objectName(executionId, 'engine') }, Buffer.from(events))));
  }

  /** One part of a finished execution as the text it was answered with, or null when the broker has none. */
  async get(executionId: string, part: ResultPart): Promise<string | null> {
    const bytes = await this.call(`read execution "${executionId}"`, async (store) => store.getBlob(objectName(executionId, part)));
    return bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  }

  private async call<T>(what: string, body: (store: ObjectStore) => Promise<T>): Promise<T> {
    try {
      return await body(await this.bucket());
    } catch (err) {
      if (err instanceof MfError) throw err;
      throw new MfError('MF_STORAGE_FAILED', `the broker could not ${what}: ${(err as Error).message}`);
    }
  }
}

function objectName(executionId: string, part: ResultPart): string {
  return `${brokerToken(executionId)}.${part}`;
}
