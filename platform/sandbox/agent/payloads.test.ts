/** Pass-through payloads keep the bytes they were framed as; everything else is serialised once, on demand. */
import { describe, expect, it } from 'vitest';
import { framedBytes, fromFramed, toFramed } from './payloads.js';

describe('local-bus payloads', () => {
  it('a value that passes through goes out as the very bytes it came in as (no second serialisation)', () => {
    // Whitespace JSON.stringify would never produce: only the original bytes can carry it out again.
    const bytes = Buffer.from('{ "a" : [1, 2],  "é": "ü" }');
    const value = fromFramed(bytes);
    expect(value).toEqual({ a: [1, 2], é: 'ü' });
    expect(toFramed(value)).toBe(bytes);
  });

  it('a new value (a Parameters result, a ResultPath merge) is serialised once, as UTF-8 JSON', () => {
    const passed = fromFramed(Buffer.from('{"x":1}')) as Record<string, unknown>;
    const merged = { ...passed, y: 'é' };
    const out = toFramed(merged);
    expect(out.toString()).toBe('{"x":1,"y":"é"}');
    expect(framedBytes(out)).toBe(16); // 'é' is two bytes: sizes are bytes, not characters
  });

  it('primitives and null frame as their JSON text', () => {
    expect(toFramed(null).toString()).toBe('null');
    expect(toFramed('s').toString()).toBe('"s"');
    expect(toFramed(3).toString()).toBe('3');
    expect(fromFramed(Buffer.from('"s"'))).toBe('s');
  });
});
