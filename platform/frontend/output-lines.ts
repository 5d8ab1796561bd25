/**
 * Splits what a sandbox prints into lines for the app's logs. A line is cut at MAX_LINE_CHARS so that a function
 * printing without newlines cannot grow the frontend's memory.
 */
import type { Readable } from 'node:stream';

export const MAX_LINE_CHARS = 8192;

export function forEachLine(stream: Readable, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) onLine(line.length > MAX_LINE_CHARS ? line.slice(0, MAX_LINE_CHARS) : line);
    while (partial.length > MAX_LINE_CHARS) {
      onLine(partial.slice(0, MAX_LINE_CHARS));
      partial = partial.slice(MAX_LINE_CHARS);
    }
  });
  stream.once('end', () => {
    if (partial !== '') onLine(partial);
  });
  stream.on('error', () => undefined); // the sandbox went away mid-write: what came is kept
}
