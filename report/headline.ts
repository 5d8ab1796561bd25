/**
 * Headline and descriptive series (docs/statistics.md#headline-and-descriptive-series). Each experiment declares its
 * headline series (`ExperimentProcessing.headline`); the processing step marks their samples in the metric stream, so
 * that `mfbench compare` and the report tell them apart from the stored runs alone. Pure.
 */
import type { HeadlineSeries, MetricRecord, Row } from './types.js';

/** The preset part of a metric record's platform (`microfunctions/grouped` -> `grouped`). */
function presetOf(platform: string): string {
  const slash = platform.indexOf('/');
  return slash < 0 ? '' : platform.slice(slash + 1);
}

export function matchesHeadline(m: MetricRecord, s: HeadlineSeries): boolean {
  if (m.metric !== s.metric) return false;
  if (s.temperature !== undefined && m.temperature !== s.temperature) return false;
  if (s.presets !== undefined && !s.presets.includes(presetOf(m.platform))) return false;
  for (const [k, v] of Object.entries(s.labels ?? {})) if (m.labels?.[k] !== v) return false;
  return true;
}

/** The metrics with `headline: true` on those of a headline series (copies; the input is left as it is). */
export function markHeadline(metrics: readonly MetricRecord[], series: readonly HeadlineSeries[]): MetricRecord[] {
  return metrics.map((m) => (series.some((s) => matchesHeadline(m, s)) ? { ...m, headline: true } : m));
}

/** A selector in words, for tables: `client_latency_ms warm length=4`. */
export function headlineName(s: HeadlineSeries): string {
  const labels = Object.entries(s.labels ?? {}).map(([k, v]) => `${k}=${String(v)}`);
  return [s.metric, s.temperature ?? '', ...labels, s.presets ? `(${s.presets.join(', ')} only)` : ''].filter((x) => x !== '').join(' ');
}

/**
 * One row per headline series and platform: the samples the config promises, and the ok, non-warm-up samples the
 * run holds, against the gate's minimum.
 */
export function headlineRows(metrics: readonly MetricRecord[], series: readonly HeadlineSeries[], minSamples: number): Row[] {
  const platforms = [...new Set(metrics.map((m) => m.platform))];
  const rows: Row[] = [];
  for (const s of series) {
    for (const platform of platforms) {
      const mine = metrics.filter((m) => m.platform === platform && matchesHeadline(m, s));
      if (mine.length === 0) continue;
      const ok = mine.filter((m) => m.outcome === 'ok' && m.warmup !== true).length;
      rows.push({ series: headlineName(s), platform, designed: s.samples, ok, gate_minimum: minSamples, judged: ok >= minSamples });
    }
  }
  return rows;
}
