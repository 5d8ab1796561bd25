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

/** One data row of an Azure Functions 2019 per-minute trace: one function on one day. */
export interface AzureTraceRow {
  hashOwner: string;
  hashApp: string;
  hashFunction: string;
  trigger: string;
  /** counts[m - 1] = invocations in minute m. */
  counts: number[];
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

const AZURE_KEY_COLUMNS = ['HashOwner', 'HashApp', 'HashFunction', 'Trigger'] as const;

function badTrace(message: string, details: Record<string, unknown> = {}): MfError {
  return new MfError('MF_CONFIG_INVALID', message, details);
}

/**
 * Parses a trace in the Azure Functions 2019 per-minute format (the shipped slice, or a real day's file of any
 * number of minute columns). Plain comma-separated, no quoting: the trace's hashes and trigger names have no commas.
 * A malformed file is an MF_CONFIG_INVALID error naming the line and column or minute.
 */
export function parseAzureTrace(csvText: string): AzureTraceRow[] {
  const lines = csvText.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]?.split(',').map((c) => c.trim());
  if (header === undefined) throw badTrace('the Azure trace CSV is empty');
  AZURE_KEY_COLUMNS.forEach((name, i) => {
    if (header[i] !== name) throw badTrace(`the Azure trace CSV must start with the columns ${AZURE_KEY_COLUMNS.join(',')}; column ${i + 1} is "${header[i] ?? ''}"`, { header: header.slice(0, 6) });
  });
  const minutes = header.slice(AZURE_KEY_COLUMNS.length);
  if (minutes.length === 0) throw badTrace('the Azure trace CSV has no minute columns');
  minutes.forEach((m, i) => {
    if (m !== String(i + 1)) throw badTrace(`minute column ${i + 1} of the Azure trace CSV is named "${m}"; expected "${i + 1}"`, { column: AZURE_KEY_COLUMNS.length + i + 1 });
  });
  return lines.slice(1).map((line, r) => {
    if (line.includes('"')) throw badTrace(`line ${r + 2} of the Azure trace CSV has quotes, which this format never has`, { line: r + 2 });
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length !== header.length) throw badTrace(`line ${r + 2} of the Azure trace CSV has ${cells.length} cells; the header has ${header.length}`, { line: r + 2 });
    const counts = cells.slice(AZURE_KEY_COLUMNS.length).map((c, i) => {
      const v = Number(c);
      if (c === '' || !Number.isInteger(v) || v < 0) throw badTrace(`line ${r + 2}, minute ${i + 1} of the Azure trace CSV: "${c}" is not a count`, { line: r + 2, minute: i + 1 });
      return v;
    });
    return { hashOwner: cells[0] as string, hashApp: cells[1] as string, hashFunction: cells[2] as string, trigger: cells[3] as string, counts };
  });
}

export function loadAzureSlice(): AzureTraceRow[] {
  return parseAzureTrace(readFileSync(join(schedulesDir(), AZURE_SLICE), 'utf8'));
}
