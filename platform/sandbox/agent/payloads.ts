/**
 * Payloads on the local bus are JSON bytes serialised once. A worker's result stays those bytes in the agent (a
 * RawJson the engine parses only where it reads into the value), so a result that passes through unchanged (the
 * output of one Task is the next Task's input, a checkpoint, the execution's output) goes on as the same bytes, to a
 * worker or across the sandbox wall as a frame's payload: never parsed, never escaped or re-serialised, and its size
 * is the frame's.
 */
import { jsonBytes, RawJson } from '../../asl/raw-json.js';

/** A function's result as it arrived: its bytes, unparsed. */
export function fromFramed(bytes: Buffer): RawJson {
  return new RawJson(bytes);
}

/** What to frame for `value`: the bytes it arrived as when it passes through, else its JSON, serialised and encoded now. */
export function toFramed(value: unknown): Buffer {
  return jsonBytes(value);
}
