import { describe, expect, it } from 'vitest';
import { CLAIMS } from './sources.js';
import { claimsTable, costRows, interactionLatencyRows, ladderRows, rungOf, type CostFindings } from './table.js';
import type { RawRecord } from '../../report/run-dir.js';

/** A stored request as the runner writes it, reduced to what the claims read. */
function raw(over: Partial<RawRecord> & { e2e?: number; origin?: string }): RawRecord {
  const { e2e = 10, origin, ...rest } = over;
  const preset = rest.preset ?? 'grouped';
  return {
    seq: 0,
    experiment: 'cold-start',
    platform: 'microfunctions',
    backend: 'process',
    preset,
    variant: `microfunctions/process/${preset}`,
    temperature: null,
    expectedTemperature: null,
    temperatureCheck: 'ok',
    warmup: false,
    outcome: 'ok',
    labels: {},
    call: {
      kind: 'invocation',
      target: 'step1',
      client: { intendedSend: 1000, actualSend: 1000, receive: 1000 + e2e },
      platform: origin === undefined ? null : { records: [{ workerOrigin: origin }] },
      outcome: { state: 'ok' },
      requestBytes: 0,
    },
    ...rest,
  } as unknown as RawRecord;
}

const NO_COST: CostFindings = { crossover: null, lambdaNoSpikesUsd: 1, vmUsd: 1, memoryGiBs: {} };

describe('rungOf: the ladder rung of a cold-start request', () => {
  it.each([
    ['warm', 'existing', 'warm'],
    ['cold-worker', 'pool', 'pool'],
    ['cold-worker', 'spawn', 'cold worker'],
    ['cold-sandbox', 'spawn', 'cold sandbox'],
    ['cold-worker', undefined, null],
    [null, 'spawn', null],
  ] as const)('expected %s, worker from %s → %s', (expected, origin, rung) => {
    expect(rungOf(raw({ expectedTemperature: expected, ...(origin !== undefined ? { origin } : {}) }))).toBe(rung);
  });
});

describe('the table says what the run lacks', () => {
  it('an empty run: every claim has a row, none judged but the cost model (no crossover: VMs never get cheaper)', () => {
    const rows = claimsTable({ raw: [], seed: 1, cost: NO_COST });
    expect([...new Set(rows.map((r) => r.claim))]).toEqual(Object.values(CLAIMS).map((c) => c.id));
    const verdicts = Object.fromEntries(rows.map((r) => [`${String(r.claim)} ${String(r.scope)}`, r.verdict]));
    expect(verdicts).toMatchObject({
      'sand-interaction-latency microfunctions': 'not measured',
      'nfv-fig2-overhead microfunctions/grouped': 'not measured',
      'nfv-fig2-overhead openwhisk': 'not configured',
      'nfv-fig2-overhead openfaas': 'not configured',
      'nfv-fig4-crossover model (AWS prices)': 'not reproduced',
      'cold-start-ladder microfunctions': 'not measured',
    });
  });

  it('chain-length on one preset only: the hop claim is not measured, and says how to measure it', () => {
    const rows = interactionLatencyRows([1, 8].flatMap((length) => Array.from({ length: 3 }, () => raw({ experiment: 'chain-length', labels: { length } }))), 1);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ scope: 'microfunctions/process', verdict: 'not measured' });
    expect(String(rows[0]?.detail)).toContain('both presets');
  });
});

describe('rows from measured records', () => {
  it('the per-hop ratio: grouped 1 ms a hop, per-function 5 ms a hop, 30 executions each → reproduced', () => {
    const rs = (['grouped', 'per-function'] as const).flatMap((preset) =>
      [1, 8].flatMap((length) =>
        Array.from({ length: 30 }, (_, i) => raw({ experiment: 'chain-length', preset, labels: { length }, e2e: 10 + (length - 1) * (preset === 'grouped' ? 1 : 5) + (i % 5) * 0.01 })),
      ),
    );
    const [row] = interactionLatencyRows(rs, 1);
    expect(row?.measured).toBeCloseTo(5, 1);
    expect(row?.verdict).toBe('reproduced');
    expect(row?.detail).toMatch(/^per hop: grouped 1\.00 ms, per-function 5\.00 ms/);
  });

  it('the ladder skips a rung with no sample and judges the others (here: too few for a verdict)', () => {
    const rs = [
      ...Array.from({ length: 10 }, () => raw({ expectedTemperature: 'warm', origin: 'existing', e2e: 5 })),
      ...Array.from({ length: 3 }, () => raw({ expectedTemperature: 'cold-worker', origin: 'pool', e2e: 50 })),
      ...Array.from({ length: 3 }, () => raw({ expectedTemperature: 'cold-sandbox', origin: 'spawn', e2e: 500 })),
    ];
    const [row] = ladderRows(rs, 1);
    expect(row).toMatchObject({ scope: 'microfunctions/process/grouped', measured: 10, verdict: 'descriptive only' });
    expect(row?.detail).toContain('no sample for: cold worker');
  });

  it('the cost model: a crossover with Lambda cheaper at no spikes reproduces Fig. 4; the self-hosted ratio is descriptive', () => {
    const rows = costRows({ crossover: 691.4, lambdaNoSpikesUsd: 0.3, vmUsd: 146.88, memoryGiBs: { grouped: 2, 'per-function': 5 } });
    expect(rows.map((r) => [r.claim, r.measured, r.verdict])).toEqual([
      ['nfv-fig4-crossover', 691.4, 'reproduced'],
      ['nfv-fig4-self-hosted', 2.5, 'descriptive only'],
    ]);
    expect(costRows({ crossover: 10, lambdaNoSpikesUsd: 200, vmUsd: 146.88, memoryGiBs: {} })[0]?.verdict).toBe('not reproduced');
  });
});
