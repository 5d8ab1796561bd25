/**
 * End to end: `mfbench run sessions` at its quick size against the embedded platform on the process backend (real
 * processes, real HTTP on port 0), asked for `grouped` only: it measures both presets. The run directory then holds a
 * raw record per probe (every method for every size and preset), its figure and CSVs, and values that are positive
 * and ordered where that is robust. No assertion is on milliseconds.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPERIMENTS } from '../dist/experiments/runner/registry.js';
import { sessionVariants } from '../dist/experiments/sessions.js';
import type { HarnessManifest, RawRecord } from '../dist/report/run-dir.js';
import { removeRun, runAndProcess } from './helpers/harness.js';

const config = EXPERIMENTS.sessions.sizes.quick;
const PRESETS = ['grouped', 'per-function'];
const TRANSFERS = ['pipe', 'storage', 'payload'];
const MESSAGES = ['session-message', 'execution-per-message'];

function csv(text: string): Array<Record<string, string>> {
  const [head, ...rows] = text.trim().split('\n');
  const keys = head!.split(',');
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [keys[i]!, v])));
}

describe('mfbench run sessions --quick', () => {
  let parent: string;
  let dir: string;
  let manifest: HarnessManifest;
  let raw: RawRecord[];

  beforeAll(async () => {
    ({ parent, dir, manifest, raw } = await runAndProcess('mfh-sessions-', {
      experiments: ['sessions'],
      size: 'quick',
      seed: 1,
      variants: [{ platform: 'microfunctions', backend: 'process', preset: 'grouped' }],
    }));
  }, 300_000);

  afterAll(async () => {
    await removeRun(parent);
  });

  it('measures both presets, each on its own embedded platform, whatever preset was asked for', () => {
    expect(manifest.experiments.map((e) => [e.name, e.status])).toEqual([['sessions', 'complete']]);
    expect(manifest.experiments[0]!.loadAvg.start).not.toBeNull();
    expect(manifest.adapters.map((a) => a.resolved.preset).sort()).toEqual(PRESETS);
    for (const a of manifest.adapters) expect((a.options.platformConfig as { maxResultBytes: number }).maxResultBytes).toBeGreaterThanOrEqual(3 * Math.max(...config.sizes));
    expect(sessionVariants([{ platform: 'microfunctions', backend: 'process', preset: 'per-function' }, { platform: 'openwhisk', backend: '-', preset: '-' }]).map((v) => v.preset)).toEqual(PRESETS);
  });

  it('records every probe: each message style and each method for every size and preset, all ok', () => {
    expect(raw.every((r) => r.experiment === 'sessions' && r.outcome === 'ok')).toBe(true);
    for (const preset of PRESETS) {
      const mine = raw.filter((r) => r.preset === preset);
      for (const method of MESSAGES) {
        const rows = mine.filter((r) => r.labels.method === method);
        expect(rows).toHaveLength(config.warmup + config.messages);
        expect(rows.filter((r) => r.warmup)).toHaveLength(config.warmup);
      }
      for (const bytes of config.sizes) {
        for (const method of TRANSFERS) {
          const rows = mine.filter((r) => r.labels.method === method && r.labels.bytes === bytes);
          expect(rows, `${preset} ${method} ${bytes}`).toHaveLength(config.transfers + 1);
          for (const r of rows) expect(r.labels.transfer_ms as number).toBeGreaterThan(0);
        }
      }
      // A payload's time comes from the records of the two Tasks that carried it; an execution per message has its one.
      for (const r of mine.filter((x) => x.labels.method === 'payload')) expect(r.call.platform!.records.map((x) => x.function)).toEqual(['produce', 'consume']);
      for (const r of mine.filter((x) => x.labels.method === 'execution-per-message')) expect(r.call.platform!.records).toHaveLength(1);
    }
  });

  it('writes the figure, its CSVs and the report', async () => {
    for (const f of ['fig-sessions.vl.json', 'fig-sessions.svg', 'fig-sessions.png']) expect((await stat(join(dir, 'figures', f))).size).toBeGreaterThan(1000);
    const html = await readFile(join(dir, 'index.html'), 'utf8');
    expect(html).toContain('fig-sessions');
    const spec = JSON.parse(await readFile(join(dir, 'figures', 'fig-sessions.vl.json'), 'utf8'));
    expect(spec.hconcat).toHaveLength(2);
  });

  it('gives positive medians for every row, and a pipe faster than storage at the largest size', async () => {
    const transfers = csv(await readFile(join(dir, 'csv', 'sessions.transfers.csv'), 'utf8'));
    expect(transfers).toHaveLength(PRESETS.length * config.sizes.length * TRANSFERS.length);
    for (const t of transfers) {
      expect(Number(t.transfer_ms_n)).toBe(config.transfers);
      expect(Number(t.transfer_ms_median)).toBeGreaterThan(0);
      expect(Number(t.mib_per_s_median)).toBeGreaterThan(0);
    }
    const messages = csv(await readFile(join(dir, 'csv', 'sessions.messages.csv'), 'utf8'));
    expect(messages.map((m) => [m.preset, m.method])).toEqual(PRESETS.flatMap((p) => MESSAGES.map((m) => [p, m])));
    for (const m of messages) {
      expect(Number(m.latency_ms_n)).toBe(config.messages);
      expect(Number(m.latency_ms_median)).toBeGreaterThan(0);
      expect(Number(m.latency_ms_p90)).toBeGreaterThanOrEqual(Number(m.latency_ms_median));
    }
    // 1 MiB by pipe is raw bytes on a socket; by storage it is base64 JSON across two IPC hops each way, an order of
    // magnitude apart on any machine (docs/sessions.md#measured).
    const largest = Math.max(...config.sizes);
    for (const preset of PRESETS) {
      const at = (method: string) => Number(transfers.find((t) => t.preset === preset && t.method === method && Number(t.bytes) === largest)!.transfer_ms_median);
      expect(at('pipe')).toBeLessThan(at('storage'));
    }
  });
});
