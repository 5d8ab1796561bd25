/**
 * A workload is one self-describing folder (docs/conventions.md#5): its functions, the app it deploys (functions +
 * workflows), its input sizes, a deterministic input generator and an output validator.
 */
import type { Execution } from '../platform/api.js';
import type { AppManifest } from '../platform/manifest.js';
import type { MicroFunctionsClient } from '../platform/sdk/client.js';

/** Deploy-time parameters, e.g. `--param length=10` (values arrive as strings from the CLI). */
export type WorkloadParams = Record<string, string | number>;

export type Validation = { ok: true } | { ok: false; reason: string };

/**
 * `Input` is what generateInput makes; `_Output` documents what the workflow returns (unused by the interface:
 * validateOutput checks an `unknown`, since an output is only known good once it has passed).
 */
export interface Workload<Input = unknown, _Output = unknown> {
  /** Registry name and default app name, e.g. "noop-chain". */
  readonly name: string;
  /** One line for `--help` and docs. */
  readonly description: string;
  /** Named input sizes and what each means (e.g. { small: { payloadBytes: 16 } }). */
  readonly sizes: Record<string, unknown>;
  /** Deploy-time parameters this workload understands, with their meaning and default. */
  readonly params: Record<string, { description: string; default: string | number }>;
  /** The app to deploy. Function code is `{dir}`: an absolute folder in the source tree. Throws on a bad parameter. */
  app(params?: WorkloadParams): AppManifest;
  /** The workflow to execute by default. */
  readonly workflow: string;
  /** A deterministic input: the same size and seed always give the same value. Throws on an unknown size. */
  generateInput(size: string, seed: number): Input;
  /** Checks an execution's output against the input it was given. */
  validateOutput(input: Input, output: unknown): Validation;
  /**
   * Checks a FAILED execution (its ASL Error and Cause) against the input. Present on workloads whose sizes include
   * inputs that must fail (a non-image, an empty photo, a malformed record): for those it checks the failure is the
   * right one and names the stage; for any other input it says the failure was wrong. Without it, every failure is.
   */
  validateFailure?(input: Input, failure: ExecutionFailure): Validation;
  /**
   * Present on a workload whose service is more than one workflow execution (a session that streams its input, then
   * escalates): runs one input against the deployed app and answers the execution of `workflow` that ends it, which
   * validateOutput/validateFailure then judge. Without it, running an input is `client.execute(app, workflow, input)`.
   */
  drive?(client: WorkloadClient, app: string, input: Input): Promise<Execution>;
}

/** What a workload's driver may ask of a platform (the SDK's MicroFunctionsClient answers it). */
export type WorkloadClient = Pick<MicroFunctionsClient, 'execute' | 'startSession' | 'sendToSession' | 'receiveFromSession' | 'getSession' | 'stopSession'>;

/** What a FAILED execution reports: ASL's Error and Cause. */
export interface ExecutionFailure {
  error: string | null;
  cause: string | null;
}
