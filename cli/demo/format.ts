/** The demo's terminal table, from summaries only. */
import { formatTable } from '../lib/table.js';
import type { TemperatureCounts, WorkloadSummary } from './summary.js';

function temps(t: TemperatureCounts): string {
  const parts = (Object.entries(t) as Array<[string, number]>).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
  return parts.join(', ') || '-';
}

export function formatDemo(summaries: readonly WorkloadSummary[]): string {
  const table = formatTable(
    ['workload', 'n', 'ok', 'first ms', 'first temperatures', 'warm temperatures', 'p50 ms', 'p90 ms', 'p99 ms', 'platform p50', 'handler p50'],
    summaries.map((s) => [
      s.workload,
      s.executions,
      s.succeeded - s.invalid,
      s.first.clientMs,
      temps(s.first.temperatures),
      temps(s.warm.temperatures),
      s.warm.clientMs.p50,
      s.warm.clientMs.p90,
      s.warm.clientMs.p99,
      s.warm.platformMs.p50,
      s.warm.handlerMs.p50,
    ]),
  );
  const notes = [
    'p50/p90/p99: client latency of the warm executions (HTTP round trip, ms, nearest rank);',
    'platform: received -> completed in the frontend; handler: sum of handler run times per execution.',
  ];
  const problems = summaries.flatMap((s) =>
    s.problems.length > 0 ? [`${s.workload}: ${s.failed} failed, ${s.errors} request errors, ${s.invalid} invalid outputs; e.g. ${s.problems.join(' | ')}`] : [],
  );
  return [table, ...notes, ...problems].join('\n');
}
