/**
 * Why a preset falls behind, from the run's own records (docs/experiments.md#scaling-over-time): per time window,
 * the cold starts that began in it and the sandboxes in use, beside the latency. Pure; used by the throughput and
 * spiky figures.
 *
 * What the records say, and what they do not. Every invocation record names its sandbox, its temperature and the
 * agent's timestamps, so the records tell when each sandbox was created (its cold-sandbox record's `queued` minus
 * `sandboxStartMs`: the start-up it paid for) and when it last finished an invocation (`published`). They cannot tell
 * when the platform reclaimed it: that happens a keep-alive after its last use, and no record follows. So a sandbox
 * counts as *in use* from its creation to the end of its last invocation: a lower bound of the sandboxes alive, exact
 * while the keep-alive outlasts the experiment (the presets' 600 s). The sampled count (spiky's `sandboxes`, from
 * `GET /apps`) is the platform's own and also shows reclaiming.
 */
import type { RawRecord } from '../../report/run-dir.js';
import type { Row } from '../../report/types.js';
import { windowSummaries } from '../../report/stats/windows.js';
import { e2eMs, round4 } from './describe.js';

export interface SandboxSpan {
  sandboxId: string;
  /** Epoch ms: creation (a cold-sandbox record's start-up included), else its first invocation's `queued`. */
  start: number;
  /** Epoch ms: the end of its last invocation (`published`). */
  end: number;
}

export interface ColdStart {
  temperature: 'cold-sandbox' | 'cold-worker';
  /** Epoch ms when the start-up began: the sandbox's creation, or the worker's start (`queued`). */
  t: number;
}

/** The platform records of some raw records, with the timestamps they need. */
function invocations(raw: readonly RawRecord[]) {
  return raw.flatMap((r) => r.call.platform?.records ?? []).filter((rec) => Number.isFinite(rec.t?.queued) && Number.isFinite(rec.t?.published));
}

export function coldStarts(raw: readonly RawRecord[]): ColdStart[] {
  const out: ColdStart[] = [];
  for (const rec of invocations(raw)) {
    if (rec.temperature === 'cold-sandbox') out.push({ temperature: 'cold-sandbox', t: rec.t.queued - (rec.coldStart.sandboxStartMs ?? 0) });
    else if (rec.temperature === 'cold-worker') out.push({ temperature: 'cold-worker', t: rec.t.queued });
  }
  return out;
}

export function sandboxSpans(raw: readonly RawRecord[]): SandboxSpan[] {
  const spans = new Map<string, SandboxSpan>();
  for (const rec of invocations(raw)) {
    const start = rec.temperature === 'cold-sandbox' ? rec.t.queued - (rec.coldStart.sandboxStartMs ?? 0) : rec.t.queued;
    const s = spans.get(rec.sandboxId);
    if (s === undefined) spans.set(rec.sandboxId, { sandboxId: rec.sandboxId, start, end: rec.t.published });
    else {
      s.start = Math.min(s.start, start);
      s.end = Math.max(s.end, rec.t.published);
    }
  }
  return [...spans.values()];
}

/**
 * One row per window of `windowMs` from `t0` (epoch ms; windows before it have negative `start_s`) that covers every
 * request's intended send and receive and every sandbox span of one variant's raw records: requests sent, latency
 * percentiles of the ok, non-warm-up ones, cold starts begun, sandboxes in use and created so far. The cold-start
 * columns sum to the number of cold records.
 */
export function scalingTimeline(raw: readonly RawRecord[], options: { windowMs: number; t0: number }): Row[] {
  const { windowMs, t0 } = options;
  const spans = sandboxSpans(raw);
  const colds = coldStarts(raw);
  const requests = raw.filter((r) => Number.isFinite(r.call.client.intendedSend));
  const times = [
    ...requests.flatMap((r) => [r.call.client.intendedSend, r.call.client.receive]),
    ...spans.flatMap((s) => [s.start, s.end]),
    ...colds.map((c) => c.t),
  ].filter((t): t is number => typeof t === 'number' && Number.isFinite(t));
  if (times.length === 0) return [];
  // A loop, not Math.min(...times): a full-size sweep has more times than a call's arguments may be.
  let lo = Infinity;
  let hi = -Infinity;
  for (const t of times) {
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  const first = Math.floor((lo - t0) / windowMs);
  const last = Math.floor((hi - t0) / windowMs);
  const from = t0 + first * windowMs;
  const latency = windowSummaries(
    requests.map((r) => ({ t: r.call.client.intendedSend, value: r.outcome === 'ok' ? e2eMs(r) : null, outcome: r.outcome, warmup: r.warmup })),
    { windowMs, t0: from, t1: t0 + (last + 1) * windowMs },
  );
  const rows: Row[] = [];
  for (let i = 0; i <= last - first; i++) {
    const a = from + i * windowMs;
    const b = a + windowMs;
    const w = latency[i];
    const cold = (temperature: ColdStart['temperature']) => colds.filter((c) => c.temperature === temperature && c.t >= a && c.t < b).length;
    rows.push({
      start_s: round4((a - t0) / 1000),
      end_s: round4((b - t0) / 1000),
      requests: (w?.count ?? 0) + (w?.warmup ?? 0),
      ok: w?.ok ?? 0,
      p50_ms: w?.p50 === null || w === undefined ? null : round4(w.p50),
      p99_ms: w?.p99 === null || w === undefined ? null : round4(w.p99),
      cold_sandbox: cold('cold-sandbox'),
      cold_worker: cold('cold-worker'),
      sandboxes_in_use: spans.filter((s) => s.start < b && s.end >= a).length,
      sandboxes_created: spans.filter((s) => s.start < b).length,
    });
  }
  return rows;
}
