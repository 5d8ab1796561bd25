/**
 * `node dist/experiments/bench/sessions.js [--quick] [--out dir]`: what sessions buy (docs/sessions.md#measured),
 * under both presets, each on its own platform (process backend):
 *
 * - message latency: a client's message to a running session function and its answer back (POST the message, the
 *   answer read by a GET already waiting), against the per-event style, one sync execution of a 1-Task workflow per
 *   message; both over HTTP from the same client;
 * - moving N bytes (1 KiB to 16 MiB) from one function to another: through a data pipe, through context.storage
 *   (put, a message with the key, get), each until the receiver has acknowledged them (sender's clock), and as a
 *   workflow payload between two Tasks (the hop from the first's handlerEnd to the second's handlerStart).
 *
 * The probes (session-probes.ts, shared with the `sessions` experiment) measure; this script only collects their
 * samples; summarize computes; summaryTable formats. The raw samples and the run manifest
 * are written before anything is printed.
 */
import { parseArgs } from 'node:util';
import { median, quantileSorted } from 'simple-statistics';
import { startPlatform } from '../../platform/frontend/index.js';
import { MicroFunctionsClient } from '../../platform/sdk/client.js';
import { formatTable } from '../../report/table.js';
import { runManifest } from '../manifest.js';
import { freshDataDir, recordAndReport, removeDataDirs, runIfMain } from './common.js';
import { MAX_RESULT_BYTES, SessionProbes, sessionBenchApp, TRANSFER_METHODS, type TransferMethod } from './session-probes.js';

const PRESETS = ['grouped', 'per-function'] as const;
const TRANSFER_SIZES = [1024, 16 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024, 16 * 1024 * 1024];

interface Sizes {
  warmup: number;
  messages: number;
  transfers: number;
}
const SIZES: Record<'full' | 'quick', Sizes> = {
  full: { warmup: 50, messages: 500, transfers: 15 },
  quick: { warmup: 20, messages: 100, transfers: 5 },
};

type Mode = TransferMethod;

interface PresetSamples {
  preset: string;
  /** Client round trips in ms: a message to a running session function and back; one execution per message. */
  sessionMessage: number[];
  perEvent: number[];
  /** Transfer times in ms, per mode and size. */
  transfers: Array<{ mode: Mode; bytes: number; ms: number }>;
}

type Samples = PresetSamples[];

async function measurePreset(preset: string, sizes: Sizes, progress: (s: string) => void): Promise<PresetSamples> {
  const dataDir = await freshDataDir('bench-sessions');
  const p = await startPlatform({ port: 0, dataDir, preset: preset as 'grouped', maxResultBytes: MAX_RESULT_BYTES, keepHistory: false });
  try {
    const client = new MicroFunctionsClient({ url: p.url, token: p.token });
    await client.deploy(sessionBenchApp('sb'));
    const probes = await SessionProbes.open(client, 'sb');

    // (a) interleaved, so both styles see the same machine.
    const out: PresetSamples = { preset, sessionMessage: [], perEvent: [], transfers: [] };
    progress(`${preset}: ${sizes.warmup} + ${sizes.messages} message round trips each way`);
    for (let i = 0; i < sizes.warmup + sizes.messages; i++) {
      const message = await probes.message(i);
      const perEvent = await probes.perEvent(i);
      if (i < sizes.warmup) continue;
      out.sessionMessage.push(message.received - message.sent);
      out.perEvent.push(perEvent.received - perEvent.sent);
    }

    // (b) each size, the three modes interleaved; the first round of each is a warm-up.
    for (const bytes of TRANSFER_SIZES) {
      progress(`${preset}: ${sizes.transfers} transfers of ${bytes} bytes by pipe, storage and payload`);
      for (let r = 0; r < sizes.transfers + 1; r++) {
        for (const mode of TRANSFER_METHODS) {
          const t = await probes.transfer(mode, bytes);
          if (r > 0) out.transfers.push({ mode, bytes, ms: t.ms });
        }
      }
    }
    await probes.close();
    return out;
  } finally {
    await p.close();
    await removeDataDirs([dataDir]);
  }
}

interface Quantiles {
  n: number;
  p50: number;
  p90: number;
}

function quantiles(samples: number[]): Quantiles {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, p50: median(sorted), p90: quantileSorted(sorted, 0.9) };
}

interface Summary {
  presets: Array<{
    preset: string;
    sessionMessage: Quantiles;
    perEvent: Quantiles;
    /** Per size: median ms and MiB/s per mode. */
    transfers: Array<{ bytes: number } & Record<Mode, { p50Ms: number; mibPerS: number }>>;
  }>;
}

function summarize(samples: Samples): Summary {
  return {
    presets: samples.map((s) => ({
      preset: s.preset,
      sessionMessage: quantiles(s.sessionMessage),
      perEvent: quantiles(s.perEvent),
      transfers: TRANSFER_SIZES.map((bytes) => {
        const of = (mode: Mode) => {
          const p50Ms = median(s.transfers.filter((t) => t.mode === mode && t.bytes === bytes).map((t) => t.ms));
          return { p50Ms, mibPerS: bytes / (1024 * 1024) / (p50Ms / 1000) };
        };
        return { bytes, pipe: of('pipe'), storage: of('storage'), payload: of('payload') };
      }),
    })),
  };
}

function summaryTable(summary: Summary): string {
  const ms = (v: number) => v.toFixed(2);
  const size = (b: number) => (b >= 1024 * 1024 ? `${b / (1024 * 1024)} MiB` : `${b / 1024} KiB`);
  const parts: string[] = [];
  for (const p of summary.presets) {
    parts.push(
      `${p.preset}: message round trip to a running session function vs one execution per message (client, ms)`,
      formatTable(['style', 'n', 'p50', 'p90'], [
        ['session message', p.sessionMessage.n, ms(p.sessionMessage.p50), ms(p.sessionMessage.p90)],
        ['execution per message', p.perEvent.n, ms(p.perEvent.p50), ms(p.perEvent.p90)],
      ]),
      `${p.preset}: moving bytes between two functions (median ms, MiB/s)`,
      formatTable(
        ['size', 'pipe ms', 'pipe MiB/s', 'storage ms', 'storage MiB/s', 'payload ms', 'payload MiB/s'],
        p.transfers.map((t) => [size(t.bytes), ms(t.pipe.p50Ms), t.pipe.mibPerS.toFixed(0), ms(t.storage.p50Ms), t.storage.mibPerS.toFixed(0), ms(t.payload.p50Ms), t.payload.mibPerS.toFixed(0)]),
      ),
    );
  }
  return parts.join('\n\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } } });
  const sizes = values.quick ? SIZES.quick : SIZES.full;
  const manifest = runManifest('bench-sessions', { sizes, backend: 'process', presets: PRESETS, transferSizes: TRANSFER_SIZES, maxResultBytes: MAX_RESULT_BYTES });
  const progress = (s: string) => process.stderr.write(`[bench] ${s}\n`);
  const samples: Samples = [];
  for (const preset of PRESETS) samples.push(await measurePreset(preset, sizes, progress));
  await recordAndReport(manifest, samples, values.out, summarize, summaryTable);
}

runIfMain(import.meta.url, 'bench-sessions', main);
