/**
 * Sessions as the console shows them (docs/sessions.md): where a message goes, from the page's choice, and a
 * session's records as table rows. Pure, so it is unit-tested without a browser.
 */
import type { SessionRecord, SessionTarget } from '../../api.js';

export type TargetKind = 'instance' | 'function' | 'all';

/** The target a person chose: an instance (id or alias), every instance of a function, or the whole session. */
export function sessionTarget(kind: TargetKind, name: string): { ok: true; target: SessionTarget } | { ok: false; message: string } {
  if (kind === 'all') return { ok: true, target: { all: true } };
  const trimmed = name.trim();
  if (trimmed === '') return { ok: false, message: kind === 'instance' ? 'Name the instance (its id or alias).' : 'Name the function.' };
  return { ok: true, target: kind === 'instance' ? trimmed : { function: trimmed } };
}

export interface RecordRow {
  /** Milliseconds since the epoch: the row's first moment, for ordering. */
  t: number;
  kind: SessionRecord['kind'];
  /** Who: a message's sender → receiver, a pipe's end → its peer, a lifecycle's instance (or the session). */
  who: string;
  what: string;
  /** A message's delivery time or a pipe's life, in ms; null for a lifecycle event. */
  durationMs: number | null;
}

/** One row per record, oldest first. */
export function recordRows(records: readonly SessionRecord[]): RecordRow[] {
  return records.map(rowOf).sort((a, b) => a.t - b.t);
}

function rowOf(r: SessionRecord): RecordRow {
  switch (r.kind) {
    case 'message':
      return { t: r.t.sent, kind: r.kind, who: `${r.from} → ${r.to}`, what: `${r.bytes} bytes`, durationMs: r.t.delivered - r.t.sent };
    case 'pipe':
      return { t: r.t.opened, kind: r.kind, who: `${r.instance} → ${r.peer}`, what: `${r.side}, ${r.bytesOut} bytes out, ${r.bytesIn} in, ${r.outcome}`, durationMs: r.t.closed - r.t.opened };
    case 'lifecycle':
      return { t: r.t, kind: r.kind, who: r.instance ?? 'session', what: r.reason ? `${r.event}: ${r.reason}` : r.event, durationMs: null };
  }
}
