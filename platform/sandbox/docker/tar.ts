/**
 * Image build contexts as tar streams, written by tar-stream (which dockerode's own tar-fs is built on) from an
 * explicit list of entries rather than by packing a folder: modes are exactly what we say (tar-fs applies the
 * process umask, which would strip /tmp's 1777), owners are root, and every mtime is 0, so the same inputs give
 * byte-identical contexts, hence identical layers. Long paths (deep node_modules) get the pax headers tar-stream
 * writes; file contents are streamed from disk, not buffered.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack, type Pack } from 'tar-stream';

export type TarEntry =
  | { type: 'dir'; name: string; mode: number }
  | { type: 'file'; name: string; mode: number; size: number; hostPath: string }
  | { type: 'file'; name: string; mode: number; content: Buffer };

const EPOCH = new Date(0);
const OWNER = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: EPOCH } as const;

/** The tar archive of `entries`, in order, as a stream. */
export function tarStream(entries: readonly TarEntry[]): Readable {
  const archive = pack();
  write(archive, entries).then(
    () => archive.finalize(),
    (err: unknown) => archive.destroy(err instanceof Error ? err : new Error(String(err))),
  );
  return Readable.from(archive); // tar-stream's streams are streamx streams; dockerode and our callers take Node's
}

async function write(archive: Pack, entries: readonly TarEntry[]): Promise<void> {
  for (const entry of entries) {
    if (entry.type === 'dir') {
      await add(archive, { ...OWNER, name: entry.name.replace(/\/*$/, '/'), mode: entry.mode, type: 'directory' });
    } else if ('content' in entry) {
      await add(archive, { ...OWNER, name: entry.name, mode: entry.mode, type: 'file', size: entry.content.length }, entry.content);
    } else {
      // tar-stream fails the entry when the file is shorter or longer than the size in its header.
      const sink = archive.entry({ ...OWNER, name: entry.name, mode: entry.mode, type: 'file', size: entry.size });
      await pipeline(createReadStream(entry.hostPath), sink);
    }
  }
}

function add(archive: Pack, header: Parameters<Pack['entry']>[0], content?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    archive.entry(header, content ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
  });
}
