/**
 * Did a run keep to its schedule? A pure check over the per-request send times (docs/conventions.md#11): the run is flagged
 * when the number of issued requests differs from the intended number by more than 10%, or when more than 10% of
 * the issued requests left later than a lag tolerance after their intended time. docs/load.md explains the bounds.
 */
import { exactPercentiles } from '../../report/stats/percentiles.js';

export interface DriftThresholds {
  /** Largest accepted |issued − intended| / intended. */
  maxCountDeviation: number;
  /** A request sent more than this after its intended time is late. */
  lagToleranceMs: number;
  /** Largest accepted fraction of issued requests that are late. */
  maxLateFraction: number;
}

export const DEFAULT_DRIFT_THRESHOLDS: Readonly<DriftThresholds> = Object.freeze({ maxCountDeviation: 0.1, lagToleranceMs: 10, maxLateFraction: 0.1 });

export interface LagSummary {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface DriftReport {
  drift: boolean;
  /** Why the run is flagged; empty when it is not. */
  reasons: string[];
  intended: number;
  issued: number;
  /** issued / intended (1 for an empty schedule). */
  issuedRatio: number;
  /** Issued requests sent later than lagToleranceMs after their intended time. */
  late: number;
  lateFraction: number;
  /** Send lag (actual − intended send time) of the issued requests, ms; null when none was issued. */
  sendLagMs: LagSummary | null;
  thresholds: DriftThresholds;
}

export function summarizeLag(lags: readonly number[]): LagSummary | null {
  if (lags.length === 0) return null;
  const p = exactPercentiles(lags, [50, 90, 99, 100] as const);
  return { mean: lags.reduce((a, b) => a + b, 0) / lags.length, p50: p[50], p90: p[90], p99: p[99], max: p[100] };
}

/** Checks intended vs actual send times; `sentAt` null = not issued. */
export function checkDrift(
  requests: readonly { intendedAt: number; sentAt: number | null }[],
  thresholds: Partial<DriftThresholds> = {},
): DriftReport {
  const th: DriftThresholds = { ...DEFAULT_DRIFT_THRESHOLDS, ...thresholds };
  const intended = requests.length;
  const lags: number[] = [];
  for (const r of requests) if (r.sentAt !== null) lags.push(r.sentAt - r.intendedAt);
  const issued = lags.length;
  const late = lags.filter((l) => l > th.lagToleranceMs).length;
  const issuedRatio = intended === 0 ? 1 : issued / intended;
  const lateFraction = issued === 0 ? 0 : late / issued;
  const reasons: string[] = [];
  if (Math.abs(issuedRatio - 1) > th.maxCountDeviation) {
    reasons.push(`issued ${issued} of ${intended} intended requests (${(issuedRatio * 100).toFixed(1)}%), more than ${th.maxCountDeviation * 100}% off the schedule`);
  }
  if (lateFraction > th.maxLateFraction) {
    reasons.push(`${late} of ${issued} issued requests (${(lateFraction * 100).toFixed(1)}%) left more than ${th.lagToleranceMs} ms after their intended time`);
  }
  return { drift: reasons.length > 0, reasons, intended, issued, issuedRatio, late, lateFraction, sendLagMs: summarizeLag(lags), thresholds: th };
}

/** One line for a run's progress: the send skew's p99 (actual − intended send) and the drift verdict. */
export function sendSkewLine(report: DriftReport): string {
  const p99 = report.sendLagMs === null ? 'none sent' : `${report.sendLagMs.p99.toFixed(2)} ms`;
  return `send skew p99 ${p99}, ${report.late} of ${report.issued} sent over ${report.thresholds.lagToleranceMs} ms late; ${report.drift ? `DRIFT (${report.reasons.join('; ')})` : 'no drift'}`;
}
