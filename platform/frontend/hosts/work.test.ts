/**
 * The input of an execution is serialised at most once on its way to a host: the messages that carry it (the work
 * placed on a host, the `accepted` event in the execution journal) take the request body's text and splice it in,
 * never serialising the input again. A spy on JSON.stringify counts what is serialised.
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { acceptedMessage } from '../recovery.js';
import { workMessage } from './work.js';

const input = { data: 'x'.repeat(1024 * 1024), nested: { list: [1, 2, 3], text: 'é "quoted" \\ ' } };
// The body as a client sent it: its own spacing, which is kept, since the text is never made again.
const inputJson = JSON.stringify(input, null, 1);

afterEach(() => vi.restoreAllMocks());

/** JSON.stringify calls made while `build` runs, and what each serialised. */
function stringified(build: () => unknown): unknown[] {
  const spy = vi.spyOn(JSON, 'stringify');
  build();
  const args = spy.mock.calls.map((c) => c[0]);
  spy.mockRestore();
  return args;
}

describe('the messages that carry an input take its text', () => {
  test('workMessage serialises only the head and splices the input text in as it is', () => {
    const head = { executionId: 'e-1', app: 'a', workflow: 'main', fn: null, received: 1, startTime: 't', checkpoint: null, attempt: 0 };
    let text = '';
    const args = stringified(() => (text = workMessage(head, inputJson).text));
    expect(args).toEqual([head, 'input']); // the head and the field's name: never the input
    expect(text.includes(inputJson)).toBe(true); // byte for byte
    expect(JSON.parse(text)).toEqual({ ...head, input });
  });

  test('acceptedMessage does the same for the execution journal', () => {
    const head = { t: 'accepted' as const, app: 'a', workflow: 'main', received: 1, startTime: 't', frontend: 'f-1' };
    let text = '';
    const args = stringified(() => (text = acceptedMessage(head, inputJson).text));
    expect(args).toEqual([head, 'input']);
    expect(text.includes(inputJson)).toBe(true);
    expect(JSON.parse(text)).toEqual({ ...head, input });
  });

  test('an empty head and scalar inputs still make valid JSON', () => {
    expect(JSON.parse(acceptedMessage({} as never, '7').text)).toEqual({ input: 7 });
    expect(JSON.parse(workMessage({ executionId: 'e' } as never, '"s"').text)).toEqual({ executionId: 'e', input: 's' });
  });
});
