/**
 * A payload already serialised. A request's body arrives as JSON text and is parsed once; where that value is sent
 * on (a journal, a broker message), the text it came as is sent rather than the value serialised again
 * (docs/architecture.md, "never serialise a payload twice"). Sound because a payload is never mutated on the path.
 */

/** JSON text to send as it is: a bus publishes its text unchanged. */
export class JsonText {
  constructor(readonly text: string) {}
}

/** The JSON text of a payload: a JsonText's own text, anything else serialised (once, here). */
export function jsonTextOf(payload: unknown): string {
  if (payload instanceof JsonText) return payload.text;
  const text = JSON.stringify(payload);
  if (text === undefined) throw new TypeError('the payload is not a JSON value');
  return text;
}

/**
 * `head` with one more field whose value is already JSON text, as JSON text: the head (small) is serialised, the
 * field's text is spliced in as it is. `head` must not have `field` itself.
 */
export function withJsonField(head: object, field: string, fieldJson: string): JsonText {
  const text = JSON.stringify(head);
  const sep = text === '{}' ? '' : ',';
  return new JsonText(`${text.slice(0, -1)}${sep}${JSON.stringify(field)}:${fieldJson}}`);
}
