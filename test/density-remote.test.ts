/**
 * density on a remote platform (OpenWhisk, from test/fixtures/openwhisk-density): its processes are not on this
 * host, so nothing was measured, and the processed results and the figure must say so rather than show 0 MB.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXPERIMENTS } from '../dist/experiments/runner/registry.js';
import type { RawRecord } from '../dist/report/run-dir.js';

const raw = readFileSync(join(import.meta.dirname, 'fixtures', 'openwhisk-density', 'raw.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as RawRecord);

describe('density on a platform whose processes are not on this host', () => {
  const processed = EXPERIMENTS.density.process(raw, EXPERIMENTS.density.sizes.quick);

  it('records no memory value (null, not 0) and leaves every sample out, saying why', () => {
    expect(raw.length).toBeGreaterThan(0);
    expect(processed.metrics.filter((m) => m.metric.startsWith('memory_'))).toEqual([]);
    const samples = processed.tables.samples ?? [];
    expect(samples.length).toBeGreaterThan(0);
    for (const s of samples) expect([s.pss_mb, s.rss_mb, s.valid, s.why]).toEqual([null, null, false, 'no process visible']);
  });

  it('the figure names the platform and says no memory was visible', () => {
    const spec = JSON.stringify(EXPERIMENTS.density.chart(processed, EXPERIMENTS.density.sizes.quick));
    expect(spec).toContain('openwhisk: no memory visible (its processes are not on this host)');
    expect(spec).not.toContain('"-/-:'); // the legend names the platform, not its empty backend/preset
  });
});
