/** The app of a one-function workload: a single Task state `Run` calling the function (the microbenchmarks use it). */
import { join } from 'node:path';
import type { AppManifest, FunctionManifest } from '../platform/manifest.js';
import { workloadDir } from './paths.js';

export function singleTaskApp(name: string, fn: string, extra: Partial<Omit<FunctionManifest, 'name' | 'handler' | 'code'>> = {}): AppManifest {
  return {
    name,
    functions: [{ name: fn, handler: 'index.handler', code: { dir: join(workloadDir(name), 'functions', fn) }, ...extra }],
    workflows: { main: { Comment: `${name}: one Task`, StartAt: 'Run', States: { Run: { Type: 'Task', Resource: fn, End: true } } } },
  };
}

/** The output as a plain object, or a reason why it is not one. */
export function asObject(output: unknown): Record<string, unknown> | string {
  if (typeof output !== 'object' || output === null || Array.isArray(output)) return `output is not an object: ${JSON.stringify(output)?.slice(0, 80)}`;
  return output as Record<string, unknown>;
}
