/**
 * A host's pipe listener and a relay to it, on real sockets: a relay socket in one folder reaches a Unix socket in
 * another through TCP with the token the listener handed out, both ways and whole; a wrong token or a token used twice
 * are closed, and the target never sees them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { openRelay } from '../pipe-relay.js';
import { PipeListener } from './pipe-listener.js';

let dir = '';
let listener: PipeListener;
let target: Server;
const accepted: Socket[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mf-pipe-listener-'));
  listener = await PipeListener.listen('127.0.0.1');
  target = createServer({ allowHalfOpen: true }, (s) => accepted.push(s));
  await new Promise<void>((resolve) => target.listen(join(dir, 'p0.sock'), resolve));
});

afterEach(async () => {
  for (const s of accepted.splice(0)) s.destroy();
  await listener.close();
  await new Promise((resolve) => target.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

/** Connects to the listener, sends `hello`, and resolves with how the connection ended and what came back. */
function raw(hello: Buffer | string): Promise<{ closed: boolean; data: Buffer }> {
  return new Promise((resolve) => {
    const s = connect({ host: listener.host, port: listener.port });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => undefined);
    s.on('close', () => resolve({ closed: true, data: Buffer.concat(chunks) }));
    s.write(hello);
  });
}

test('a relay reaches the target socket over TCP with its token: bytes both ways, whole, and an end is an end', async () => {
  const token = listener.expect(join(dir, 'p0.sock'));
  const relayPath = await openRelay(dir, { host: listener.host, port: listener.port, token });
  const payload = randomBytes(1024 * 1024 + 7);
  const opener = connect({ path: relayPath, allowHalfOpen: true });
  const received = new Promise<Buffer>((resolve) => {
    target.once('connection', (s) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => {
        s.end('thanks');
        resolve(Buffer.concat(chunks));
      });
    });
  });
  opener.end(payload);
  const back: Buffer[] = [];
  opener.on('data', (c: Buffer) => back.push(c));
  await new Promise((resolve) => opener.once('end', resolve));
  const got = await received;
  expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
  expect(Buffer.concat(back).toString()).toBe('thanks');
});

test('a wrong token and a token used twice are closed; the target sees only the one good pipe', async () => {
  expect(await raw(`${'0'.repeat(32)}\n`)).toEqual({ closed: true, data: Buffer.alloc(0) });
  expect(await raw('not a token at all, and longer than one\n')).toEqual({ closed: true, data: Buffer.alloc(0) });
  const token = listener.expect(join(dir, 'p0.sock'));
  const first = connect({ host: listener.host, port: listener.port });
  first.write(`${token}\nhello`);
  await new Promise<void>((resolve) => target.once('connection', (s) => s.once('data', () => resolve())));
  expect(await raw(`${token}\n`)).toEqual({ closed: true, data: Buffer.alloc(0) });
  first.destroy();
  expect(accepted).toHaveLength(1);
});
