/**
 * The open-loop runner (docs/conventions.md#11; docs/load.md): every request is fired at its intended time from the
 * schedule, whether or not earlier requests have been answered, so a slow server cannot slow the arrivals down and
 * hide its queueing (no coordinated omission). Latency is measured from the intended send time. The runner only
 * records timestamps (platform/clock.ts) and outcomes; `checkDrift` judges afterwards whether the run kept to the
 * schedule.
 *
 * Timing: the loop sleeps with setTimeout until `spinMs` before the next intended time, then yields with
 * setImmediate until it is due (so responses keep being handled while it waits). Node timers fire up to a few ms
 * late on a loaded machine; the spin absorbs that, at the cost of some CPU near each send.
 */
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { now } from '../../platform/clock.js';
import { checkDrift, type DriftReport, type DriftThresholds } from './drift.js';
import { checkSchedule, scheduleHash, type Schedule } from './schedule.js';

/** How one scheduled request ended. */
export type OpenLoopOutcome =
  | { state: 'ok' }
  | { state: 'error'; error: string }
  /** Still outstanding at the deadline; its signal was aborted. */
  | { state: 'timeout'; error: string }
  /** Never sent: the in-flight cap was reached (whenFull 'drop'), or the deadline came first. */
  | { state: 'not-sent'; reason: 'max-in-flight' | 'deadline' };

export interface OpenLoopRequest<T> {
  index: number;
  /** Offset in the schedule, ms. */
  offsetMs: number;
  /** Intended send time, epoch ms (t0 + offsetMs). */
  intendedAt: number;
  /** When `send` was called, epoch ms; null if it never was. */
  sentAt: number | null;
  /** When `send`'s promise settled, epoch ms; null if it did not before the deadline. */
  receivedAt: number | null;
  /** sentAt − intendedAt. */
  sendLagMs: number | null;
  /** receivedAt − intendedAt: the latency a user arriving on schedule saw (includes any send lag). */
  latencyMs: number | null;
  /** receivedAt − sentAt. */
  serviceMs: number | null;
  outcome: OpenLoopOutcome;
  /** What `send` resolved with (ok requests only), e.g. the platform's records for this request. */
  value?: T;
}

export interface OpenLoopProgress {
  intended: number;
  /** Requests whose intended time has passed (sent, queued or dropped). */
  due: number;
  issued: number;
  completed: number;
  inFlight: number;
  waiting: number;
  elapsedMs: number;
}

export interface OpenLoopOptions {
  /** Hard cap on requests outstanding at once (default 1000). */
  maxInFlight?: number;
  /** At the cap: 'wait' queues a due request until a slot frees (it leaves late: send lag grows); 'drop' does not send it. Default 'wait'. */
  whenFull?: 'wait' | 'drop';
  /** Deadline from t0, ms: outstanding requests are then aborted and recorded as timeouts (default: schedule duration + 30 s). */
  deadlineMs?: number;
  /** Lead time between starting the runner and t0, ms (default 20). */
  startDelayMs?: number;
  /** Stop sleeping this long before each intended time and yield-spin instead (default 2). */
  spinMs?: number;
  onProgress?: (p: OpenLoopProgress) => void;
  /** How often onProgress is called, ms (default 250). */
  progressIntervalMs?: number;
  /** Drift thresholds (default: 10% of count, 10% of requests later than 10 ms). */
  drift?: Partial<DriftThresholds>;
}

export interface OpenLoopResult<T> {
  schedule: { name: string; kind: string; seed: number | null; hash: string; durationMs: number };
  /** Epoch ms the schedule's offsets count from. */
  t0: number;
  /** When the run ended (all settled, or the deadline), epoch ms. */
  endedAt: number;
  requests: OpenLoopRequest<T>[];
  intended: number;
  issued: number;
  ok: number;
  errors: number;
  timeouts: number;
  notSent: number;
  /** Most requests outstanding at once. */
  maxInFlightSeen: number;
  /** The run did not keep to its schedule (see `driftReport.reasons`). */
  drift: boolean;
  driftReasons: string[];
  driftReport: DriftReport;
  options: { maxInFlight: number; whenFull: 'wait' | 'drop'; deadlineMs: number };
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * Runs `schedule` open-loop: request i is sent by calling `send(i, signal)` at t0 + schedule.offsetsMs[i]. A
 * rejected promise is an error outcome (so `send` should throw on a failed answer, e.g. a non-2xx status).
 */
export async function runOpenLoop<T>(
  schedule: Schedule,
  send: (index: number, signal: AbortSignal) => Promise<T>,
  options: OpenLoopOptions = {},
): Promise<OpenLoopResult<T>> {
  checkSchedule(schedule); // the loop relies on ascending offsets
  const maxInFlight = options.maxInFlight ?? 1000;
  const whenFull = options.whenFull ?? 'wait';
  const deadlineMs = options.deadlineMs ?? schedule.durationMs + 30_000;
  const spinMs = options.spinMs ?? 2;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new RangeError(`maxInFlight must be an integer >= 1, got ${maxInFlight}`);
  if (!(deadlineMs > 0)) throw new RangeError(`deadlineMs must be positive, got ${deadlineMs}`);

  const t0 = now() + (options.startDelayMs ?? 20);
  const deadlineAt = t0 + deadlineMs;
  const requests: OpenLoopRequest<T>[] = schedule.offsetsMs.map((offsetMs, index) => ({
    index,
    offsetMs,
    intendedAt: t0 + offsetMs,
    sentAt: null,
    receivedAt: null,
    sendLagMs: null,
    latencyMs: null,
    serviceMs: null,
    outcome: { state: 'not-sent', reason: 'deadline' },
  }));
  const settled = new Uint8Array(requests.length);
  const controllers = new Map<number, AbortController>();
  const waiting: number[] = [];
  let waitHead = 0;
  let inFlight = 0;
  let maxInFlightSeen = 0;
  let issued = 0;
  let completed = 0;
  let due = 0;
  let closed = false;
  let wakeDone: (() => void) | null = null;

  const finish = (i: number, outcome: OpenLoopOutcome, value?: T): void => {
    if (settled[i] === 1 || closed) return; // already timed out at the deadline
    settled[i] = 1;
    const r = requests[i] as OpenLoopRequest<T>;
    r.receivedAt = now();
    r.latencyMs = r.receivedAt - r.intendedAt;
    r.serviceMs = r.receivedAt - (r.sentAt as number);
    r.outcome = outcome;
    if (outcome.state === 'ok') r.value = value as T;
    controllers.delete(i);
    inFlight--;
    completed++;
    if (waitHead < waiting.length) launch(waiting[waitHead++] as number);
    else if (inFlight === 0 && wakeDone !== null) wakeDone();
  };

  const launch = (i: number): void => {
    const r = requests[i] as OpenLoopRequest<T>;
    const ac = new AbortController();
    controllers.set(i, ac);
    inFlight++;
    if (inFlight > maxInFlightSeen) maxInFlightSeen = inFlight;
    issued++;
    r.sentAt = now();
    r.sendLagMs = r.sentAt - r.intendedAt;
    let p: Promise<T>;
    try {
      p = Promise.resolve(send(i, ac.signal));
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      (v) => finish(i, { state: 'ok' }, v),
      (err: unknown) => finish(i, { state: 'error', error: errorText(err) }),
    );
  };

  const progressTimer =
    options.onProgress === undefined
      ? null
      : setInterval(() => {
          options.onProgress?.({ intended: requests.length, due, issued, completed, inFlight, waiting: waiting.length - waitHead, elapsedMs: now() - t0 });
        }, options.progressIntervalMs ?? 250);

  try {
    // Fire each request at its intended time.
    for (let i = 0; i < requests.length; ) {
      const at = (requests[i] as OpenLoopRequest<T>).intendedAt;
      if (at >= deadlineAt) break; // the rest stays 'not-sent: deadline'
      const wait = at - now();
      if (wait > spinMs) {
        await sleep(Math.max(1, Math.floor(wait - spinMs)));
        continue;
      }
      if (wait > 0) {
        await yieldToLoop();
        continue;
      }
      // Everything due now goes out in this turn, in schedule order.
      const t = now();
      while (i < requests.length && (requests[i] as OpenLoopRequest<T>).intendedAt <= t) {
        due++;
        if (waitHead < waiting.length || inFlight >= maxInFlight) {
          if (whenFull === 'drop') requests[i]!.outcome = { state: 'not-sent', reason: 'max-in-flight' };
          else waiting.push(i);
        } else launch(i);
        i++;
      }
    }
    // Wait for the outstanding ones, up to the deadline.
    if (inFlight > 0 || waitHead < waiting.length) {
      const remaining = deadlineAt - now();
      if (remaining > 0) {
        const ac = new AbortController();
        await Promise.race([
          new Promise<void>((resolve) => {
            wakeDone = resolve;
          }),
          sleep(remaining, undefined, { signal: ac.signal }).catch(() => undefined),
        ]);
        ac.abort();
      }
    }
  } finally {
    if (progressTimer !== null) clearInterval(progressTimer);
    // The deadline: whatever is still outstanding is a timeout; whatever still waits was never sent.
    for (const [i, ac] of controllers) {
      if (settled[i] === 1) continue;
      settled[i] = 1;
      (requests[i] as OpenLoopRequest<T>).outcome = { state: 'timeout', error: `no answer by the run's deadline (${deadlineMs} ms after t0)` };
      ac.abort();
    }
    closed = true;
  }
  const endedAt = now();

  let ok = 0;
  let errors = 0;
  let timeouts = 0;
  let notSent = 0;
  for (const r of requests) {
    if (r.outcome.state === 'ok') ok++;
    else if (r.outcome.state === 'error') errors++;
    else if (r.outcome.state === 'timeout') timeouts++;
    else notSent++;
  }
  const driftReport = checkDrift(requests, options.drift);
  return {
    schedule: { name: schedule.name, kind: schedule.kind, seed: schedule.seed, hash: scheduleHash(schedule), durationMs: schedule.durationMs },
    t0,
    endedAt,
    requests,
    intended: requests.length,
    issued,
    ok,
    errors,
    timeouts,
    notSent,
    maxInFlightSeen,
    drift: driftReport.drift,
    driftReasons: driftReport.reasons,
    driftReport,
    options: { maxInFlight, whenFull, deadlineMs },
  };
}
