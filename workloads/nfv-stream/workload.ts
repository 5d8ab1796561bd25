/**
 * nfv-stream: the anomaly-detection chain of workloads/anomaly-detection as a long-running service (issue 16). A
 * `collector` session function is fed the flow samples as session messages and pipes each window's statistics to the
 * `detector` session function (a data pipe, worker to worker) as soon as the window closes; the detector judges each
 * window's destination entropy as it arrives and, when the stream ends, hands its verdict to the client, which
 * escalates to the heavy detector, victim identification and mitigation as ordinary Tasks (its `main` workflow,
 * the same functions as anomaly-detection's). Inputs and the validator are anomaly-detection's, so the two styles
 * are compared on the same traffic.
 */
import { join } from 'node:path';
import type { Execution } from '../../platform/api.js';
import { MfError } from '../../platform/errors.js';
import type { AppManifest } from '../../platform/manifest.js';
import { anomalyDetection, type AnomalyInput } from '../anomaly-detection/workload.js';
import { checkKnownParams, sizeOf } from '../params.js';
import { workloadDir } from '../paths.js';
import type { Validation, Workload, WorkloadClient, WorkloadParams } from '../types.js';

const SIZES: Record<string, string> = {
  small: "anomaly-detection's small: 2,000 flow samples over 60 s, streamed, with a UDP amplification DDoS on one server",
  clean: "anomaly-detection's clean: 2,000 flow samples of normal traffic, streamed: nothing may be emitted",
  medium: "anomaly-detection's medium: 10,000 samples with a DDoS, streamed",
};

/** Samples per message: ~60 KB of JSON, well under the session's 256 KiB message limit. */
const SAMPLES_PER_MESSAGE = 500;
/** How long the driver waits for the detector's verdict: reads of at most 30 s (the platform's bound), this many. */
const VERDICT_READS = 10;

/** The heavy stages' folders are links to anomaly-detection's: the same code, so the two styles compare like for like. */
const fn = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  handler: 'index.handler',
  code: { dir: join(workloadDir('nfv-stream'), 'functions', name) },
  ...extra,
});

/** anomaly-detection's workflow from its Choice on the entropy verdict on: what runs as Tasks after the stream. */
function escalateWorkflow(): Record<string, unknown> {
  const main = anomalyDetection.app().workflows.main as { States: Record<string, unknown> };
  const { Collect: _collect, EntropyDetector: _entropy, ...states } = main.States;
  return { Comment: 'nfv-stream: escalation after the streamed entropy verdict ($.stats, $.entropy)', StartAt: 'Suspected', States: states };
}

export const nfvStream: Workload<AnomalyInput, unknown> = {
  name: 'nfv-stream',
  description: 'NFV DDoS chain as a session: a collector pipes window statistics to an entropy detector, which escalates to Tasks.',
  sizes: SIZES,
  params: {},
  workflow: 'main',

  app(params: WorkloadParams = {}): AppManifest {
    checkKnownParams('nfv-stream', params, []);
    return {
      name: 'nfv-stream',
      functions: [
        fn('collector', { memoryMB: 512 }),
        fn('detector'),
        fn('heavy-detector', { memoryMB: 512 }),
        fn('identify-victim', { memoryMB: 512 }),
        fn('mitigate'),
      ],
      workflows: { main: escalateWorkflow() },
    };
  },

  generateInput(size: string, seed: number): AnomalyInput {
    sizeOf('nfv-stream', SIZES, size);
    return anomalyDetection.generateInput(size, seed);
  },

  validateOutput(input: AnomalyInput, output: unknown): Validation {
    return anomalyDetection.validateOutput(input, output);
  },

  async drive(client: WorkloadClient, app: string, input: AnomalyInput): Promise<Execution> {
    const session = await client.startSession(app, {
      functions: [
        { function: 'detector', alias: 'detector', input: {} },
        { function: 'collector', alias: 'collector', input: { windowMs: input.windowMs, detector: 'detector' } },
      ],
      policy: { onFailure: 'fail', maxLifetimeSeconds: 600 },
    });
    const id = session.sessionId;
    let judged = false;
    try {
      if (session.status !== 'RUNNING') throw ended(app, id, session.status, session.reason);
      // A send refused because the collector just failed (its session not yet marked so) is the session's failure.
      const feed = (message: unknown) =>
        client.sendToSession(app, id, message, 'collector').catch(async (err: unknown) => {
          const state = await client.getSession(app, id);
          throw state.status === 'RUNNING' || state.status === 'COMPLETED' ? err : ended(app, id, state.status, state.reason);
        });
      for (let i = 0; i < input.samples.length; i += SAMPLES_PER_MESSAGE) await feed({ samples: input.samples.slice(i, i + SAMPLES_PER_MESSAGE) });
      await feed({ end: true });
      for (let read = 0; read < VERDICT_READS; read++) {
        const [verdict] = await client.receiveFromSession(app, id, { count: 1, timeoutMs: 30_000 });
        if (verdict) {
          judged = true;
          return await client.execute(app, 'main', verdict.body);
        }
        const state = await client.getSession(app, id);
        if (state.status !== 'RUNNING' && state.status !== 'COMPLETED') throw ended(app, id, state.status, state.reason);
      }
      throw new MfError('MF_SESSION_ENDED', `nfv-stream: session ${id} gave no verdict in ${VERDICT_READS * 30} s`, { app, sessionId: id });
    } finally {
      // Once the detector has sent its verdict both instances end by themselves (the session COMPLETES, perhaps a
      // moment after the verdict); a driver that gave up before stops them.
      if (!judged) {
        const state = await client.getSession(app, id).catch(() => null);
        if (state?.status === 'RUNNING') await client.stopSession(app, id).catch(() => undefined);
      }
    }
  },
};

function ended(app: string, sessionId: string, status: string, reason: string | null): MfError {
  return new MfError('MF_SESSION_ENDED', `nfv-stream: session ${sessionId} is ${status} before its verdict: ${reason ?? '(no reason)'}`, { app, sessionId, status, reason });
}
