/** Pure statistics over the demo's samples; the percentiles are report/stats' exact nearest-rank ones. */
import type { Temperature } from '../../platform/records.js';
import { exactPercentiles } from '../../report/stats/percentiles.js';
import type { DemoSample } from './measure.js';

export type TemperatureCounts = Record<Temperature, number>;

export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface WorkloadSummary {
  workload: string;
  executions: number;
  succeeded: number;
  failed: number;
  /** Requests that got an HTTP error (no execution). */
  errors: number;
  /** Succeeded, but the output did not pass validateOutput. */
  invalid: number;
  /** The first execution (it paid for the sandbox and workers). */
  first: { clientMs: number | null; temperatures: TemperatureCounts };
  /** Every later execution; latencies over the valid ones only (the others are counted above, not dropped). */
  warm: { temperatures: TemperatureCounts; clientMs: LatencySummary; platformMs: LatencySummary; handlerMs: LatencySummary };
  /** Up to three reasons for failed, erroneous or invalid executions. */
  problems: string[];
}

/** Nearest-rank p50/p90/p99 (NaN for no values). */
export function latency(values: readonly number[]): LatencySummary {
  const p = exactPercentiles(values, [50, 90, 99] as const);
  return { n: values.length, p50: p[50], p90: p[90], p99: p[99] };
}

export function countTemperatures(samples: readonly DemoSample[]): TemperatureCounts {
  const counts: TemperatureCounts = { 'cold-sandbox': 0, 'cold-worker': 0, warm: 0, unknown: 0 };
  for (const s of samples) for (const t of s.temperatures) counts[t] += 1;
  return counts;
}

/** One summary per workload, in the order the workloads first appear. */
export function summarize(samples: readonly DemoSample[]): WorkloadSummary[] {
  const byWorkload = new Map<string, DemoSample[]>();
  for (const s of samples) {
    const list = byWorkload.get(s.workload) ?? [];
    list.push(s);
    byWorkload.set(s.workload, list);
  }
  return [...byWorkload].map(([workload, list]) => {
    const first = list.filter((s) => s.phase === 'first');
    const warm = list.filter((s) => s.phase === 'warm');
    const good = warm.filter((s) => s.status === 'SUCCEEDED' && s.valid);
    return {
      workload,
      executions: list.length,
      succeeded: list.filter((s) => s.status === 'SUCCEEDED').length,
      failed: list.filter((s) => s.status === 'FAILED').length,
      errors: list.filter((s) => s.status === 'ERROR').length,
      invalid: list.filter((s) => s.status === 'SUCCEEDED' && !s.valid).length,
      first: { clientMs: first[0]?.clientMs ?? null, temperatures: countTemperatures(first) },
      warm: {
        temperatures: countTemperatures(warm),
        clientMs: latency(good.map((s) => s.clientMs)),
        platformMs: latency(good.flatMap((s) => (s.platformMs !== null ? [s.platformMs] : []))),
        handlerMs: latency(good.map((s) => s.handlerMs)),
      },
      problems: list.filter((s) => s.reason !== null).slice(0, 3).map((s) => `#${s.seq} ${s.status}: ${s.reason}`),
    };
  });
}
