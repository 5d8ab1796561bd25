/**
 * An execution's timeline: one bar per invocation, cut into its phases, from the invocation records' platform
 * timestamps (docs/records.md). Pure: timeline-view.ts draws it.
 */
import type { InvocationRecord, Temperature } from '../../api.js';

/**
 * queued: from the agent taking the invocation until a worker was ready for it (a worker start, when cold);
 * dispatch: to the worker and into the handler; handler: the function's own time; publish: the result back and
 * handed on.
 */
export type Phase = 'queued' | 'dispatch' | 'handler' | 'publish';
export const PHASES: readonly Phase[] = ['queued', 'dispatch', 'handler', 'publish'];

export interface Segment {
  phase: Phase;
  /** Milliseconds from the timeline's origin. */
  start: number;
  end: number;
}

export interface TimelineBar {
  invocationId: string;
  /** The state that ran it, or the function for a direct invocation. */
  label: string;
  state: string | null;
  function: string;
  temperature: Temperature;
  sandboxId: string;
  workerPid: number;
  failed: boolean;
  /** ASL's error of a failed invocation, null otherwise. */
  error: string | null;
  start: number;
  end: number;
  segments: Segment[];
}

export interface Timeline {
  /** Epoch milliseconds of the earliest `queued`: every bar is placed relative to it. */
  origin: number;
  /** From the origin to the latest `published`. */
  spanMs: number;
  bars: TimelineBar[];
}

/** Bars in the order the invocations were queued; a timestamp out of order gives an empty phase, never a negative one. */
export function timelineOf(records: readonly InvocationRecord[]): Timeline {
  const sorted = [...records].sort((a, b) => a.t.queued - b.t.queued);
  const origin = sorted[0]?.t.queued ?? 0;
  const bars = sorted.map((r): TimelineBar => {
    const marks = [r.t.queued, r.t.workerReady, r.t.handlerStart, r.t.handlerEnd, r.t.published].map((t) => t - origin);
    for (let i = 1; i < marks.length; i++) marks[i] = Math.max(marks[i]!, marks[i - 1]!);
    const segments = PHASES.map((phase, i) => ({ phase, start: marks[i]!, end: marks[i + 1]! }));
    return {
      invocationId: r.invocationId,
      label: r.state ?? r.function,
      state: r.state,
      function: r.function,
      temperature: r.temperature,
      sandboxId: r.sandboxId,
      workerPid: r.workerPid,
      failed: r.outcome.state !== 'ok',
      error: r.outcome.state === 'ok' ? null : r.outcome.error,
      start: marks[0]!,
      end: marks[4]!,
      segments,
    };
  });
  return { origin, spanMs: Math.max(0, ...bars.map((b) => b.end)), bars };
}
