/**
 * A JSON value the engine carries without looking into it: a function's result as the bytes its worker framed
 * (docs/architecture.md#decisions). Whoever runs the engine may hand one back from a Task; the engine parses it only
 * where it reads into the value (a path, a template, a Choice, a Catch's ResultPath...) and otherwise passes it on as
 * it came, so a result that only flows from one Task to the next is never parsed nor serialised again by the agent.
 */
import { runtimeError } from './errors.js';

const UNPARSED: unique symbol = Symbol('unparsed');

export class RawJson {
  #value: unknown = UNPARSED;

  /** `bytes` must be JSON text in UTF-8; it is checked when (and only if) someone reads the value. */
  constructor(readonly bytes: Buffer) {}

  /**
   * The JSON text, decoded now: not kept, so a payload is not held twice (bytes and text) for the rare reader that
   * wants text (a journal line, a stored answer), which reads it once.
   */
  get text(): string {
    return this.bytes.toString('utf8');
  }

  /** The parsed value (parsed once, on first use); bytes that are not JSON fail the execution with States.Runtime. */
  get value(): unknown {
    if (this.#value === UNPARSED) {
      try {
        this.#value = JSON.parse(this.text);
      } catch (err) {
        throw runtimeError(`a function's result is not JSON: ${(err as Error).message}`);
      }
    }
    return this.#value;
  }

  /** Serialised whole (a history event, a value nested by a template) it is its value. */
  toJSON(): unknown {
    return this.value;
  }
}

/** The value itself, parsing a RawJson; anything else is returned as is. */
export function plain(v: unknown): unknown {
  return v instanceof RawJson ? v.value : v;
}

/** The JSON bytes of `v` to frame: a RawJson's own bytes (passed on as they came), anything else serialised once, now. */
export function jsonBytes(v: unknown): Buffer {
  return v instanceof RawJson ? v.bytes : Buffer.from(JSON.stringify(v) ?? 'null');
}
