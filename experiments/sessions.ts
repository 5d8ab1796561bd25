/**
 * sessions: what session functions and data pipes buy (issue 16; docs/sessions.md#measured). Produces Figure
 * `fig-sessions`.
 *
 * Method, on MicroFunctions only (sessions are its own; other platforms' variants are skipped with a note), under both
 * presets: an embedded variant is measured under `grouped` and `per-function` whichever of them was asked for (the
 * comparison is the point), a remote one as it is. The probes are the sessions bench's (bench/session-probes.ts):
 * - (a) a message to a running session function and its answer back, against one sync execution of a 1-Task workflow
 *   per message (the per-event style), interleaved one for one so that both see the same machine; client clock;
 * - (b) N bytes from one function to another by a data pipe, through context.storage, and as a workflow payload,
 *   the three interleaved per round and size; the first round of each size is a warm-up. The transfer's own time
 *   (sender's clock until the receiver acknowledged, or the two Tasks' records for a payload) is measured inside the
 *   platform, so it is stored in the raw record's labels as `transfer_ms`, beside the client's timestamps.
 */
import type { CallResult } from '../harness/types.js';
import { now } from '../platform/clock.js';
import { MfError } from '../platform/errors.js';
import type { Execution } from '../platform/sdk/types.js';
import { sessionsSpec } from '../report/charts/specs/sessions.js';
import type { MetricRecord, Processed, Row } from '../report/types.js';
import type { Labels, RawRecord } from '../report/run-dir.js';
import { MAX_RESULT_BYTES, SessionProbes, sessionBenchApp, TRANSFER_METHODS, type Timed } from './bench/session-probes.js';
import { describe, e2eMs, exclusion, exclusionNote, groupBy, metricBase, prefixed, round4 } from './runner/describe.js';
import type { Experiment, RunContext, Variant } from './runner/types.js';

export interface SessionsConfig {
  /** Message round trips per style labelled warm-up, then measured. */
  warmup: number;
  messages: number;
  /** Measured transfers per method and size (plus one warm-up round). */
  transfers: number;
  /** Transfer sizes in bytes. */
  sizes: number[];
}

/** The two message styles, as `method` labels. */
export const MESSAGE_METHODS = ['session-message', 'execution-per-message'] as const;
const PRESETS = ['grouped', 'per-function'] as const;
const APP = 'sessions-bench';
const MIB = 1024 * 1024;

/**
 * The variants to measure: every MicroFunctions variant; an embedded one under both presets, with room for the
 * largest payload (a remote one has its own config, which its manifest entry records).
 */
export function sessionVariants(variants: readonly Variant[]): Variant[] {
  const out: Variant[] = [];
  const seen = new Set<string>();
  for (const v of variants) {
    if (v.platform !== 'microfunctions') continue;
    const embedded = v.url === undefined;
    for (const preset of embedded ? PRESETS : [v.preset]) {
      const variant: Variant = embedded ? { ...v, preset, platformConfig: { ...v.platformConfig, maxResultBytes: MAX_RESULT_BYTES } } : v;
      const key = JSON.stringify({ ...variant, token: undefined });
      if (!seen.has(key)) out.push(variant);
      seen.add(key);
    }
  }
  return out;
}

function sessionCall(target: string, t: Timed): CallResult {
  return { kind: 'session', target, client: { intendedSend: t.sent, actualSend: t.sent, receive: t.received }, platform: null, outcome: { state: 'ok' }, requestBytes: 0 };
}

function executionCall(workflow: string, t: Timed, e: Execution): CallResult {
  return {
    kind: 'execution',
    target: workflow,
    client: { intendedSend: t.sent, actualSend: t.sent, receive: t.received },
    platform: { executionId: e.executionId, t: e.t, records: e.records ?? [] },
    outcome: { state: 'ok' },
    requestBytes: 0,
  };
}

function failedCall(kind: CallResult['kind'], target: string, sent: number, err: unknown): CallResult {
  const code = err instanceof MfError ? err.code : 'MF_INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  return { kind, target, client: { intendedSend: sent, actualSend: sent, receive: now() }, platform: null, outcome: { state: 'error', code, message }, requestBytes: 0 };
}

/** One probe's record: its call, and what it measured inside the platform (a transfer's own time). */
interface Probed {
  call: CallResult;
  measured?: Labels;
}

async function measure(ctx: RunContext, config: SessionsConfig): Promise<void> {
  const variants = sessionVariants(ctx.variants);
  for (const v of ctx.variants) if (v.platform !== 'microfunctions') ctx.progress.note(`sessions: ${v.platform} skipped (sessions are MicroFunctions's own)`);
  if (variants.length === 0) throw new MfError('MF_CONFIG_INVALID', 'the sessions experiment measures MicroFunctions only: add --platform microfunctions', { option: 'platform' });
  // Loaded here: the registry (and so every CLI start) loads this module, and adapters load lazily (harness/registry.ts).
  const { MicroFunctionsAdapter } = await import('../harness/microfunctions/index.js');
  for (const variant of variants) {
    await ctx.withAdapter(variant, async (adapter) => {
      if (!(adapter instanceof MicroFunctionsAdapter)) throw new MfError('MF_INTERNAL', 'a microfunctions variant without the MicroFunctions adapter');
      const client = adapter.client;
      await client.deploy(sessionBenchApp(APP));
      const probes = await SessionProbes.open(client, APP);
      // A probe that fails is recorded as an error, never dropped (docs/conventions.md#8).
      const record = async (kind: CallResult['kind'], target: string, labels: Labels, warmup: boolean, probe: () => Promise<Probed>) => {
        const sent = now();
        const { call, measured } = await probe().catch((err: unknown): Probed => ({ call: failedCall(kind, target, sent, err) }));
        ctx.record(variant, call, { warmup, labels: { ...labels, ...measured } });
        ctx.progress.tick();
      };
      try {
        const rounds = config.warmup + config.messages;
        ctx.progress.begin(`sessions ${variant.preset}: messages`, rounds * 2);
        for (let i = 0; i < rounds; i++) {
          const warmup = i < config.warmup;
          await record('session', 'echo', { method: 'session-message', iteration: i }, warmup, async () => ({ call: sessionCall('echo', await probes.message(i)) }));
          await record('execution', 'one', { method: 'execution-per-message', iteration: i }, warmup, async () => {
            const t = await probes.perEvent(i);
            return { call: executionCall('one', t, t.execution) };
          });
        }
        ctx.progress.begin(`sessions ${variant.preset}: transfers`, config.sizes.length * (config.transfers + 1) * TRANSFER_METHODS.length);
        for (const bytes of config.sizes) {
          for (let r = 0; r <= config.transfers; r++) {
            for (const method of TRANSFER_METHODS) {
              const target = method === 'payload' ? 'payload' : 'tx';
              await record(method === 'payload' ? 'execution' : 'session', target, { method, bytes, round: r }, r === 0, async () => {
                const t = await probes.transfer(method, bytes);
                const call = t.execution ? executionCall(target, t, t.execution) : sessionCall(target, t);
                return { call, measured: { transfer_ms: round4(t.ms) } };
              });
            }
          }
        }
        ctx.progress.end();
      } finally {
        await probes.close().catch(() => undefined);
        await client.deleteApp(APP).catch(() => undefined);
      }
    });
  }
}

const isMessage = (r: RawRecord): boolean => (MESSAGE_METHODS as readonly unknown[]).includes(r.labels.method);
const transferMs = (r: RawRecord): number | null => (typeof r.labels.transfer_ms === 'number' ? r.labels.transfer_ms : null);
const mibPerS = (bytes: number, ms: number | null): number | null => (ms === null || ms <= 0 ? null : round4(bytes / MIB / (ms / 1000)));

function process_(raw: readonly RawRecord[]): Processed {
  const metrics: MetricRecord[] = [];
  for (const r of raw) {
    const method = String(r.labels.method);
    if (isMessage(r)) {
      metrics.push({ ...metricBase(r, { method }), metric: 'client_latency_ms', value: r.outcome === 'ok' ? round4(e2eMs(r)) : null });
    } else {
      const bytes = Number(r.labels.bytes);
      const ms = transferMs(r);
      const base = metricBase(r, { method, bytes });
      metrics.push({ ...base, metric: 'transfer_ms', value: r.outcome === 'ok' ? ms : null });
      metrics.push({ ...base, metric: 'transfer_mib_per_s', value: r.outcome === 'ok' ? mibPerS(bytes, ms) : null });
    }
  }
  const kept = raw.filter((r) => exclusion(r) === null);
  const messages: Row[] = [];
  const transfers: Row[] = [];
  for (const [variant, rows] of groupBy(kept, (r) => r.variant)) {
    const preset = rows[0]!.preset;
    for (const method of MESSAGE_METHODS) {
      const d = describe(rows.filter((r) => r.labels.method === method).map(e2eMs));
      messages.push({ variant, preset, method, ...prefixed('latency_ms', d) });
    }
    const sizes = [...new Set(rows.filter((r) => !isMessage(r)).map((r) => Number(r.labels.bytes)))].sort((a, b) => a - b);
    for (const bytes of sizes) {
      for (const method of TRANSFER_METHODS) {
        const ms = rows.filter((r) => r.labels.method === method && Number(r.labels.bytes) === bytes).map(transferMs).filter((x): x is number => x !== null);
        const d = describe(ms);
        transfers.push({ variant, preset, method, bytes, ...prefixed('transfer_ms', d), mib_per_s_median: d.median === null ? null : mibPerS(bytes, d.median) });
      }
    }
  }
  const summary: Row[] = [
    ...messages.map((m) => ({ variant: m.variant!, measure: 'message round trip', method: m.method!, bytes: null, n: m.latency_ms_n!, median_ms: m.latency_ms_median!, p90_ms: m.latency_ms_p90!, mib_per_s: null })),
    ...transfers.map((t) => ({ variant: t.variant!, measure: 'transfer', method: t.method!, bytes: t.bytes!, n: t.transfer_ms_n!, median_ms: t.transfer_ms_median!, p90_ms: t.transfer_ms_p90!, mib_per_s: t.mib_per_s_median! })),
  ];
  const notes = [exclusionNote('sessions', raw)];
  const largest = Math.max(0, ...transfers.map((t) => Number(t.bytes)));
  for (const [variant, rows] of groupBy(transfers.filter((t) => t.bytes === largest), (t) => String(t.variant))) {
    notes.push(`${variant}, ${largest / MIB} MiB: ${rows.map((t) => `${String(t.method)} ${String(t.transfer_ms_median)} ms (${String(t.mib_per_s_median)} MiB/s)`).join(', ')}.`);
  }
  return { metrics, tables: { summary, messages, transfers }, notes };
}

export const sessions: Experiment<SessionsConfig> = {
  name: 'sessions',
  description: 'Session functions and data pipes: message latency vs an execution per message; pipe vs storage vs payload, 1 KiB to 16 MiB; both presets.',
  figure: {
    id: 'fig-sessions',
    title: 'Sessions: message latency and moving bytes between functions',
    caption:
      'Left: client round trip of a message to a running session function and its answer, against one execution of a 1-Task workflow per message (median, 95% interval of the median, p90). ' +
      'Right: median time to move N bytes from one function to another by a data pipe, through context.storage, and as a workflow payload (log-log), per preset.',
  },
  workloads: [],
  sizes: {
    quick: { warmup: 5, messages: 30, transfers: 3, sizes: [1024, 64 * 1024, MIB] },
    full: { warmup: 50, messages: 500, transfers: 15, sizes: [1024, 16 * 1024, 256 * 1024, MIB, 4 * MIB, 16 * MIB] },
  },
  durations: { quick: '~30 s for both presets', full: '~8 min for both presets (estimated)' },
  run: measure,
  // The two message styles' latency (enough samples by construction); transfers are descriptive (a few per size).
  headline: (c) => MESSAGE_METHODS.map((method) => ({ metric: 'client_latency_ms', labels: { method }, samples: c.messages })),
  process: (raw) => process_(raw),
  chart: (processed) => sessionsSpec(processed.tables, sessions.figure),
};
