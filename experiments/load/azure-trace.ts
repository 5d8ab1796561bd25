/**
 * Replay of the Azure Functions 2019 trace (Shahrad et al., "Serverless in the Wild", USENIX ATC 2020;
 * github.com/Azure/AzurePublicDataset, AzureFunctionsDataset2019.md): the per-minute invocation-count files
 * `invocations_per_function_md.anon.dNN.csv`, with the header `HashOwner,HashApp,HashFunction,Trigger,1,2,...,1440`
 * and one row per function and day; column `m` holds the invocations in minute m of the day (UTC).
 * The trace gives counts per minute only, so the arrival times within a minute are drawn from a seeded distribution.
 * The one parser of the format is workloads/spiky/schedules.ts (the spiky workload ships a slice of it); it is
 * re-exported here as part of the load module.
 */
import { MfError } from '../../platform/errors.js';
import { assertSeed, exponential, seededRng, type Rng } from '../../report/stats/random.js';
import { parseAzureTrace, type AzureTraceRow } from '../../workloads/spiky/schedules.js';
import { SCHEDULE_FORMAT, type Schedule, type SchedulePhase } from './schedule.js';

export { parseAzureTrace, type AzureTraceRow };

function bad(message: string, details: Record<string, unknown> = {}): MfError {
  return new MfError('MF_CONFIG_INVALID', message, details);
}

export interface AzureTraceOptions {
  /** Which minutes to replay: the first N (a number), or an inclusive 1-based range [from, to]. */
  minutes: number | readonly [number, number];
  /** Which function: a 0-based data-row index or a HashFunction; absent = the sum over all rows of the file. */
  functionRow?: number | string;
  /**
   * How a minute's count is spread within the minute:
   * - 'uniform': exactly that many arrivals, independent and uniform in the minute;
   * - 'poisson': a Poisson process at that rate for the minute (the number of arrivals is Poisson-distributed with
   *   the trace's count as its mean, so the replayed count differs from the trace's by about √count);
   * - 'equidistant': exactly that many, evenly spaced (needs no seed, used for tests and debugging).
   */
  spread: 'uniform' | 'poisson' | 'equidistant';
  seed: number;
  /** Multiplies every minute's count; a fractional result is rounded up with probability equal to its fraction (seeded), so the expected total is exact. */
  scale: number;
  /** Length of a replayed minute in ms (default 60 000; smaller compresses time, e.g. for a quick run). */
  minuteMs?: number;
}

function scaledCount(rng: Rng, count: number, scale: number): number {
  const x = count * scale;
  const whole = Math.floor(x);
  return whole + (rng() < x - whole ? 1 : 0);
}

/** A schedule replaying per-minute counts of the Azure Functions 2019 trace (see AzureTraceOptions). */
export function fromAzureTrace(csvText: string, opts: AzureTraceOptions): Schedule {
  const rows = parseAzureTrace(csvText);
  if (rows.length === 0) throw bad('the Azure trace CSV has no function rows');
  const total = (rows[0] as AzureTraceRow).counts.length;
  const [from, to] = typeof opts.minutes === 'number' ? [1, opts.minutes] : opts.minutes;
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to < from || to > total) {
    throw bad(`minutes must select minutes within 1..${total} of the trace, got ${JSON.stringify(opts.minutes)}`, { minutes: opts.minutes });
  }
  if (!(opts.scale > 0) || !Number.isFinite(opts.scale)) throw bad(`scale must be a positive number, got ${opts.scale}`);
  try {
    assertSeed(opts.seed);
  } catch {
    throw bad(`seed must be a safe integer, got ${opts.seed}`);
  }
  const minuteMs = opts.minuteMs ?? 60_000;
  if (!(minuteMs > 0)) throw bad(`minuteMs must be positive, got ${minuteMs}`);
  if (!['uniform', 'poisson', 'equidistant'].includes(opts.spread)) throw bad(`spread must be uniform, poisson or equidistant, got ${String(opts.spread)}`);

  let counts: number[];
  let selected: string;
  if (opts.functionRow === undefined) {
    counts = Array.from({ length: total }, (_, m) => rows.reduce((s, r) => s + (r.counts[m] ?? 0), 0));
    selected = `all ${rows.length} functions`;
  } else {
    const row = typeof opts.functionRow === 'number' ? rows[opts.functionRow] : rows.find((r) => r.hashFunction === opts.functionRow);
    if (row === undefined) throw bad(`the Azure trace has no function row ${JSON.stringify(opts.functionRow)} (${rows.length} rows)`, { functionRow: opts.functionRow });
    counts = row.counts;
    selected = `${row.hashApp}/${row.hashFunction} (${row.trigger})`;
  }

  const rng = seededRng(opts.seed);
  const offsets: number[] = [];
  const phases: SchedulePhase[] = [];
  const traceCounts: number[] = [];
  for (let m = from; m <= to; m++) {
    const start = (m - from) * minuteMs;
    const count = counts[m - 1] as number;
    traceCounts.push(count);
    const c = scaledCount(rng, count, opts.scale);
    phases.push({ label: `minute ${m}`, startMs: start, endMs: start + minuteMs });
    if (opts.spread === 'equidistant') {
      for (let i = 0; i < c; i++) offsets.push(start + (i * minuteMs) / c);
    } else if (opts.spread === 'uniform') {
      for (let i = 0; i < c; i++) offsets.push(start + rng() * minuteMs);
    } else if (c > 0) {
      const perMs = c / minuteMs;
      for (let t = start + exponential(rng, perMs); t < start + minuteMs; t += exponential(rng, perMs)) offsets.push(t);
    }
  }
  offsets.sort((a, b) => a - b);
  return {
    format: SCHEDULE_FORMAT,
    name: `azure-trace-${opts.functionRow === undefined ? 'all' : String(opts.functionRow)}-m${from}-${to}-${opts.spread}-seed${opts.seed}`,
    kind: 'azure-trace',
    seed: opts.seed,
    params: { minutes: [from, to], functionRow: opts.functionRow ?? null, selected, spread: opts.spread, scale: opts.scale, minuteMs, traceCounts },
    durationMs: (to - from + 1) * minuteMs,
    offsetsMs: offsets,
    phases,
  };
}
