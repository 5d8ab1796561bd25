/**
 * Physical floors measured in the same run as the platform: the round trip of a small message between two Node
 * processes over a Unix socket, and over Node's IPC channel (what the local bus uses). Samples only; no formatting.
 */
import { fork } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { now } from '../../platform/clock.js';

const ECHO = fileURLToPath(new URL('./echo-peer.js', import.meta.url));
const MESSAGE = JSON.stringify({ t: 'invoke', id: '0123456789abcdef', event: { n: 1 } }) + '\n';

/** Round trips of one small newline-framed message over a Unix socket to an echo process. */
export async function unixSocketRtt(samples: number): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'mfrtt-'));
  const path = join(dir, 's.sock');
  const peer = fork(ECHO, ['unix', path], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    await new Promise<void>((resolve) => peer.once('message', () => resolve()));
    const socket = connect(path);
    socket.setNoDelay(true);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const out: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t0 = now();
      await new Promise<void>((resolve) => {
        socket.once('data', () => resolve());
        socket.write(MESSAGE);
      });
      out.push(now() - t0);
    }
    socket.destroy();
    return out;
  } finally {
    peer.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Round trips of one small message over Node's IPC channel to forked echo processes, taken in turn. With one
 * peer the peer stays hot; with ten, each message wakes a process that has been idle, as each hop of a 10-step
 * chain does: that is the floor a chain of distinct worker processes is measured against.
 */
export async function ipcRtt(samples: number, peerCount = 1): Promise<number[]> {
  const peers = Array.from({ length: peerCount }, () => fork(ECHO, ['ipc'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' }));
  try {
    await Promise.all(peers.map((peer) => new Promise<void>((resolve) => peer.once('message', () => resolve()))));
    const message = JSON.parse(MESSAGE) as object;
    const out: number[] = [];
    for (let i = 0; i < samples; i++) {
      const peer = peers[i % peerCount]!;
      const t0 = now();
      await new Promise<void>((resolve) => {
        peer.once('message', () => resolve());
        peer.send(message);
      });
      out.push(now() - t0);
    }
    return out;
  } finally {
    for (const peer of peers) peer.kill();
  }
}
