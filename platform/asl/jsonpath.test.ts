import { describe, expect, test } from 'vitest';
import { PathNotFound, PathSetError, evaluate, isPath, parsePath, setPath } from './jsonpath.js';

const ev = (p: string, data: unknown, ctx?: unknown) => evaluate(parsePath(p), data, () => ctx);

describe('JSONPath: the AWS documentation examples', () => {
  // "Using JSONPath paths" (Reference Paths) in the Step Functions developer guide.
  const input = { foo: 123, bar: ['a', 'b', 'c'], car: { cdr: true }, jar: [{ a: 1 }, { a: 5 }, { a: 2 }, { a: 7 }, { a: 3 }] };
  test.each([
    ['$.foo', 123],
    ['$.bar', ['a', 'b', 'c']],
    ['$.car.cdr', true],
    ['$.jar[?(@.a >= 5)]', [{ a: 5 }, { a: 7 }]],
  ])('%s', (p, expected) => expect(ev(p, input)).toEqual(expected));

  test("bracket notation for names with special characters: $.abc.['def ghi']", () => {
    expect(ev("$.abc.['def ghi']", { abc: { 'def ghi': 1 } })).toBe(1);
    expect(ev("$['a-b']['c d']", { 'a-b': { 'c d': 2 } })).toBe(2);
  });

  test('flattening an array of arrays with $[*][*] (ResultSelector example)', () => {
    expect(ev('$[*][*]', [[1, 2], [3], []])).toEqual([1, 2, 3]);
  });

  test('the spec Parameters example: $.vals[0] and $.vals[-3:]', () => {
    const vals = { flagged: 7, vals: [0, 10, 20, 30, 40, 50] };
    expect(ev('$.vals[0]', vals)).toBe(0);
    expect(ev('$.vals[-3:]', vals)).toEqual([30, 40, 50]);
  });
});

describe('JSONPath: Jayway semantics', () => {
  const data = { store: { book: [{ t: 'a', p: 8 }, { t: 'b', p: 12, isbn: 'x' }, { t: 'c', p: 9 }], bike: { p: 20 } }, 'hy-phen': 1 };

  test('$ is the whole document and $$ the context object', () => {
    expect(ev('$', data)).toBe(data);
    expect(ev('$$.State.Name', null, { State: { Name: 'S' } })).toBe('S');
  });
  test('dot names may contain hyphens', () => expect(ev('$.hy-phen', data)).toBe(1));
  test('negative index, slices, unions', () => {
    const a = [0, 1, 2, 3, 4, 5];
    expect(ev('$[-1]', a)).toBe(5);
    expect(ev('$[1:3]', a)).toEqual([1, 2]);
    expect(ev('$[:2]', a)).toEqual([0, 1]);
    expect(ev('$[4:]', a)).toEqual([4, 5]);
    expect(ev('$[::2]', a)).toEqual([0, 2, 4]);
    expect(ev('$[0,2]', a)).toEqual([0, 2]);
  });
  test("a multi-name bracket at the end gives an object of the names that exist", () => {
    expect(ev("$['a','b','z']", { a: 1, b: 2, c: 3 })).toEqual({ a: 1, b: 2 });
  });
  test('wildcards over objects and arrays', () => {
    expect(ev('$.store.book[*].t', data)).toEqual(['a', 'b', 'c']);
    expect(ev('$.store.*', data)).toEqual([data.store.book, data.store.bike]);
  });
  test('deep scan collects in document order', () => {
    expect(ev('$..p', data)).toEqual([8, 12, 9, 20]);
    expect(ev('$.store..t', data)).toEqual(['a', 'b', 'c']);
  });
  test('filters: comparison, existence, logic, regex, in', () => {
    expect(ev('$.store.book[?(@.p < 10)].t', data)).toEqual(['a', 'c']);
    expect(ev('$.store.book[?(@.isbn)].t', data)).toEqual(['b']);
    expect(ev("$.store.book[?(@.p > 8 && @.t != 'b')].t", data)).toEqual(['c']);
    expect(ev("$.store.book[?(@.t == 'a' || @.t == 'c')].p", data)).toEqual([8, 9]);
    expect(ev('$.store.book[?(!(@.p > 8))].t', data)).toEqual(['a']);
    expect(ev('$.store.book[?(@.t =~ /[bc]/)].t', data)).toEqual(['b', 'c']);
    expect(ev("$.store.book[?(@.t in ['a','b'])].p", data)).toEqual([8, 12]);
    expect(ev('$.store.book[?(@.p == $.store.bike.p)]', data)).toEqual([]);
  });
  test('the kit case 04: filter on a numeric field', () => {
    const users = { users: [{ year: 1997, status: 0 }, { year: 1998, status: 1 }] };
    expect(ev('$.users[?(@.status == 0)]', users)).toEqual([{ year: 1997, status: 0 }]);
  });
  test('an indefinite path over a missing field is [] (kit case 05)', () => {
    expect(ev('$.items[*]', {})).toEqual([]);
    expect(ev('$.a.b[*]', {})).toEqual([]);
  });
  test('a definite path over a missing field throws PathNotFound naming where it stopped', () => {
    expect(() => ev('$.no.such.path', {})).toThrow(PathNotFound);
    expect(() => ev('$.no.such.path', {})).toThrow("Invalid path '$.no.such.path' : Missing property in path $['no']");
    expect(() => ev('$.a[3]', { a: [1] })).toThrow(PathNotFound);
    expect(() => ev('$.a.b', { a: 'string' })).toThrow(PathNotFound);
  });
  test('present null is a value, not a missing field', () => expect(ev('$.a', { a: null })).toBeNull());
  test('definite vs indefinite', () => {
    expect(parsePath('$.a[0].b').definite).toBe(true);
    expect(parsePath('$.a[*]').definite).toBe(false);
    expect(parsePath('$..a').definite).toBe(false);
    expect(parsePath('$.a[?(@.x)]').definite).toBe(false);
  });
  test.each(['', 'a.b', '$.', '$[', "$['a", '$.a[?(@.x', '$.a]', '@.a'])('rejects malformed path %j', (p) => {
    expect(isPath(p)).toBe(false);
  });
});

describe('setPath (ResultPath)', () => {
  test('the spec example: ResultPath $.sum keeps the raw input', () => {
    const raw = { title: 'Numbers to add', numbers: { val1: 3, val2: 4 } };
    expect(setPath(parsePath('$.sum'), raw, 7)).toEqual({ title: 'Numbers to add', numbers: { val1: 3, val2: 4 }, sum: 7 });
  });
  test('creates missing objects and never mutates the input (copy-on-write)', () => {
    const raw = { a: { keep: 1 }, other: { big: [1, 2, 3] } };
    const snapshot = structuredClone(raw);
    const out = setPath(parsePath('$.a.b.c'), raw, 'v') as typeof raw & { a: { b: { c: string } } };
    expect(out).toEqual({ a: { keep: 1, b: { c: 'v' } }, other: { big: [1, 2, 3] } });
    expect(raw).toEqual(snapshot);
    expect(out.other).toBe(raw.other); // untouched branches are shared
  });
  test('writes into an existing array element', () => {
    expect(setPath(parsePath('$.a[1]'), { a: [1, 2, 3] }, 9)).toEqual({ a: [1, 9, 3] });
  });
  test('fails when the path crosses a non-object', () => {
    expect(() => setPath(parsePath('$.a.b'), { a: 'text' }, 1)).toThrow(PathSetError);
    expect(() => setPath(parsePath('$.a'), 'text', 1)).toThrow(PathSetError);
  });
});
