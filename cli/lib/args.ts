/** Argument helpers shared by the commands: global options, the client they imply, input and --param parsing. */
import { readFileSync } from 'node:fs';
import { MicroFunctionsClient } from '../../platform/sdk/client.js';
import type { WorkloadParams } from '../../workloads/types.js';
import { UsageError } from './output.js';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** Options every command takes. */
export interface GlobalOptions {
  url: string | undefined;
  token: string | undefined;
}

/** The client for --url / --token (falling back to $MFBENCH_URL / $MFBENCH_TOKEN). */
export function clientFrom(argv: { url?: string | undefined; token?: string | undefined }): MicroFunctionsClient {
  const url = argv.url ?? process.env.MFBENCH_URL ?? DEFAULT_URL;
  const token = argv.token ?? process.env.MFBENCH_TOKEN;
  return new MicroFunctionsClient({ url, token: token === '' ? undefined : token });
}

/** The event from --input (JSON text) or --input-file (a JSON file, or - for stdin); `{}` when neither is given. */
export function readInput(argv: { input?: string | undefined; inputFile?: string | undefined }): unknown {
  if (argv.input !== undefined && argv.inputFile !== undefined) throw new UsageError('give either --input or --input-file, not both');
  if (argv.inputFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(argv.inputFile === '-' ? 0 : argv.inputFile, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --input-file ${argv.inputFile}: ${(err as Error).message}`, { path: argv.inputFile });
    }
    return parseJson(text, `--input-file ${argv.inputFile}`);
  }
  if (argv.input !== undefined) return parseJson(argv.input, '--input');
  return {};
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/** `--param key=value` (repeatable) -> { key: value }; numeric-looking values stay strings (workloads parse them). */
export function parseParams(raw: readonly (string | number)[] | undefined): WorkloadParams {
  const params: WorkloadParams = {};
  for (const item of raw ?? []) {
    const s = String(item);
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param must be key=value, got "${s}"`);
    params[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return params;
}
