/**
 * What the OpenFaaS adapter and its function containers (wrapper.ts) agree on: the app descriptor baked into the
 * image, the evidence headers every answer carries, and the orchestrator's answer envelope.
 */
import type { ExecutionResult } from '../../platform/protocol.js';

/** Response headers set by the function wrapper (lower case, as Node and fetch report them). */
export const EVIDENCE = {
  /** A per-container id made when the wrapper starts: `<hostname>-<random>`. */
  container: 'x-mfbench-container',
  /** The container's hostname (the pod name on Kubernetes, the short container id on Docker). */
  host: 'x-mfbench-host',
  /** Epoch ms when the wrapper's process started. */
  boot: 'x-mfbench-boot',
  /** Epoch ms when the wrapper was ready to serve (handler loaded, port open). */
  ready: 'x-mfbench-ready',
  /** Requests this container has served, this one included (1 = the container's first request). */
  seq: 'x-mfbench-seq',
  /** The deployment generation the container was started with (MFBENCH_GENERATION; enforceColdStart changes it). */
  generation: 'x-mfbench-generation',
  /** Milliseconds the handler's module took to load, at container start. */
  initMs: 'x-mfbench-init-ms',
  /** Epoch ms when the wrapper had the request. */
  received: 'x-mfbench-received',
  /** Epoch ms around the handler call. */
  handlerStart: 'x-mfbench-handler-start',
  handlerEnd: 'x-mfbench-handler-end',
  /** `ok`, `error` (a Lambda-shaped error body, status 500) or `execution` (an orchestrator envelope). */
  outcome: 'x-mfbench-outcome',
  /** Request header from the orchestrator to a Task's function: the execution it belongs to. */
  executionIdRequest: 'x-mfbench-execution-id',
} as const;

/** One function of the app, as baked into the image (`/app/app.json`). */
export interface DescriptorFunction {
  name: string;
  /** The OpenFaaS function (service) name it is deployed as. */
  service: string;
  handler: string;
  /** Its code folder, relative to /app. */
  codeDir: string;
  memoryMB: number;
  timeoutSeconds: number;
  env: Record<string, string>;
}

export interface AppDescriptor {
  app: string;
  functions: DescriptorFunction[];
  workflows: Record<string, { service: string; definition: unknown }>;
}

/** What the orchestrator saw of one Task call through the gateway. */
export interface TaskCallEvidence {
  function: string;
  state: string;
  /** Orchestrator clock, epoch ms. */
  sent: number;
  received: number;
  /** HTTP status (0: the gateway could not be reached). */
  status: number;
  /** The answer's `x-*` headers (gateway's X-Call-Id / X-Start-Time, the watchdog's X-Duration-Seconds, ours). */
  headers: Record<string, string>;
  inputBytes: number;
  outputBytes: number;
  /** The error type when the call failed. */
  error: string | null;
}

/** The orchestrator's answer body. */
export interface OrchestratorEnvelope {
  executionId: string;
  result: ExecutionResult;
  calls: TaskCallEvidence[];
  /** Orchestrator clock, epoch ms: the execution started and completed. */
  started: number;
  completed: number;
}
