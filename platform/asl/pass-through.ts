/**
 * Where a Task leaves a value as it is: the engine then need not look into it. Read by the engine (a result carried
 * as raw bytes, asl/raw-json.ts) and by the sandbox agent's hand-over plan (a result sent worker to worker), so the
 * two agree on what "unchanged" means.
 */
import type { State, TaskState } from './model.js';

/** A named function's Task whose result (not wrapped as lambda:invoke wraps it) becomes its output unchanged. */
export function passesResultThrough(s: TaskState): boolean {
  return s.resource.kind === 'lambda' && s.jsonata === null && s.resultSelector === null && s.resultPath === undefined && s.outputPath === undefined;
}

/** A Task that calls a named function with its input unchanged (no InputPath, Parameters or path-given limits). */
export function takesInputAsIs(s: State): s is TaskState & { resource: { kind: 'lambda'; functionName: string } } {
  return (
    s.type === 'Task' &&
    s.resource.kind === 'lambda' &&
    s.jsonata === null &&
    s.inputPath === undefined &&
    s.parameters === null &&
    s.timeoutSecondsPath === undefined &&
    s.heartbeatSecondsPath === undefined
  );
}
