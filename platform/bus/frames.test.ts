/**
 * The local bus's framing over a real Unix socket pair: frames arrive whole and in order however the stream
 * splits them, and a payload's size is the byte count the sender framed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameChannel, type Frame } from './frames.js';

interface H {
  t: string;
  i: number;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Two ends of a real Unix-domain socket. */
async function socketPair(): Promise<[Socket, Socket]> {
  const dir = mkdtempSync(join(tmpdir(), 'mfframes-'));
  const path = join(dir, 's.sock');
  const server = createServer();
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const client = connect(path);
  const other = await accepted;
  cleanups.push(() => {
    client.destroy();
    other.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return [client, other];
}

describe('FrameChannel', () => {
  it('delivers headers and payloads whole, in order, with the framed byte count, over a real socket', async () => {
    const [a, b] = await socketPair();
    const got: Frame<H>[] = [];
    const sender = new FrameChannel<H, H>(a, () => undefined);
    const all = new Promise<void>((resolve) => {
      new FrameChannel<H, H>(b, (f) => {
        got.push(f);
        if (got.length === 4) resolve();
      });
    });
    const big = JSON.stringify({ data: 'é'.repeat(300_000) }); // multi-byte text, larger than one socket read
    sender.send({ t: 'small', i: 0 }, '{"n":1}');
    sender.send({ t: 'bare', i: 1 });
    sender.send({ t: 'big', i: 2 }, big);
    sender.send({ t: 'after', i: 3 }, Buffer.from('[1,2,3]'));
    await all;
    expect(got.map((f) => f.header)).toEqual([
      { t: 'small', i: 0 },
      { t: 'bare', i: 1 },
      { t: 'big', i: 2 },
      { t: 'after', i: 3 },
    ]);
    expect(got[0]!.payload!.toString()).toBe('{"n":1}');
    expect(got[1]!.payload).toBeNull();
    expect(got[2]!.payload!.length).toBe(Buffer.byteLength(big));
    expect(got[2]!.payload!.toString('utf8')).toBe(big);
    expect(JSON.parse(got[3]!.payload!.toString())).toEqual([1, 2, 3]);
  });

  it('reassembles frames however the stream splits them: one byte at a time, or many frames in one chunk', () => {
    // The exact bytes three frames make: sent by a channel, captured off its stream.
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const writer = new FrameChannel<H, H>(out, () => undefined);
    writer.send({ t: 'x', i: 1 }, '"one"');
    writer.send({ t: 'y', i: 2 });
    writer.send({ t: 'z', i: 3 }, '{"k":"v"}');
    const bytes = Buffer.concat(chunks);
    expect(bytes.length).toBeGreaterThan(0);

    for (const split of ['bytewise', 'whole'] as const) {
      const got: Frame<H>[] = [];
      const input = new PassThrough();
      new FrameChannel<H, H>(input, (f) => got.push(f));
      if (split === 'whole') input.write(bytes);
      else for (let i = 0; i < bytes.length; i++) input.write(bytes.subarray(i, i + 1));
      expect(got.map((f) => [f.header.t, f.payload?.toString() ?? null])).toEqual([
        ['x', '"one"'],
        ['y', null],
        ['z', '{"k":"v"}'],
      ]);
    }
  });

  it('a peer that sends a header that is not a JSON object (or a bad length) is dropped, never thrown at', () => {
    for (const bad of ['not json\n', '[1,2]\n', '{"t":"x","n":-5}\n', '{"t":"x","n":"7"}\n']) {
      const input = new PassThrough();
      const got: Frame<H>[] = [];
      const channel = new FrameChannel<H, H>(input, (f) => got.push(f));
      expect(() => input.write(bad + JSON.stringify({ t: 'after', i: 1 }) + '\n')).not.toThrow();
      expect(got).toEqual([]);
      expect(channel.isClosed).toBe(true);
    }
  });

  it('batched (the frontend <-> agent link): frames sent in one turn leave together after it, in order, whole', async () => {
    const [a, b] = await socketPair();
    const got: Frame<H>[] = [];
    const sender = new FrameChannel<H, H>(a, () => undefined, { batch: true });
    const all = new Promise<void>((resolve) => {
      new FrameChannel<H, H>(b, (f) => {
        got.push(f);
        if (got.length === 3) resolve();
      });
    });
    const big = Buffer.from(JSON.stringify({ data: 'x'.repeat(600_000), text: 'ü€𝄞' }));
    sender.send({ t: 'one', i: 1 }, big);
    sender.send({ t: 'two', i: 2 });
    sender.send({ t: 'three', i: 3 }, '"3"');
    // Held in the stream while this turn runs (all of it buffered, none handed to the OS yet), then written at once.
    expect(a.writableCorked).toBeGreaterThan(0);
    expect(a.writableLength).toBeGreaterThan(big.length);
    await all;
    expect(a.writableCorked).toBe(0);
    expect(got.map((f) => f.header.t)).toEqual(['one', 'two', 'three']);
    expect(got[0]!.payload!.equals(big)).toBe(true);
    expect(got[1]!.payload).toBeNull();
    expect(got[2]!.payload!.toString()).toBe('"3"');
  });

  it('tells its owner once when the peer goes away', async () => {
    const [a, b] = await socketPair();
    let closes = 0;
    const closed = new Promise<void>((resolve) => {
      new FrameChannel<H, H>(b, () => undefined, {
        onClose: () => {
          closes++;
          resolve();
        },
      });
    });
    a.destroy();
    await closed;
    await new Promise((r) => setImmediate(r));
    expect(closes).toBe(1);
  });

  it('sends nothing once the stream is closed, and says so', async () => {
    const [a] = await socketPair();
    const channel = new FrameChannel<H, H>(a, () => undefined);
    a.destroy();
    await new Promise((r) => setImmediate(r));
    expect(channel.send({ t: 'late', i: 0 }, '1')).toBe(false);
  });
});
