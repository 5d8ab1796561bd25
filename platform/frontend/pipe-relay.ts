/**
 * A data pipe between two sandboxes (docs/sessions.md#pipes): the frontend (or host agent) is the one process that
 * reaches both sandboxes' folders, so it brokers the pipe; across hosts, the far end is the other host's pipe
 * listener over TCP (hosts/pipe-listener.ts). It opens a one-shot Unix socket in the opener's sandbox folder and,
 * when the opener connects, connects to the target's pipe socket in the other sandbox and joins the two streams.
 * Bytes cross the frontend's event loop but never its JSON or its agents; each side's backpressure holds the other,
 * and an end or a failure on one side is passed to the other, so the framing above still tells a death from an end.
 */
import { chmod, chown, rm, stat } from 'node:fs/promises';
import { createServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { MfError } from '../errors.js';

/** How long a relay waits for the opener to connect before it gives up. */
const CONNECT_WITHIN_MS = 30_000;
/** How long a relay waits for another host's pipe listener to take its TCP connection. */
const FAR_CONNECT_WITHIN_MS = 10_000;
/** Unix socket paths are limited to 107 bytes on Linux. */
const MAX_SOCKET_PATH = 107;
let nextRelay = 0;

/**
 * A relay's far end: a pipe socket in another sandbox of this host, or another host's pipe listener with the
 * one-shot token that host handed out for the target (hosts/pipe-listener.ts).
 */
export type RelayTarget = string | { host: string; port: number; token: string };

/** Where the opener should connect (in its own sandbox's folder) to reach `target`. */
export async function openRelay(openerDir: string, target: RelayTarget): Promise<string> {
  const path = join(openerDir, `r${(nextRelay++).toString(36)}.sock`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) throw new MfError('MF_CONFIG_INVALID', `the relay socket path is too long for a Unix socket (${path}); choose a shorter dataDir`, { path });
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  // The socket is for whoever the sandbox runs as (the app's user, or nobody in a container): its folder's owner.
  const owner = await stat(openerDir);
  if (owner.uid !== process.getuid?.()) await chown(path, owner.uid, owner.gid);
  await chmod(path, 0o600);
  const done = () => {
    clearTimeout(timer);
    server.close();
    void rm(path, { force: true });
  };
  const timer = setTimeout(done, CONNECT_WITHIN_MS);
  timer.unref();
  server.once('connection', (opener: Socket) => {
    done();
    if (typeof target === 'string') return join2(opener, connect({ path: target, allowHalfOpen: true }));
    const far = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    // A far host that drops the connection attempt (a filter, a dead machine) is a broken pipe, not a hang.
    const slow = setTimeout(() => far.destroy(new Error(`no connection to ${target.host}:${target.port} within ${FAR_CONNECT_WITHIN_MS} ms`)), FAR_CONNECT_WITHIN_MS);
    slow.unref();
    far.once('connect', () => clearTimeout(slow));
    far.once('close', () => clearTimeout(slow));
    far.setNoDelay(true);
    far.write(`${target.token}\n`);
    join2(opener, far);
  });
  return path;
}

/**
 * Joins two sockets both ways once `b` connects: data with backpressure, an end as an end, a failure as a reset of
 * the other. `a` is paused until then.
 */
export function join2(a: Socket, b: Socket): void {
  const fail = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', fail);
  b.on('error', fail);
  a.on('close', (hadError) => (hadError ? fail() : undefined));
  b.on('close', (hadError) => (hadError ? fail() : undefined));
  b.once('connect', () => {
    a.pipe(b);
    b.pipe(a);
    a.resume();
  });
}
