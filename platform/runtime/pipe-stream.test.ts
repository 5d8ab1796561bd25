import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { PipeStream, type PipeTotals } from './pipe-stream.js';

/** Two real sockets joined through a Unix socket in a fresh folder. */
async function socketPair(): Promise<{ a: Socket; b: Socket; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'mft-pipe-'));
  const path = join(dir, 's.sock');
  const server: Server = createServer({ allowHalfOpen: true });
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const a = connect({ path, allowHalfOpen: true });
  await new Promise((resolve) => a.once('connect', resolve));
  const b = await accepted;
  return { a, b, close: async () => { server.close(); await rm(dir, { recursive: true, force: true }); } };
}

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function pipes() {
  const pair = await socketPair();
  cleanup.push(pair.close);
  const totals: Record<string, PipeTotals> = {};
  const tx = new PipeStream(pair.a, 'p1', 'rx', (t) => (totals.tx = t));
  pair.b.pause();
  const rx = new PipeStream(pair.b, 'p1', 'tx', (t) => (totals.rx = t));
  return { tx, rx, pair, totals };
}

async function readAll(stream: PipeStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(check()).toBe(true);
};

describe('PipeStream', () => {
  test('bytes arrive whole and in order, whatever the chunking; a deliberate end is ok on both sides', async () => {
    const { tx, rx, totals } = await pipes();
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    const reading = readAll(rx);
    // Writes of odd sizes, so that frame headers straddle the socket's reads.
    for (let off = 0; off < data.length; off += 7_777) tx.write(data.subarray(off, Math.min(data.length, off + 7_777)));
    tx.write(Buffer.alloc(0)); // an empty write is no frame (it would read as the end)
    tx.end();
    expect((await reading).equals(data)).toBe(true);
    await until(() => totals.tx !== undefined && totals.rx !== undefined);
    expect(totals.tx).toMatchObject({ bytesOut: data.length, outcome: 'ok' });
    expect(totals.rx).toMatchObject({ bytesIn: data.length, outcome: 'ok' });
  });

  test('a reader that does not read holds the writer back (backpressure), then lets it finish', async () => {
    const { tx, rx } = await pipes();
    const chunk = Buffer.alloc(64 * 1024, 1);
    let writes = 0;
    while (tx.write(chunk) && writes < 10_000) writes++;
    // Far less than the 640 MiB a writer without backpressure would have queued.
    expect(writes).toBeLessThan(1000);
    const drained = new Promise((resolve) => tx.once('drain', resolve));
    const reading = readAll(rx);
    await drained;
    tx.end();
    expect((await reading).length).toBe((writes + 1) * chunk.length);
  });

  test('a peer that goes away without ending is MF_PIPE_BROKEN on this side', async () => {
    const { tx, rx, pair, totals } = await pipes();
    tx.write(Buffer.alloc(1000, 2));
    const failed = readAll(rx).then(
      () => null,
      (err: { code?: string }) => err.code,
    );
    await new Promise((r) => setTimeout(r, 50)); // the first bytes are on their way
    const txError = new Promise<string | undefined>((resolve) => tx.once('error', (err: { code?: string }) => resolve(err.code)));
    pair.a.destroy(); // as a killed process's socket: closed with no end frame
    expect(await failed).toBe('MF_PIPE_BROKEN');
    expect(await txError).toBe('MF_PIPE_BROKEN'); // the end whose socket went is broken too, as a stream error
    await until(() => totals.rx !== undefined);
    expect(totals.rx!.outcome).toBe('broken');
  });
});
