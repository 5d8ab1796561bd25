/**
 * The one hop definition (report/hops.ts) on a real platform's records, with worker-to-worker handover on and off:
 * the mean hop is what the records say a hop was (handler end to next handler start), on a handed-over step exactly
 * the hop the record stamps, and through the agent a hop that holds the agent's leg. Asserts relations between the
 * stamps, never a duration: the machine is shared.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { call, chain, inlineFunction, testPlatform } from './helpers/platform.js';
import { meanHopMs } from '../dist/report/hops.js';
import type { PlatformHandle } from '../dist/platform/frontend/index.js';
import type { InvocationRecord } from '../dist/platform/records.js';

const STEPS = ['h1', 'h2', 'h3', 'h4', 'h5'];
const NOOP = 'export const handler = async (e) => e;';
/** Two processes' epoch clocks agree to within this (docs/records.md); it bounds only relations across processes. */
const CLOCK_SKEW_MS = 2;
const WARM_EXECUTIONS = 8;

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** handlerStart of each step after the first, minus the previous step's handlerEnd: the hops one by one. */
const gaps = (rs: InvocationRecord[]) => rs.slice(1).map((r, k) => r.t.handlerStart - rs[k]!.t.handlerEnd);

async function warmChains(handover: boolean): Promise<{ records: InvocationRecord[][]; clientMs: number[] }> {
  const p: PlatformHandle = await testPlatform({ handover });
  try {
    const deployed = await call(p, 'POST', '/apps', { name: 'hops', functions: STEPS.map((s) => inlineFunction(s, NOOP)), workflows: { main: chain(STEPS) } });
    expect(deployed.status).toBe(201);
    const cold = await call(p, 'POST', '/apps/hops/workflows/main/executions', { n: 0 });
    expect(cold.body.status).toBe('SUCCEEDED');
    const records: InvocationRecord[][] = [];
    const clientMs: number[] = [];
    for (let i = 1; i <= WARM_EXECUTIONS; i++) {
      const t0 = performance.now();
      const r = await call(p, 'POST', '/apps/hops/workflows/main/executions', { n: i });
      clientMs.push(performance.now() - t0);
      expect(r.body.status).toBe('SUCCEEDED');
      records.push(r.body.records as InvocationRecord[]);
    }
    return { records, clientMs };
  } finally {
    await p.close();
  }
}

describe('the mean hop on real records', () => {
  let on: Awaited<ReturnType<typeof warmChains>>;
  let off: Awaited<ReturnType<typeof warmChains>>;
  beforeAll(async () => {
    on = await warmChains(true);
    off = await warmChains(false);
  }, 120_000);

  test('both ways: one positive mean hop per execution, the mean of its handler-to-handler gaps, within the client latency', () => {
    for (const run of [on, off]) {
      run.records.forEach((rs, i) => {
        expect(rs.map((r) => r.state)).toEqual(['S1', 'S2', 'S3', 'S4', 'S5']);
        const hop = meanHopMs(rs)!;
        expect(hop).toBeGreaterThan(0);
        expect(hop).toBeCloseTo(mean(gaps(rs)), 9);
        expect(hop * (STEPS.length - 1)).toBeLessThan(run.clientMs[i]!);
      });
    }
  });

  test('handed over: the hop is the one each record stamps (queued is the previous handler end), not the agent lag', () => {
    for (const rs of on.records) {
      expect(rs.slice(1).every((r) => r.handedOver === true)).toBe(true);
      for (const [k, r] of rs.slice(1).entries()) expect(r.t.queued).toBe(rs[k]!.t.handlerEnd);
      expect(meanHopMs(rs)).toBeCloseTo(mean(rs.slice(1).map((r) => r.t.handlerStart - r.t.queued)), 9);
    }
  });

  test('through the agent (--no-handover): each hop holds the agent leg, the previous result reaching the agent', () => {
    for (const rs of off.records) {
      expect(rs.filter((r) => r.handedOver)).toEqual([]);
      const agentLeg = mean(rs.slice(0, -1).map((r) => r.t.published - r.t.handlerEnd));
      expect(meanHopMs(rs)!).toBeGreaterThanOrEqual(agentLeg - CLOCK_SKEW_MS);
      for (const [k, r] of rs.slice(1).entries()) expect(r.t.handlerStart).toBeGreaterThanOrEqual(rs[k]!.t.published - CLOCK_SKEW_MS);
    }
  });
});
