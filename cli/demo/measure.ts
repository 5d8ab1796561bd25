/**
 * The demo's measuring loop: executes a workload's default workflow and keeps one sample per execution.
 * Only timestamps and facts are taken here; summary.ts computes, format.ts prints (docs/conventions.md#6).
 */
import { performance } from 'node:perf_hooks';
import { toMfError } from '../../platform/errors.js';
import type { Temperature } from '../../platform/records.js';
import type { MicroFunctionsClient } from '../../platform/sdk/client.js';
import type { AnyWorkload } from '../../workloads/index.js';

export type Phase = 'first' | 'warm';

export interface DemoSample {
  workload: string;
  phase: Phase;
  seq: number;
  /** Client latency: from just before the request to the parsed answer. */
  clientMs: number;
  executionId: string | null;
  /** ERROR: the request itself failed (HTTP error), so there is no execution. */
  status: 'SUCCEEDED' | 'FAILED' | 'ERROR';
  /** The output passed the workload's validateOutput. */
  valid: boolean;
  reason: string | null;
  /** One per invocation, in record order. */
  temperatures: Temperature[];
  /** Sum of handlerEnd - handlerStart over the execution's invocations. */
  handlerMs: number;
  /** completed - received, as the frontend timed it. */
  platformMs: number | null;
}

export interface MeasureOptions {
  app: string;
  size: string;
  seed: number;
  /** Warm executions after the first one. */
  warm: number;
  /** Give up after this many request errors (a broken platform should not take 200 timeouts). */
  maxErrors?: number;
}

/** Runs 1 + `warm` sequential executions of the deployed app and returns their samples. */
export async function measureWorkload(client: MicroFunctionsClient, workload: AnyWorkload, o: MeasureOptions): Promise<DemoSample[]> {
  const samples: DemoSample[] = [];
  let errors = 0;
  for (let seq = 0; seq <= o.warm; seq++) {
    const input = workload.generateInput(o.size, o.seed + seq);
    const phase: Phase = seq === 0 ? 'first' : 'warm';
    const t0 = performance.now();
    try {
      const e = await client.execute(o.app, workload.workflow, input, { records: true });
      const clientMs = performance.now() - t0;
      const check = e.status === 'SUCCEEDED' ? workload.validateOutput(input, e.output) : { ok: false as const, reason: `${e.error}: ${e.cause}` };
      const records = e.records ?? [];
      samples.push({
        workload: workload.name,
        phase,
        seq,
        clientMs,
        executionId: e.executionId,
        status: e.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED',
        valid: check.ok,
        reason: check.ok ? null : check.reason,
        temperatures: records.map((r) => r.temperature),
        handlerMs: records.reduce((sum, r) => sum + (r.t.handlerEnd - r.t.handlerStart), 0),
        platformMs: e.t.completed !== null ? e.t.completed - e.t.received : null,
      });
    } catch (err) {
      const e = toMfError(err);
      samples.push({
        workload: workload.name,
        phase,
        seq,
        clientMs: performance.now() - t0,
        executionId: null,
        status: 'ERROR',
        valid: false,
        reason: `${e.code}: ${e.message}`,
        temperatures: [],
        handlerMs: 0,
        platformMs: null,
      });
      if (++errors >= (o.maxErrors ?? 5)) break;
    }
  }
  return samples;
}
