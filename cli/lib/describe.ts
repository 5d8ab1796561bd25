/** One-line human descriptions of API answers (for stderr). */
import type { Execution, FunctionInvocation, InvocationRecord, LogEntry } from '../../platform/sdk/types.js';
import { formatNumber } from './table.js';

/** "cold-sandbox 1, cold-worker 4" */
export function temperatureCounts(records: readonly InvocationRecord[] | undefined): string {
  if (records === undefined || records.length === 0) return 'no records';
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.temperature, (counts.get(r.temperature) ?? 0) + 1);
  return [...counts].map(([t, n]) => `${t} ${n}`).join(', ');
}

/** "SUCCEEDED noop-chain/main 3f2a... in 1.23 ms (platform), 5 invocations: cold-sandbox 1, cold-worker 4" */
export function describeExecution(e: Execution | FunctionInvocation, clientMs: number | null): string {
  const what = 'function' in e && e.function !== undefined ? `${e.app}/${e.function}` : `${e.app}/${e.workflow ?? ''}`;
  const platformMs = e.t?.completed != null && e.t.received != null ? e.t.completed - e.t.received : null;
  const parts = [clientMs !== null ? `${formatNumber(clientMs)} ms client` : null, platformMs !== null ? `${formatNumber(platformMs)} ms in the platform` : null];
  const timing = parts.filter((p) => p !== null).join(', ') || 'running';
  const recs = e.records !== undefined ? `; ${e.records.length} invocation${e.records.length === 1 ? '' : 's'}: ${temperatureCounts(e.records)}` : '';
  const failure = e.status === 'FAILED' || e.status === 'ABORTED' ? `\n  error: ${e.error ?? '(none)'}\n  cause: ${e.cause ?? '(none)'}` : '';
  return `${e.status} ${what} execution ${e.executionId} (${timing}${recs})${failure}`;
}

/** "2025-01-01T00:00:00.000Z info step1 <invocation> message" */
export function formatLogLine(line: LogEntry | string): string {
  if (typeof line === 'string') return line;
  const t = typeof line.t === 'number' ? new Date(line.t).toISOString() : '-';
  const who = [line.function, line.executionId ?? line.invocationId].filter((x) => typeof x === 'string' && x !== '').join(' ');
  return `${t} ${String(line.level ?? 'info').padEnd(5)} ${who ? `${who} ` : ''}${String(line.message ?? JSON.stringify(line))}`;
}
