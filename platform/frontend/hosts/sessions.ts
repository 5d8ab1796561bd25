/**
 * Sessions on host agents (docs/distributed.md, "Sessions on hosts"): where each session runs, and how a frontend
 * or another host reaches it. A session lives on one host agent for its whole life; the KV bucket `mfsessions`
 * holds, per session (key `<app>.<session id>`, each escaped by brokerToken, so an id from a URL is never a bad key
 * and an app's sessions are listed without reading the others'), its host (and that host's life, `startedAt`), its
 * state as it started and its final state once it ended.
 * Everything asked of a live session goes to its host by NATS request/reply on `mf.sessions.<hostId>`, which only
 * that host answers; a host that does not answer and is gone from the host registry (or lives again with another
 * `startedAt`) has lost its sessions.
 */
import { JSONCodec, type KV, type NatsConnection } from 'nats';
import { brokerToken } from '../../broker.js';
import { MfError, toMfError, type ErrorBody } from '../../errors.js';
import type { SessionRecord, SessionState } from '../../sessions/types.js';
import { lazyBucket } from './bucket.js';

const BUCKET = 'mfsessions'; // no '-': never an app's buckets (mf-<app>)
/** How long the broker remembers a session (running or ended): a session outliving it is found no more. */
export const SESSION_TTL_MS = 7 * 24 * 60 * 60_000;
/** A request to a host is answered within this (plus the op's own wait, for `receive`). */
export const HOST_REPLY_MS = 15_000;

/** Where a session runs, and how it ended. */
export interface SessionEntry {
  app: string;
  hostId: string;
  /** The life of the host agent that runs it: a host started again with the same id has lost it. */
  hostStartedAt: number;
  /** Its state as it started (null while it starts), then its final state. */
  state: SessionState | null;
  ended: boolean;
}

/** What a frontend or another host asks of a session's host. */
export type HostSessionRequest =
  | { op: 'start'; app: string; body: unknown }
  | { op: 'state' | 'records'; app: string; sessionId: string }
  | { op: 'list'; app: string }
  /** `json`: the message as the JSON text it arrived as, never serialised again. */
  /** The message follows the head as the JSON text it was serialised to once, at the frontend. */
  | { op: 'send'; app: string; sessionId: string; target: unknown }
  | { op: 'receive'; app: string; sessionId: string; count: number; timeoutMs: number }
  | { op: 'stop'; app: string; sessionId: string; reason: string }
  /** A pipe from another host to an instance here: answered with this host's pipe listener and a one-shot token. */
  | { op: 'pipe-export'; app: string; sessionId: string; instance: string };

/** Where another host's relay connects for a pipe (hosts/pipe-listener.ts). */
export interface PipeExport {
  host: string;
  port: number;
  token: string;
  peer: string;
}

/** JSON text a host answers as it is (a receive's messages, spliced by the registry). */
export class HostAnswerText {
  constructor(readonly text: string) {}
}

/** A host's answer: its value as JSON text, or the typed error it failed with. */
export type HostAnswer = { ok: true; text: string } | { ok: false; error: ErrorBody };

const entryCodec = JSONCodec<SessionEntry>();

/*
 * On the wire a request is its head as one line of JSON, then the payload's JSON text as it is; an answer is
 * `{"ok":true}` and a line with the value's text, or the error as one line. So a message and a receive's messages
 * cross the broker as the text they are, never serialised again.
 */
function encodeRequest(req: HostSessionRequest, payload: string): Uint8Array {
  return Buffer.from(`${JSON.stringify(req)}\n${payload}`);
}

function decodeRequest(data: Uint8Array): { req: HostSessionRequest; payload: string } {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  const nl = text.indexOf('\n');
  if (nl < 0) throw new Error('no newline after the head');
  return { req: JSON.parse(text.slice(0, nl)) as HostSessionRequest, payload: text.slice(nl + 1) };
}

function encodeReply(answer: HostAnswer): Uint8Array {
  return Buffer.from(answer.ok ? `{"ok":true}\n${answer.text}` : JSON.stringify(answer));
}

function decodeReply(data: Uint8Array): HostAnswer {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  const nl = text.indexOf('\n');
  if (nl >= 0) return { ok: true, text: text.slice(nl + 1) };
  return JSON.parse(text) as HostAnswer;
}

function key(app: string, sessionId: string): string {
  return `${brokerToken(app)}.${brokerToken(sessionId)}`;
}

export function sessionSubject(hostId: string): string {
  return `mf.sessions.${hostId}`;
}

export class SessionDirectory {
  private readonly kv = lazyBucket(`the bucket ${BUCKET}`, () => this.nc.jetstream().views.kv(BUCKET, { history: 1, replicas: this.replicas, ttl: SESSION_TTL_MS }));

  constructor(
    private readonly nc: NatsConnection,
    private readonly replicas: number,
  ) {}

  /** Writes where a session runs (before it starts, so that it is never running unfound) or how it ended. */
  async put(sessionId: string, entry: SessionEntry): Promise<void> {
    await this.call(`record session "${sessionId}"`, async (kv) => kv.put(key(entry.app, sessionId), entryCodec.encode(entry)));
  }

  async get(app: string, sessionId: string): Promise<{ entry: SessionEntry; revision: number } | null> {
    return this.call(`read session "${sessionId}"`, async (kv) => {
      const e = await kv.get(key(app, sessionId));
      return e?.operation === 'PUT' ? { entry: entryCodec.decode(e.value), revision: e.revision } : null;
    });
  }

  /**
   * Records a live session as ended unless its entry moved since `revision` (its host wrote the real end first):
   * exactly one writer wins, and the answer is the entry as it stands after.
   */
  async endIfUnchanged(sessionId: string, revision: number, entry: SessionEntry): Promise<SessionEntry> {
    return this.call(`end session "${sessionId}"`, async (kv) => {
      try {
        await kv.update(key(entry.app, sessionId), entryCodec.encode(entry), revision);
        return entry;
      } catch {
        const now = await kv.get(key(entry.app, sessionId));
        return now?.operation === 'PUT' ? entryCodec.decode(now.value) : entry;
      }
    });
  }

  /** The app's sessions the broker remembers (keys first, values after: a slow reader loses the rest of a listing). */
  async all(app: string): Promise<Array<{ sessionId: string; entry: SessionEntry; revision: number }>> {
    return this.call('list sessions', async (kv) => {
      const keys: string[] = [];
      for await (const k of await kv.keys(`${brokerToken(app)}.*`)) keys.push(k);
      const out: Array<{ sessionId: string; entry: SessionEntry; revision: number }> = [];
      for (const e of await Promise.all(keys.map((k) => kv.get(k)))) {
        if (e?.operation !== 'PUT') continue;
        const entry = entryCodec.decode(e.value);
        if (entry.state !== null && entry.app === app) out.push({ sessionId: entry.state.sessionId, entry, revision: e.revision });
      }
      return out;
    });
  }

  async remove(app: string, sessionId: string): Promise<void> {
    await this.call(`forget session "${sessionId}"`, async (kv) => kv.delete(key(app, sessionId)));
  }

  /**
   * Answers the requests for this host's sessions until the returned stop is called. `handle` answers a value (sent
   * as JSON) or a HostAnswerText (JSON text sent as it is, never serialised again).
   */
  serve(hostId: string, handle: (req: HostSessionRequest, payload: string) => Promise<unknown>): { stop(): void } {
    const sub = this.nc.subscribe(sessionSubject(hostId), {
      callback: (err, msg) => {
        if (err) return;
        let req: HostSessionRequest;
        let payload: string;
        try {
          ({ req, payload } = decodeRequest(msg.data));
        } catch (e) {
          msg.respond(encodeReply({ ok: false, error: new MfError('MF_BAD_REQUEST', `a session request that does not parse: ${(e as Error).message}`).toJSON() }));
          return;
        }
        void handle(req, payload).then(
          (value) => msg.respond(encodeReply({ ok: true, text: value instanceof HostAnswerText ? value.text : (JSON.stringify(value) ?? 'null') })),
          (e: unknown) => msg.respond(encodeReply({ ok: false, error: toMfError(e).toJSON() })),
        );
      },
    });
    return { stop: () => sub.unsubscribe() };
  }

  /**
   * Asks a host; `payload` is JSON text carried after the request as it is (a message). Resolves with its answer as
   * JSON text, or with `unanswered` when no process serves the host's subject (gone, or not subscribed yet) or it did
   * not answer within the bound: the caller decides from the registry whether the host is lost.
   */
  async ask(hostId: string, req: HostSessionRequest, options: { payload?: string; waitMs?: number } = {}): Promise<HostAnswer | 'unanswered'> {
    try {
      const msg = await this.nc.request(sessionSubject(hostId), encodeRequest(req, options.payload ?? ''), { timeout: HOST_REPLY_MS + (options.waitMs ?? 0) });
      return decodeReply(msg.data);
    } catch (err) {
      const code = (err as { code?: string }).code;
      // 503: no responders; TIMEOUT: none answered in time. Anything else (the connection closed) is the broker's.
      if (code === '503' || code === 'TIMEOUT') return 'unanswered';
      throw new MfError('MF_BROKER_UNREACHABLE', `the broker could not carry a request to host "${hostId}": ${(err as Error).message}`, { hostId });
    }
  }

  private async call<T>(what: string, body: (kv: KV) => Promise<T>): Promise<T> {
    try {
      return await body(await this.kv());
    } catch (err) {
      if (err instanceof MfError) throw err;
      throw new MfError('MF_STORAGE_FAILED', `the broker could not ${what}: ${(err as Error).message}`);
    }
  }
}

/** The final state of a session whose host was lost: FAILED, naming the host, with no instances left. */
export function lostState(sessionId: string, entry: SessionEntry, why: string): SessionState {
  const t = new Date().toISOString();
  const started = entry.state;
  return {
    sessionId,
    app: entry.app,
    sandboxId: started?.sandboxId ?? '',
    status: 'FAILED',
    reason: `host-lost: ${why} (MF_HOST_LOST)`,
    startedAt: started?.startedAt ?? t,
    endedAt: t,
    policy: started?.policy ?? { onFailure: 'fail', maxRestarts: 0, heartbeatSeconds: null, maxLifetimeSeconds: 0, idleTimeoutSeconds: 0, maxMessageBytes: 0, maxBacklog: 0 },
    instances: (started?.instances ?? []).map((i) => ({ ...i, status: 'failed' as const, pid: null })),
    messages: started?.messages ?? { sent: 0, delivered: 0, waitingForClient: 0, droppedForClient: 0 },
  };
}

/** The one record a lost session leaves (the rest were on its host). */
export function lostRecord(state: SessionState): SessionRecord {
  return { kind: 'lifecycle', sessionId: state.sessionId, instance: null, event: 'ended', reason: state.reason, t: Date.parse(state.endedAt ?? '') || Date.now() };
}
