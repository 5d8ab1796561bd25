/**
 * Open-loop schedules: the intended send offsets of every request, in milliseconds from the run's t0, plus what made
 * them (generator, parameters, seed). Generators are deterministic in their parameters and seed, and a schedule
 * written with `writeSchedule` replays identically on any platform (docs/load.md).
 *
 * Units: rates in requests per second, durations and offsets in milliseconds.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { MfError } from '../../platform/errors.js';
import { assertSeed, exponential, seededRng, type Rng } from '../../report/stats/random.js';

export const SCHEDULE_FORMAT = 'mfbench-schedule/1';

/** A time span inside a schedule with a meaning (a spike, a step, a trace minute), for per-window analysis. */
export interface SchedulePhase {
  label: string;
  startMs: number;
  endMs: number;
}

export interface Schedule {
  format: typeof SCHEDULE_FORMAT;
  /** Human name, e.g. 'poisson-50rps-10s'. */
  name: string;
  /** The generator: 'constant' | 'poisson' | 'step' | 'spikes' | 'azure-trace' | 'custom'. */
  kind: string;
  /** The seed the offsets were drawn with; null for a deterministic generator that draws nothing. */
  seed: number | null;
  /** The generator's parameters, as given. */
  params: Record<string, unknown>;
  /** Length of the schedule; every offset is in [0, durationMs). */
  durationMs: number;
  /** Intended send offsets from t0, ascending. */
  offsetsMs: number[];
  phases: SchedulePhase[];
}

function bad(message: string, details: Record<string, unknown> = {}): MfError {
  return new MfError('MF_CONFIG_INVALID', message, details);
}

function positive(name: string, v: number): void {
  if (!(v > 0) || !Number.isFinite(v)) throw bad(`${name} must be a positive number, got ${v}`, { [name]: v });
}

function nonNegative(name: string, v: number): void {
  if (!(v >= 0) || !Number.isFinite(v)) throw bad(`${name} must be a number >= 0, got ${v}`, { [name]: v });
}

function seedOk(seed: number): void {
  try {
    assertSeed(seed);
  } catch {
    throw bad(`seed must be a safe integer, got ${seed}`, { seed });
  }
}

/** Evenly spaced sends at `ratePerSec` in [startMs, endMs): start, start + 1000/rate, ... */
function evenly(ratePerSec: number, startMs: number, endMs: number): number[] {
  if (ratePerSec <= 0) return [];
  const gap = 1000 / ratePerSec;
  const count = Math.ceil(((endMs - startMs) * ratePerSec) / 1000 - 1e-9);
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(startMs + i * gap);
  return out;
}

/** A Poisson process at `ratePerSec` in [startMs, endMs) (exponential gaps). */
function poissonArrivals(rng: Rng, ratePerSec: number, startMs: number, endMs: number): number[] {
  if (ratePerSec <= 0) return [];
  const perMs = ratePerSec / 1000;
  const out: number[] = [];
  for (let t = startMs + exponential(rng, perMs); t < endMs; t += exponential(rng, perMs)) out.push(t);
  return out;
}

function make(kind: string, name: string, seed: number | null, params: Record<string, unknown>, durationMs: number, offsets: number[], phases: SchedulePhase[] = []): Schedule {
  offsets.sort((a, b) => a - b);
  return { format: SCHEDULE_FORMAT, name, kind, seed, params, durationMs, offsetsMs: offsets, phases };
}

/** `ratePerSec` evenly spaced requests per second for `durationMs`: ⌈rate · duration⌉ requests, the first at 0. */
export function constant(ratePerSec: number, durationMs: number): Schedule {
  positive('ratePerSec', ratePerSec);
  positive('durationMs', durationMs);
  return make('constant', `constant-${ratePerSec}rps-${durationMs}ms`, null, { ratePerSec, durationMs }, durationMs, evenly(ratePerSec, 0, durationMs));
}

/** A Poisson process at `ratePerSec` for `durationMs`: exponential inter-arrival gaps drawn from `seed`. */
export function poisson(ratePerSec: number, durationMs: number, seed: number): Schedule {
  positive('ratePerSec', ratePerSec);
  positive('durationMs', durationMs);
  seedOk(seed);
  return make('poisson', `poisson-${ratePerSec}rps-${durationMs}ms-seed${seed}`, seed, { ratePerSec, durationMs }, durationMs, poissonArrivals(seededRng(seed), ratePerSec, 0, durationMs));
}

/** Consecutive steps of `stepDurationMs` each, at the given rates (evenly spaced within a step). */
export function step(ratesPerSec: readonly number[], stepDurationMs: number): Schedule {
  if (ratesPerSec.length === 0) throw bad('step needs at least one rate');
  ratesPerSec.forEach((r, i) => nonNegative(`ratesPerSec[${i}]`, r));
  positive('stepDurationMs', stepDurationMs);
  const offsets: number[] = [];
  const phases: SchedulePhase[] = [];
  ratesPerSec.forEach((rate, i) => {
    const start = i * stepDurationMs;
    offsets.push(...evenly(rate, start, start + stepDurationMs));
    phases.push({ label: `step ${i + 1}: ${rate} req/s`, startMs: start, endMs: start + stepDurationMs });
  });
  const durationMs = ratesPerSec.length * stepDurationMs;
  return make('step', `step-${ratesPerSec.join('-')}rps-${stepDurationMs}ms`, null, { ratesPerSec: [...ratesPerSec], stepDurationMs }, durationMs, offsets, phases);
}

/**
 * A base rate plus `spikeCount` spikes: during each spike of `spikeWidthMs`, `spikeRatePerSec` more requests per
 * second arrive on top of the base rate (the height of the spike). Spikes are evenly placed: spike i is centred at
 * (i + ½) · duration / spikeCount. Without a seed both streams are evenly spaced; with a seed both are Poisson.
 */
export function spikes(baseRatePerSec: number, spikeRatePerSec: number, spikeWidthMs: number, spikeCount: number, durationMs: number, seed?: number): Schedule {
  nonNegative('baseRatePerSec', baseRatePerSec);
  positive('spikeRatePerSec', spikeRatePerSec);
  positive('spikeWidthMs', spikeWidthMs);
  positive('durationMs', durationMs);
  if (!Number.isInteger(spikeCount) || spikeCount < 0) throw bad(`spikeCount must be an integer >= 0, got ${spikeCount}`, { spikeCount });
  if (spikeCount * spikeWidthMs > durationMs) throw bad(`${spikeCount} spikes of ${spikeWidthMs} ms do not fit in ${durationMs} ms`, { spikeCount, spikeWidthMs, durationMs });
  if (seed !== undefined) seedOk(seed);
  const rng = seed === undefined ? null : seededRng(seed);
  const stream = (rate: number, a: number, b: number) => (rng === null ? evenly(rate, a, b) : poissonArrivals(rng, rate, a, b));
  const offsets = stream(baseRatePerSec, 0, durationMs);
  const phases: SchedulePhase[] = [];
  for (let i = 0; i < spikeCount; i++) {
    const centre = ((i + 0.5) * durationMs) / spikeCount;
    const start = Math.max(0, centre - spikeWidthMs / 2);
    const end = Math.min(durationMs, start + spikeWidthMs);
    offsets.push(...stream(spikeRatePerSec, start, end));
    phases.push({ label: `spike ${i + 1}`, startMs: start, endMs: end });
  }
  const params = { baseRatePerSec, spikeRatePerSec, spikeWidthMs, spikeCount, durationMs, ...(seed !== undefined ? { seed } : {}) };
  return make('spikes', `spikes-${baseRatePerSec}+${spikeRatePerSec}rps-x${spikeCount}-${durationMs}ms${seed !== undefined ? `-seed${seed}` : ''}`, seed ?? null, params, durationMs, offsets, phases);
}

/** A schedule from explicit offsets (tests, hand-made workloads). */
export function customSchedule(name: string, offsetsMs: readonly number[], durationMs?: number): Schedule {
  offsetsMs.forEach((o, i) => nonNegative(`offsetsMs[${i}]`, o));
  const d = durationMs ?? (offsetsMs.length === 0 ? 0 : Math.max(...offsetsMs) + 1);
  const s = make('custom', name, null, {}, d, [...offsetsMs]);
  checkSchedule(s, 'customSchedule');
  return s;
}

/** Mean rate of a schedule over its duration, requests per second. */
export function meanRate(s: Schedule): number {
  return s.durationMs > 0 ? (s.offsetsMs.length * 1000) / s.durationMs : 0;
}

/** SHA-256 of the schedule's canonical JSON: a run manifest records it so a replay can be proven identical. */
export function scheduleHash(s: Schedule): string {
  return createHash('sha256').update(JSON.stringify(s)).digest('hex');
}

/** Checks a value is a well-formed schedule; throws MF_CONFIG_INVALID naming the problem. */
export function checkSchedule(v: unknown, source = 'schedule'): asserts v is Schedule {
  const s = v as Partial<Schedule> | null;
  const fail = (why: string) => {
    throw bad(`${source} is not a valid schedule: ${why}`, { source });
  };
  if (typeof s !== 'object' || s === null) return fail('not an object');
  if (s.format !== SCHEDULE_FORMAT) fail(`format must be "${SCHEDULE_FORMAT}", got ${JSON.stringify(s.format)}`);
  if (typeof s.name !== 'string' || typeof s.kind !== 'string') fail('name and kind must be strings');
  if (s.seed !== null && !Number.isSafeInteger(s.seed)) fail('seed must be null or a safe integer');
  if (typeof s.params !== 'object' || s.params === null) fail('params must be an object');
  if (typeof s.durationMs !== 'number' || !(s.durationMs >= 0)) fail('durationMs must be a number >= 0');
  if (!Array.isArray(s.offsetsMs)) return fail('offsetsMs must be an array');
  let prev = 0;
  for (let i = 0; i < s.offsetsMs.length; i++) {
    const o = s.offsetsMs[i];
    if (typeof o !== 'number' || !Number.isFinite(o) || o < prev) fail(`offsetsMs[${i}] must be a finite number >= the previous one and >= 0`);
    if ((o as number) >= (s.durationMs as number) && !((s.durationMs as number) === 0 && s.offsetsMs.length === 0)) fail(`offsetsMs[${i}] = ${o} is not below durationMs ${s.durationMs}`);
    prev = o as number;
  }
  if (!Array.isArray(s.phases)) fail('phases must be an array');
}

/** Writes a schedule as JSON (offsets keep full double precision: JSON numbers round-trip exactly). */
export async function writeSchedule(path: string, schedule: Schedule): Promise<void> {
  checkSchedule(schedule);
  await writeFile(path, `${JSON.stringify(schedule)}\n`);
}

/** Reads and checks a schedule written by `writeSchedule`. */
export async function readSchedule(path: string): Promise<Schedule> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw bad(`cannot read the schedule ${path}: ${(err as Error).message}`, { path });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw bad(`${path} is not valid JSON: ${(err as Error).message}`, { path });
  }
  checkSchedule(v, path);
  return v;
}
