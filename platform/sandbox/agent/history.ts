/**
 * The execution history a sandbox keeps (docs/architecture.md#execution-history): the engine's events stay here,
 * next to the engine that made them, and cross the sandbox wall only when someone asks for them. Bounded by count
 * and by bytes; beyond either, the oldest finished histories are dropped, and a drop is remembered so that asking
 * for it says "evicted", not "unknown".
 */
import type { HistoryEvent, HistoryReply } from '../../protocol.js';
import { RawJson } from '../../asl/raw-json.js';

export interface HistoryBounds {
  maxExecutions: number;
  maxBytes: number;
}

export class HistoryShelf {
  /** Executions still running: their events so far. */
  private readonly running = new Map<string, HistoryEvent[]>();
  /** Finished executions, oldest first, with their size. */
  private readonly kept = new Map<string, { events: HistoryEvent[]; bytes: number }>();
  /** Ids of dropped histories (the newest maxExecutions of them), so that a drop shows. */
  private readonly dropped = new Set<string>();
  private bytes = 0;
  /** Histories dropped so far. */
  evicted = 0;

  constructor(private readonly bounds: HistoryBounds) {}

  /** The list an execution's events go to while it runs. */
  start(id: string): HistoryEvent[] {
    const events: HistoryEvent[] = [];
    this.running.set(id, events);
    return events;
  }

  /** Keeps a finished execution's events, measured now, and drops the oldest beyond the bounds. */
  finish(id: string): void {
    const events = this.running.get(id);
    if (!events) return;
    this.running.delete(id);
    const bytes = sizeOf(events);
    this.kept.set(id, { events, bytes });
    this.bytes += bytes;
    while (this.kept.size > this.bounds.maxExecutions || (this.bytes > this.bounds.maxBytes && this.kept.size > 0)) {
      const [oldest, entry] = this.kept.entries().next().value as [string, { bytes: number }];
      this.kept.delete(oldest);
      this.bytes -= entry.bytes;
      this.evicted++;
      this.dropped.add(oldest);
      if (this.dropped.size > this.bounds.maxExecutions) this.dropped.delete(this.dropped.values().next().value as string);
    }
  }

  /** What the sandbox has of an execution's history; serialised here, when asked (a raw payload is parsed then). */
  get(id: string): HistoryReply {
    const events = this.running.get(id) ?? this.kept.get(id)?.events;
    if (events) return { kind: 'events', json: JSON.stringify(events) };
    return this.dropped.has(id) ? { kind: 'evicted', evicted: this.evicted } : { kind: 'unknown' };
  }

  /** Bytes of the finished histories kept (for tests). */
  get bytesKept(): number {
    return this.bytes;
  }
}

/**
 * The events' size as JSON, close enough for a bound and without parsing a raw payload: a RawJson counts its bytes,
 * and a value met again (the same input in several events) is measured once.
 */
function sizeOf(events: HistoryEvent[]): number {
  const seen = new Map<unknown, number>();
  let bytes = 2;
  for (const e of events) {
    bytes += 3;
    for (const key in e) {
      const v = e[key];
      let n = typeof v === 'object' && v !== null ? seen.get(v) : undefined;
      if (n === undefined) {
        n = v instanceof RawJson ? v.bytes.length : Buffer.byteLength(JSON.stringify(v) ?? 'null');
        if (typeof v === 'object' && v !== null) seen.set(v, n);
      }
      bytes += key.length + 4 + n;
    }
  }
  return bytes;
}
