/**
 * The spike schedules shipped with the spiky workload (workloads/spiky/schedules/), for the load generator
 * (experiments/load) to replay. Two formats:
 *
 * - a rate schedule (`*.json`): `{name, unit: "requests/s", stepSeconds, scaleFactor, original, description,
 *   provenance, rates: number[]}`; `rates[i]` is the request rate during [i * stepSeconds, (i + 1) * stepSeconds);
 * - an Azure Functions 2019 trace slice (`*.csv`, the format of invocations_per_function_md.anon.dNN.csv in Azure's
 *   AzurePublicDataset): columns HashOwner, HashApp, HashFunction, Trigger, then one column per minute ("1", "2", ...)
 *   holding that function's invocation count in that minute.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MfError } from '../../platform/errors.js';
import { workloadDir } from '../paths.js';

export interface RateSchedule {
  name: string;
  unit: 'requests/s';
  stepSeconds: number;
  /** Our rate / the original's (1 when unscaled). */
  scaleFactor: number;
  original: string;
  description: string;
  provenance: string;
  rates: number[];
}

export interface AzureTraceRow {
  owner: string;
  app: string;
  function: string;
  trigger: string;
  /** Invocations in minute 1, 2, ... */
  perMinute: number[];
}

export const RATE_SCHEDULES = ['nfv-spike', 'befaas-spike', 'cold-to-spike'] as const;
export const AZURE_SLICE = 'azure-functions-2019-slice.csv';

export function schedulesDir(): string {
  return join(workloadDir('spiky'), 'schedules');
}

export function loadRateSchedule(name: (typeof RATE_SCHEDULES)[number]): RateSchedule {
  const s = JSON.parse(readFileSync(join(schedulesDir(), `${name}.json`), 'utf8')) as RateSchedule;
  if (s.unit !== 'requests/s' || !(s.stepSeconds > 0) || !Array.isArray(s.rates) || !s.rates.every((r) => Number.isFinite(r) && r >= 0)) {
    throw new MfError('MF_BAD_REQUEST', `schedule ${name} is malformed`, { schedule: name });
  }
  return s;
}

/** Parses a trace slice in the Azure Functions 2019 per-minute format. */
export function parseAzureTrace(text: string): AzureTraceRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(',');
  if (header.slice(0, 4).join(',') !== 'HashOwner,HashApp,HashFunction,Trigger' || header.slice(4).some((h, i) => h !== String(i + 1))) {
    throw new MfError('MF_BAD_REQUEST', 'not an Azure Functions 2019 per-minute trace: the header must be HashOwner,HashApp,HashFunction,Trigger,1,2,...', {});
  }
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    const perMinute = cells.slice(4).map(Number);
    if (cells.length !== header.length || perMinute.some((n) => !Number.isInteger(n) || n < 0)) {
      throw new MfError('MF_BAD_REQUEST', `Azure trace row ${i + 1}: expected ${header.length} cells with non-negative integer counts`, { row: i + 1 });
    }
    return { owner: cells[0] ?? '', app: cells[1] ?? '', function: cells[2] ?? '', trigger: cells[3] ?? '', perMinute };
  });
}

export function loadAzureSlice(): AzureTraceRow[] {
  return parseAzureTrace(readFileSync(join(schedulesDir(), AZURE_SLICE), 'utf8'));
}
