/** JsonLineChannel framing over a real socket pair (TCP on loopback, port 0). */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonLineChannel } from './json-lines.js';

let server: Server | null = null;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A connected pair: `raw` writes bytes as the test wants; the channel reads them on the other end. */
async function pair(): Promise<{ raw: Socket; received: unknown[]; closed: Promise<void> }> {
  const received: unknown[] = [];
  let closedResolve!: () => void;
  const closed = new Promise<void>((r) => (closedResolve = r));
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer((s) => resolve(s));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server!.address() as { port: number };
  const raw = connect(port, '127.0.0.1');
  const sock = await accepted;
  new JsonLineChannel<unknown, unknown>(sock, (m) => received.push(m), () => closedResolve());
  await new Promise<void>((r) => (raw.connecting ? raw.once('connect', () => r()) : r()));
  return { raw, received, closed };
}

describe('JsonLineChannel', () => {
  it('frames messages split anywhere, several in one chunk, and UTF-8 cut mid-character', async () => {
    const { raw, received, closed } = await pair();
    const big = { data: 'x'.repeat(1_000_000), text: 'ü€𝄞 naïve' };
    const bytes = Buffer.from(`${JSON.stringify({ a: 1 })}\n${JSON.stringify({ b: 'é' })}\n${JSON.stringify(big)}\n${JSON.stringify({ c: '€' })}\n`);
    // Odd-sized pieces, so boundaries fall inside multi-byte characters and inside the large message.
    for (let i = 0; i < bytes.length; ) {
      const n = i < 100 ? 1 : 65_521;
      raw.write(bytes.subarray(i, i + n));
      i += n;
    }
    raw.end();
    await closed;
    expect(received).toEqual([{ a: 1 }, { b: 'é' }, big, { c: '€' }]);
  });

  it('delivers nothing for a line that never ends', async () => {
    const { raw, received, closed } = await pair();
    raw.end('{"a":1}\n{"b":');
    await closed;
    expect(received).toEqual([{ a: 1 }]);
  });
});
