/**
 * From what an OpenFaaS answer carries to an InvocationRecord: the gateway's `X-Call-Id` and `X-Start-Time`
 * (nanoseconds since the epoch, openfaas/faas gateway/handlers/callid_middleware.go), the watchdog's
 * `X-Duration-Seconds`, and the function wrapper's evidence headers (protocol.ts EVIDENCE).
 *
 * Temperature comes from evidence only: the wrapper counts the requests its container has served, so the first one
 * is `cold-sandbox` (a container that had served nothing) and any later one `warm`. Without the wrapper's headers
 * (a function not built by this adapter, or a gateway error) it is `unknown`. OpenFaaS has no cold-worker level:
 * a container runs one function in one process.
 */
import type { InvocationRecord, Temperature } from '../../platform/records.js';
import { EVIDENCE } from './protocol.js';

/** Temperature on OpenFaaS: the records' levels, or `unknown` when the answer carries no evidence. */
export type OpenFaasTemperature = Temperature;

/** Lower-case header lookup over a fetch Headers or a plain object. */
export type HeaderBag = Record<string, string>;

export function headerBag(h: Headers): HeaderBag {
  const out: HeaderBag = {};
  h.forEach((v, k) => {
    out[k.toLowerCase()] = v;
  });
  return out;
}

function num(h: HeaderBag, name: string): number | null {
  const v = h[name];
  if (v === undefined || v.trim() === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** The gateway's X-Start-Time (ns since the epoch, or seconds/ms on other gateways) as epoch ms, or null. */
export function gatewayStartMs(h: HeaderBag): number | null {
  const raw = h['x-start-time'];
  if (raw === undefined || !/^\d+(\.\d+)?$/.test(raw)) return null;
  const n = Number(raw);
  if (n > 1e17) return n / 1e6; // nanoseconds (the documented form)
  if (n > 1e14) return n / 1e3; // microseconds
  if (n > 1e11) return n; // milliseconds
  return n * 1000; // seconds
}

/** The watchdog's X-Duration-Seconds in ms, or null. */
export function durationMs(h: HeaderBag): number | null {
  const s = num(h, 'x-duration-seconds');
  return s === null ? null : s * 1000;
}

export interface EvidenceFacts {
  containerId: string | null;
  host: string | null;
  seq: number | null;
  bootAt: number | null;
  readyAt: number | null;
  generation: string | null;
  initMs: number | null;
  received: number | null;
  handlerStart: number | null;
  handlerEnd: number | null;
  callId: string | null;
  gatewayStart: number | null;
  durationMs: number | null;
}

export function factsOf(h: HeaderBag): EvidenceFacts {
  return {
    containerId: h[EVIDENCE.container] ?? null,
    host: h[EVIDENCE.host] ?? null,
    seq: num(h, EVIDENCE.seq),
    bootAt: num(h, EVIDENCE.boot),
    readyAt: num(h, EVIDENCE.ready),
    generation: h[EVIDENCE.generation] ?? null,
    initMs: num(h, EVIDENCE.initMs),
    received: num(h, EVIDENCE.received),
    handlerStart: num(h, EVIDENCE.handlerStart),
    handlerEnd: num(h, EVIDENCE.handlerEnd),
    callId: h['x-call-id'] ?? null,
    gatewayStart: gatewayStartMs(h),
    durationMs: durationMs(h),
  };
}

/** cold-sandbox for a container's first request, warm after, unknown without the wrapper's count. */
export function temperatureFrom(f: Pick<EvidenceFacts, 'containerId' | 'seq'>): OpenFaasTemperature {
  if (f.containerId === null || f.seq === null) return 'unknown';
  return f.seq === 1 ? 'cold-sandbox' : 'warm';
}

export interface RecordInput {
  app: string;
  function: string;
  state: string | null;
  executionId: string | null;
  headers: HeaderBag;
  /** Client (or orchestrator) clock: request sent and answer in. */
  sent: number;
  receive: number;
  inputBytes: number;
  outputBytes: number;
  outcome: InvocationRecord['outcome'];
}

/**
 * One InvocationRecord from an answer. Timestamps: `queued` is the gateway's X-Start-Time (else the send time);
 * `workerReady` is when the container was ready if it became ready after the gateway had the request (a scale from
 * zero the request waited for), else `queued`; handler start/end are the wrapper's; `published` is when the wrapper
 * had the answer ready (handler end, else receive). `coldStart.sandboxStartMs` is set only when the request waited
 * for its container (readyAt after the gateway's start); a replica started by an update before the request is not a
 * phase of that request. Clocks: gateway, container and client differ across hosts (docs/platforms.md).
 */
export function recordFrom(r: RecordInput): InvocationRecord {
  const f = factsOf(r.headers);
  const temperature = temperatureFrom(f);
  const queued = f.gatewayStart ?? r.sent;
  const waitedForContainer = f.readyAt !== null && f.readyAt > queued && temperature === 'cold-sandbox';
  const workerReady = waitedForContainer ? (f.readyAt as number) : queued;
  const handlerStart = f.handlerStart ?? workerReady;
  const handlerEnd = f.handlerEnd ?? handlerStart;
  return {
    invocationId: f.callId ?? `${r.function}-${r.sent}`,
    executionId: r.executionId,
    app: r.app,
    function: r.function,
    state: r.state,
    // records.ts has no `unknown` level yet; the value is written as is so that an analysis sees it (docs/platforms.md).
    temperature,
    sandboxId: f.containerId ?? 'unknown',
    // A pid inside a container's own pid namespace identifies nothing across containers: identity is the container.
    workerPid: 0,
    workerOrigin: temperature === 'warm' ? 'existing' : 'spawn',
    host: f.host ?? 'unknown',
    backend: 'openfaas',
    t: { queued, workerReady, handlerStart, handlerEnd, published: f.handlerEnd ?? r.receive },
    coldStart: waitedForContainer ? { sandboxStartMs: (f.readyAt as number) - queued } : {},
    inputBytes: r.inputBytes,
    outputBytes: r.outputBytes,
    outcome: r.outcome,
  };
}
