/**
 * Payloads too large for one NATS message travel by reference (docs/distributed.md, "Large payloads"). A broker
 * refuses a message over its `max_payload` (1 MiB by default; read from the server's INFO, never assumed), so the
 * bus puts such a payload's bytes in one JetStream object store, `mfpayloads`, and publishes a small message whose
 * header names the object; a receiver fetches it. An object is deleted by whoever no longer needs it (the host once
 * it answered the work, the frontend once it holds the answer: GlobalBus.release); every object also expires after
 * PAYLOAD_TTL_MS, which bounds what a process that died before releasing leaves behind.
 */
import { headers, nanos, type MsgHdrs, type NatsConnection, type ObjectStore } from 'nats';
import { brokerToken } from '../../broker.js';
import { MfError } from '../../errors.js';

/** The object store of the payloads that travel by reference. */
export const PAYLOAD_BUCKET = 'mfpayloads';
/** How long an object outlives its message at most when nobody releases it. */
export const PAYLOAD_TTL_MS = 24 * 60 * 60_000;
/** The header of a message whose payload is an object. */
export const PAYLOAD_HEADER = 'Mf-Payload-Object';
/** Room left in a message for its headers (the message id, the reference): a payload above max_payload minus this goes by reference. */
const HEADER_ROOM = 4096;
/**
 * How long one chunk's store may take to be acknowledged. An object's chunks are sent at once, so on a busy broker
 * the last ones wait behind the first: the 5 s of a small message would fail a large payload that is merely slow.
 */
const CHUNK_ACK_TIMEOUT_MS = 60_000;

export class LargePayloads {
  private store: Promise<ObjectStore> | null = null;
  /** Payloads above this many bytes travel by reference. */
  readonly limit: number;

  /**
   * `nc`: best a connection of its own (global-layer.ts opens one), so that heartbeats and small messages never
   * queue behind megabytes of chunks on one socket.
   */
  constructor(
    private readonly nc: NatsConnection,
    private readonly replicas: number,
  ) {
    // The server announces its limit in INFO; the client refuses a larger message before sending it.
    this.limit = Math.max(1024, nc.info!.max_payload - HEADER_ROOM);
  }

  /** The object name of one message's payload: its topic, key and id, so whoever knows the message can release it. */
  static objectName(topic: string, key: string, id: string): string {
    return `${brokerToken(topic)}.${brokerToken(key)}.${brokerToken(id)}`;
  }

  /** Stores `bytes` under `name` and returns the headers of the message that names it. */
  async put(name: string, bytes: Uint8Array): Promise<MsgHdrs> {
    // Chunks as large as a message may be: a few messages per payload rather than one per 128 KiB.
    await (await this.bucket()).putBlob({ name, options: { max_chunk_size: this.limit } }, bytes);
    const h = headers();
    h.set(PAYLOAD_HEADER, name);
    return h;
  }

  /** The object a message names; MF_PAYLOAD_LOST when it is gone (released, or expired). */
  async get(name: string, where: string): Promise<Uint8Array> {
    const bytes = await (await this.bucket()).getBlob(name);
    if (bytes === null) {
      throw new MfError('MF_PAYLOAD_LOST', `the payload of ${where} travelled by reference and its object "${name}" is gone (released, or older than ${PAYLOAD_TTL_MS / 3_600_000} h)`, { object: name });
    }
    return bytes;
  }

  /** Deletes an object; one that is not there (released already, expired) is no fault. */
  async delete(name: string): Promise<void> {
    await (await this.bucket()).delete(name);
  }

  /** The object names of the bucket (for tests and inspection). */
  async names(): Promise<string[]> {
    return (await (await this.bucket()).list()).filter((o) => !o.deleted).map((o) => o.name);
  }

  private bucket(): Promise<ObjectStore> {
    this.store ??= this.nc.jetstream({ timeout: CHUNK_ACK_TIMEOUT_MS }).views.os(PAYLOAD_BUCKET, { replicas: this.replicas, ttl: nanos(PAYLOAD_TTL_MS) });
    this.store.catch(() => (this.store = null));
    return this.store;
  }
}

/** The object a message names, if its payload travelled by reference. */
export function payloadObject(h: MsgHdrs | undefined): string | null {
  return h?.get(PAYLOAD_HEADER) || null;
}
