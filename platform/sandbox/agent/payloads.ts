/**
 * Payloads on the local bus are JSON bytes serialised once. A value parsed from a worker's result remembers the
 * bytes it came from, so when it passes through unchanged (the output of one Task is the next Task's input) the same
 * bytes go out again: never re-serialised, and its size is the frame's, never a second JSON.stringify. Sound because
 * the engine never mutates a payload (ResultPath is copy-on-write, platform/asl/run.ts), and nothing else in the
 * agent writes to one.
 */
const framed = new WeakMap<object, Buffer>();

/** A function's result as it arrived: the parsed value, remembered with its bytes. */
export function fromFramed(bytes: Buffer): unknown {
  const value: unknown = JSON.parse(bytes.toString('utf8'));
  if (typeof value === 'object' && value !== null) framed.set(value, bytes);
  return value;
}

/** What to frame for `value`: the bytes it arrived as when it passes through, else its JSON text, serialised now. */
export function toFramed(value: unknown): Buffer | string {
  if (typeof value === 'object' && value !== null) {
    const known = framed.get(value);
    if (known !== undefined) return known;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A framed payload's size in bytes (UTF-8 for text): what the records call inputBytes and outputBytes. */
export function framedBytes(payload: Buffer | string): number {
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
}
