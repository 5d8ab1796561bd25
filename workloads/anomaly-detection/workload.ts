/**
 * anomaly-detection: the serverless NFV chain of "Will Serverless Computing Revolutionize NFV?" (Figure 5): a
 * statistics collector over sampled packet headers (sFlow-like records) -> a lightweight entropy detector -> a
 * heavyweight detector (a count sketch over destinations) that confirms the attack -> victim identification -> a
 * traffic-manipulation step that emits the route update redirecting the victim's traffic. Choice states run the later
 * stages only when the earlier ones detect something, so the chain's latency depends on the data, as in real NFV.
 */
import { join } from 'node:path';
import type { AppManifest } from '../../platform/manifest.js';
import { checkKnownParams, sizeOf } from '../params.js';
import { workloadDir } from '../paths.js';
import { seededRandom } from '../random.js';
import type { ExecutionFailure, Validation, Workload, WorkloadParams } from '../types.js';

export interface FlowSample {
  t: number;
  src: string;
  dst: string;
  sp: number;
  dp: number;
  proto: number;
  bytes: number;
  pkts: number;
  rate: number;
}

export interface AnomalyInput {
  samples: FlowSample[];
  windowMs: number;
  /**
   * Ground truth, for the validator only: the functions never read it (collect passes on only its statistics).
   * `victim` is null when no attack was injected; `malformedIndex` names a record broken on purpose.
   */
  truth: { victim: string | null; attackStartMs: number | null; malformedIndex: number | null };
}

type SizeSpec = { samples: number; attack: boolean; malformed?: boolean; description: string };

const SIZES: Record<string, SizeSpec> = {
  small: { samples: 2000, attack: true, description: '2,000 flow samples over 60 s with a UDP amplification DDoS on one server from 40-70% of the interval on' },
  clean: { samples: 2000, attack: false, description: '2,000 flow samples over 60 s of normal traffic: nothing may be emitted' },
  medium: { samples: 10_000, attack: true, description: '10,000 samples with a DDoS' },
  large: { samples: 30_000, attack: true, description: '30,000 samples with a DDoS (~2.5 MB of JSON)' },
  malformed: { samples: 2000, attack: false, malformed: true, description: 'normal traffic with one malformed record: the execution must fail at collect' },
};

const INTERVAL_MS = 60_000;
const WINDOW_MS = 5000;
const SAMPLING_RATE = 1000;

function fn(name: string, extra: Record<string, unknown> = {}) {
  return { name, handler: 'index.handler', code: { dir: join(workloadDir('anomaly-detection'), 'functions', name) }, ...extra };
}

const ip = (a: number, b: number, c: number, d: number): string => `${a}.${b}.${c}.${d}`;

export const anomalyDetection: Workload<AnomalyInput, unknown> = {
  name: 'anomaly-detection',
  description: 'NFV DDoS chain (NFV paper Fig. 5): collector, entropy detector, count-sketch detector, victim identification, route update.',
  sizes: Object.fromEntries(Object.entries(SIZES).map(([k, v]) => [k, v.description])),
  params: {},
  workflow: 'main',

  app(params: WorkloadParams = {}): AppManifest {
    checkKnownParams('anomaly-detection', params, []);
    return {
      name: 'anomaly-detection',
      functions: [
        fn('collect', { memoryMB: 512 }),
        fn('entropy-detector'),
        fn('heavy-detector', { memoryMB: 512 }),
        fn('identify-victim', { memoryMB: 512 }),
        fn('mitigate'),
      ],
      workflows: {
        main: {
          Comment: 'anomaly-detection: the later stages run only when the earlier ones detect something',
          StartAt: 'Collect',
          States: {
            Collect: { Type: 'Task', Resource: 'collect', Next: 'EntropyDetector' },
            EntropyDetector: { Type: 'Task', Resource: 'entropy-detector', ResultPath: '$.entropy', Next: 'Suspected' },
            Suspected: { Type: 'Choice', Choices: [{ Variable: '$.entropy.suspected', BooleanEquals: true, Next: 'HeavyDetector' }], Default: 'NoAttack' },
            HeavyDetector: { Type: 'Task', Resource: 'heavy-detector', ResultPath: '$.heavy', Next: 'Confirmed' },
            Confirmed: { Type: 'Choice', Choices: [{ Variable: '$.heavy.confirmed', BooleanEquals: true, Next: 'IdentifyVictim' }], Default: 'NotConfirmed' },
            IdentifyVictim: { Type: 'Task', Resource: 'identify-victim', ResultPath: '$.victim', Next: 'Mitigate' },
            Mitigate: { Type: 'Task', Resource: 'mitigate', End: true },
            NoAttack: {
              Type: 'Pass',
              Parameters: { attack: false, routeUpdates: [], 'reason.$': '$.entropy.reason', 'samples.$': '$.stats.samples' },
              End: true,
            },
            NotConfirmed: {
              Type: 'Pass',
              Parameters: { attack: false, routeUpdates: [], reason: 'the entropy alarm was not confirmed by the count sketch', 'samples.$': '$.stats.samples' },
              End: true,
            },
          },
        },
      },
    };
  },

  generateInput(size: string, seed: number): AnomalyInput {
    const spec = sizeOf('anomaly-detection', SIZES, size);
    const rand = seededRandom(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const clients = Array.from({ length: 300 }, () => ip(10, Math.floor(rand() * 256), Math.floor(rand() * 256), 1 + Math.floor(rand() * 254)));
    const servers = Array.from({ length: 60 }, (_, k) => (k < 30 ? ip(192, 0, 2, 10 + k) : ip(198, 51, 100, 10 + k)));
    const services = [[6, 443], [6, 80], [6, 22], [17, 53], [6, 8080]] as const;
    const victim = spec.attack ? pick(servers) : null;
    const attackStartMs = spec.attack ? Math.floor((0.4 + rand() * 0.3) * INTERVAL_MS) : null;
    const samples: FlowSample[] = [];
    for (let i = 0; i < spec.samples; i++) {
      const t = Math.floor((i / spec.samples) * INTERVAL_MS + rand() * (INTERVAL_MS / spec.samples));
      const attacking = victim !== null && attackStartMs !== null && t >= attackStartMs && rand() < 0.6;
      if (attacking) {
        // Spoofed sources, UDP from an amplification service port (DNS 53 or NTP 123) to the victim.
        const sp = pick([53, 123]);
        samples.push({ t, src: ip(1 + Math.floor(rand() * 222), Math.floor(rand() * 256), Math.floor(rand() * 256), 1 + Math.floor(rand() * 254)), dst: victim, sp, dp: 1024 + Math.floor(rand() * 64000), proto: 17, bytes: 1200 + Math.floor(rand() * 300), pkts: 1, rate: SAMPLING_RATE });
        continue;
      }
      // Normal traffic: popular servers get more (a Zipf-like skew), from many clients.
      const server = servers[Math.min(servers.length - 1, Math.floor(servers.length * rand() ** 1.5))] as string;
      const [proto, dp] = pick(services);
      samples.push({ t, src: pick(clients), dst: server, sp: 1024 + Math.floor(rand() * 64000), dp, proto, bytes: 64 + Math.floor(rand() * 1400), pkts: 1, rate: SAMPLING_RATE });
    }
    let malformedIndex: number | null = null;
    if (spec.malformed) {
      malformedIndex = Math.floor(rand() * spec.samples);
      const s = samples[malformedIndex] as FlowSample;
      samples[malformedIndex] = { ...s, dst: '192.0.2.300' };
    }
    return { samples, windowMs: WINDOW_MS, truth: { victim, attackStartMs, malformedIndex } };
  },

  validateOutput(input: AnomalyInput, output: unknown): Validation {
    if (input.truth.malformedIndex !== null) return { ok: false, reason: `the execution succeeded, but flow record ${input.truth.malformedIndex} is malformed and must fail it at collect` };
    if (typeof output !== 'object' || output === null) return { ok: false, reason: 'output is not an object' };
    const o = output as { attack?: unknown; victim?: unknown; routeUpdates?: Array<{ match?: { destination?: string }; then?: { redirect?: string } }> };
    if (input.truth.victim === null) {
      if (o.attack !== false) return { ok: false, reason: `no attack was injected, but attack is ${JSON.stringify(o.attack)}` };
      if (!Array.isArray(o.routeUpdates) || o.routeUpdates.length !== 0) return { ok: false, reason: `no attack was injected, but route updates were emitted: ${JSON.stringify(o.routeUpdates)?.slice(0, 120)}` };
      return { ok: true };
    }
    if (o.attack !== true) return { ok: false, reason: `a DDoS on ${input.truth.victim} was injected, but attack is ${JSON.stringify(o.attack)}` };
    if (o.victim !== input.truth.victim) return { ok: false, reason: `the victim is ${input.truth.victim}, identified ${JSON.stringify(o.victim)}` };
    const u = o.routeUpdates?.[0];
    if (!Array.isArray(o.routeUpdates) || o.routeUpdates.length !== 1 || u?.match?.destination !== `${input.truth.victim}/32` || typeof u.then?.redirect !== 'string') {
      return { ok: false, reason: `expected one route update redirecting ${input.truth.victim}/32, got ${JSON.stringify(o.routeUpdates)?.slice(0, 160)}` };
    }
    return { ok: true };
  },

  validateFailure(input: AnomalyInput, failure: ExecutionFailure): Validation {
    const i = input.truth.malformedIndex;
    if (i === null) return { ok: false, reason: `the execution failed (${failure.error}: ${failure.cause?.slice(0, 200)}), but this input must succeed` };
    if (failure.error !== 'MalformedFlowRecord') return { ok: false, reason: `the execution failed with ${failure.error}, expected MalformedFlowRecord` };
    if (!(failure.cause ?? '').includes(`collect: flow record ${i} is malformed`)) return { ok: false, reason: `the cause does not name the stage and the record: ${failure.cause?.slice(0, 200)}` };
    return { ok: true };
  },
};
