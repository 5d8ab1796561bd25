/**
 * The claims the testbed exists to check, with what their sources say: the one declarative place for claimed numbers
 * and citations (docs/experiments.md#claims). The claims step (experiments/claims/step.ts) measures each one from a
 * run's records and judges its direction (verdict.ts); nothing else in the code states a claimed number.
 *
 * A claimed value is given only where the source states it in words we could check (the abstract); where the number
 * lives only in a figure of the paper, `value` is null and the text says so, rather than a number read off a plot.
 */

export interface ClaimSource {
  /** Authors, title, venue, year. */
  paper: string;
  /** Where in the paper: section, figure or abstract. */
  where: string;
  url: string;
}

export interface Claim {
  id: string;
  /** The claim in one sentence. */
  statement: string;
  /** The direction this run checks, in words (what "reproduced" means). */
  direction: string;
  /** What the measured number is, with its unit. */
  measured: string;
  claimed: { value: number | null; text: string };
  source: ClaimSource;
}

const SAND: Omit<ClaimSource, 'where'> = {
  paper: 'Akkus et al., "SAND: Towards High-Performance Serverless Computing", USENIX ATC 2018',
  url: 'https://www.usenix.org/conference/atc18/presentation/akkus',
};

const NFV: Omit<ClaimSource, 'where'> = {
  paper: 'Aditya et al., "Will Serverless Computing Revolutionize NFV?", Proceedings of the IEEE, 2019',
  url: 'https://ieeexplore.ieee.org/document/8653379',
};

export const CLAIMS = {
  interactionLatency: {
    id: 'sand-interaction-latency',
    statement: 'Functions of one application interact faster inside one sandbox over the local bus than across per-function sandboxes.',
    direction: 'warm per-hop latency: per-function / grouped > 1',
    measured: 'ratio of the warm per-hop latency, per-function over grouped (chain-length: (median at the longest chain - median at length 1) / extra hops)',
    claimed: { value: null, text: 'lower function-interaction latency through application-level sandboxing and the hierarchical message bus; the size of the gain is shown in the paper\'s evaluation figures, not transcribed here' },
    source: { ...SAND, where: 'abstract; design of the hierarchical message bus and its evaluation' },
  },
  pipelineOverhead: {
    id: 'nfv-fig2-overhead',
    statement: "A four-stage image pipeline's total runtime is well above the sum of its functions' compute times.",
    direction: 'median total / median compute > 1',
    measured: 'ratio of the median end-to-end time to the median sum of handler times (image-pipeline sequential, warm)',
    claimed: { value: null, text: 'total runtime far above compute time on the serverless platforms measured; the bars are in the figure, not transcribed here' },
    source: { ...NFV, where: 'Fig. 2 (image processing pipeline: total runtime vs compute time)' },
  },
  pipelineSpeedup: {
    id: 'sand-pipeline-speedup',
    statement: 'On an image processing application, SAND is faster than a container-per-function platform (Apache OpenWhisk).',
    direction: 'median total time: per-function / grouped > 1',
    measured: 'ratio of the median end-to-end time of the image pipeline, per-function over grouped',
    claimed: { value: 1.43, text: '"a 43% speedup compared to Apache OpenWhisk" (read here as a time ratio of 1.43; the abstract does not define speedup)' },
    source: { ...SAND, where: 'abstract' },
  },
  costCrossover: {
    id: 'nfv-fig4-crossover',
    statement: 'Serverless is cheaper than VMs provisioned for the peak while spikes are few; as spikes grow, the VMs become cheaper.',
    direction: 'a crossover exists: Lambda cheaper at 0 spikes a day, dearer at the most spikes',
    measured: 'spikes a day at which the cost model (dated price tables) crosses over',
    claimed: { value: null, text: 'a crossover number of spikes per day; the curve is in the figure, not transcribed here' },
    source: { ...NFV, where: 'Fig. 4 (cost of serverless vs VMs as spikes grow)' },
  },
  selfHostedMemory: {
    id: 'nfv-fig4-self-hosted',
    statement: 'Under spikes, grouped sandboxing holds fewer resources than a sandbox per function (self-hosted panel of Fig. 4).',
    direction: 'memory GiB-s held over the spiky schedule: per-function / grouped > 1',
    measured: "ratio of the sandboxes' memory integrated over this run's spiky schedule and tail, per-function over grouped",
    claimed: { value: null, text: '"better resource efficiency" than existing platforms; no number for this workload' },
    source: { ...SAND, where: 'abstract; with the spiky schedule of the NFV paper, Fig. 4' },
  },
  coldStartLadder: {
    id: 'cold-start-ladder',
    statement: 'Starting a function costs less the more is already running: warm < pre-booted pool < cold worker < cold sandbox.',
    direction: 'each rung\'s median latency below the next: warm < pool < cold worker < cold sandbox',
    measured: 'the smallest ratio between adjacent rungs (next rung / this rung); the rungs\' medians are in the row',
    claimed: { value: null, text: 'forking a process inside a running sandbox starts a function faster than starting a new container; the startup figures are not transcribed here' },
    source: { ...SAND, where: 'application-level sandboxing and its startup-latency evaluation' },
  },
} as const satisfies Record<string, Claim>;

export type ClaimKey = keyof typeof CLAIMS;

/** Platforms whose Fig. 2 row says "not configured" unless the run measured them (docs/platforms.md). */
export const REMOTE_PLATFORMS = ['openwhisk', 'openfaas'] as const;
