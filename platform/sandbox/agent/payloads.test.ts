/** Pass-through payloads keep the bytes they were framed as; everything else is serialised once, on demand. */
import { describe, expect, it } from 'vitest';
import { RawJson } from '../../asl/raw-json.js';
import { fromFramed, toFramed } from './payloads.js';

describe('local-bus payloads', () => {
  it('a result that passes through goes out as the very bytes it came in as, to a worker and across the wall alike', () => {
    // Whitespace JSON.stringify would never produce: only the original bytes can carry it out again.
    const bytes = Buffer.from('{ "a" : [1, 2],  "é": "ü" }');
    const value = fromFramed(bytes);
    expect(value).toBeInstanceOf(RawJson);
    expect(toFramed(value)).toBe(bytes);
    expect(value.text).toBe('{ "a" : [1, 2],  "é": "ü" }');
    expect(value.value).toEqual({ a: [1, 2], é: 'ü' }); // parsed only when someone reads it
  });

  it('a new value (a Parameters result, a ResultPath merge) is serialised and encoded once, as UTF-8 JSON', () => {
    const passed = fromFramed(Buffer.from('{"x":1}')).value as Record<string, unknown>;
    const out = toFramed({ ...passed, y: 'é' });
    expect(out.toString()).toBe('{"x":1,"y":"é"}');
    expect(out.length).toBe(16); // 'é' is two bytes: sizes are bytes, not characters
  });

  it('primitives and null frame as their JSON text', () => {
    expect(toFramed(null).toString()).toBe('null');
    expect(toFramed('s').toString()).toBe('"s"');
    expect(toFramed(3).toString()).toBe('3');
    expect(toFramed(undefined).toString()).toBe('null');
    expect(fromFramed(Buffer.from('"s"')).value).toBe('s');
  });
});
