/**
 * The headline series of every suite's experiments meet the regression gate's minimum sample count by construction:
 * from each experiment's declared series and its size's parameters, without running anything.
 */
import { describe, expect, it } from 'vitest';
import { COMPARE_DEFAULTS } from '../../report/compare/compare.js';
import { headlineName, markHeadline } from '../../report/headline.js';
import type { MetricRecord } from '../../report/types.js';
import { EXPERIMENTS, SUITES } from './registry.js';

/** Experiments whose every series is descriptive, each for a reason stated beside its declaration. */
const ALL_DESCRIPTIVE = ['density', 'spiky', 'chaos'];

describe('headline series', () => {
  for (const size of ['quick', 'full'] as const) {
    it.each(SUITES[size]!.experiments.map((n) => [n]))(`%s: every headline series of the ${size} size has the gate's minimum samples`, (name) => {
      const e = EXPERIMENTS[name];
      const series = e.headline(e.sizes[size] as never);
      if (ALL_DESCRIPTIVE.includes(name)) {
        expect(series).toEqual([]);
        return;
      }
      expect(series.length).toBeGreaterThan(0);
      for (const s of series) expect(s.samples, `${name} ${size}: ${headlineName(s)}`).toBeGreaterThanOrEqual(COMPARE_DEFAULTS.minSamples);
    });
  }

  it('covers warm latency per experiment, the per-hop overhead and the cold-start ladder', () => {
    const names = (n: keyof typeof EXPERIMENTS) => EXPERIMENTS[n].headline(EXPERIMENTS[n].sizes.quick as never).map(headlineName);
    expect(names('cold-start')).toEqual(['client_latency_ms cold-sandbox', 'client_latency_ms cold-worker (grouped only)', 'client_latency_ms warm']);
    expect(names('chain-length')).toContain('hop_ms warm length=8');
    expect(names('chain-length')).not.toContain('hop_ms warm length=1'); // a chain of one has no hop
    expect(names('throughput')).toEqual(['client_latency_ms warm phase=unloaded rate=0']);
    expect(names('pipeline-overhead')).toEqual(['client_latency_ms warm pipeline=anomaly-detection (small)', 'platform_overhead_ms warm pipeline=anomaly-detection (small)']);
  });

  it('marks exactly the samples a selector matches: metric, temperature, label subset and preset', () => {
    const m = (platform: string, temperature: string, labels: Record<string, string | number>): MetricRecord => ({ experiment: 'x', platform, metric: 'client_latency_ms', value: 1, outcome: 'ok', temperature, labels });
    const marked = markHeadline(
      [m('microfunctions/grouped', 'cold-worker', { backend: 'process' }), m('microfunctions/per-function', 'cold-worker', { backend: 'process' }), m('microfunctions/grouped', 'warm', { backend: 'process', length: 2 }), m('microfunctions/grouped', 'warm', { backend: 'process', length: 4 })],
      [
        { metric: 'client_latency_ms', temperature: 'cold-worker', presets: ['grouped'], samples: 20 },
        { metric: 'client_latency_ms', temperature: 'warm', labels: { length: 4 }, samples: 20 },
      ],
    );
    expect(marked.map((r) => r.headline === true)).toEqual([true, false, false, true]);
  });
});
