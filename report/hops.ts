/**
 * The one definition of a hop that every figure uses (docs/statistics.md#the-hop): the time from one handler's end
 * to the next handler's start, however the result travelled (through the sandbox agent, or worker to worker when it
 * was handed over, where the agent learns of the result only after the next step has started, so its `published`
 * stamp no longer bounds the hop). chain-length's per-hop figure and the A/B gate's both come from here.
 */
import type { InvocationRecord } from '../platform/records.js';

/** What a hop reads of a record: the handler's stamps, and the marks of a step that did not run once and cleanly. */
export type HopRecord = Pick<InvocationRecord, 't'> & Partial<Pick<InvocationRecord, 'outcome' | 'retry' | 'attempt'>>;

/**
 * The mean hop of one execution of a sequential chain, in ms: from the first handler's start to the last handler's
 * end, less every handler's own time, over the hops (steps - 1). The sum of the hops telescopes, so only the first
 * and the last worker's clocks meet (docs/records.md bounds their offset) and it is divided by the hops. Null for a
 * single step, and for an execution whose steps did not each run once and succeed (a failure, a retry, a recovery):
 * its gaps would hold the fault, not the hop.
 */
export function meanHopMs(records: readonly HopRecord[]): number | null {
  if (records.length < 2) return null;
  if (records.some((r) => (r.outcome !== undefined && r.outcome.state !== 'ok') || (r.retry ?? 0) > 0 || r.attempt !== undefined)) return null;
  let first = Infinity;
  let last = -Infinity;
  let handlers = 0;
  for (const { t } of records) {
    first = Math.min(first, t.handlerStart);
    last = Math.max(last, t.handlerEnd);
    handlers += t.handlerEnd - t.handlerStart;
  }
  return (last - first - handlers) / (records.length - 1);
}
