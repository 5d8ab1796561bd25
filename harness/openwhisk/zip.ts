/**
 * Action archives for OpenWhisk's Node.js runtime, which unpacks an action's zip with `unzip` (CRCs checked) and
 * requires its package.json "main". Written by yazl: a zip writer that streams and deflates off the event loop and
 * handles the format's edges (zip64, UTF-8 names) that a hand-written writer gets wrong first.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { ZipFile } from 'yazl';

/** One file of the archive: a forward-slash path inside the zip and its bytes, or a file on this host. */
export type ZipEntry = { path: string; data: Buffer | string } | { path: string; file: string };

/** One fixed timestamp, so that the same files always give the same bytes (a deploy can be compared with the last). */
const MTIME = new Date(1980, 0, 1, 0, 0, 0);
const MODE = 0o100644;

/** Builds a zip archive of `entries` (deflated), refusing paths that would leave the folder and duplicates. */
export async function zip(entries: readonly ZipEntry[]): Promise<Buffer> {
  const archive = new ZipFile();
  const seen = new Set<string>();
  for (const entry of entries) {
    if (entry.path === '' || entry.path.startsWith('/') || entry.path.split('/').includes('..')) throw new Error(`zip: bad entry path "${entry.path}"`);
    if (seen.has(entry.path)) throw new Error(`zip: duplicate entry "${entry.path}"`);
    seen.add(entry.path);
    const options = { mtime: MTIME, mode: MODE, compress: true };
    if ('file' in entry) archive.addFile(entry.file, entry.path, options);
    else archive.addBuffer(typeof entry.data === 'string' ? Buffer.from(entry.data, 'utf8') : entry.data, entry.path, options);
  }
  archive.end();
  const chunks: Buffer[] = [];
  for await (const chunk of archive.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Every regular file under `dir` (recursively, sorted), as entries under `prefix/` in the zip, read when zipped. */
export function entriesOfDir(dir: string, prefix: string): ZipEntry[] {
  const out: ZipEntry[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const abs = join(d, name);
      const st = statSync(abs);
      if (st.isDirectory()) walk(abs);
      else if (st.isFile()) out.push({ path: `${prefix}/${relative(dir, abs).split(sep).join('/')}`, file: abs });
    }
  };
  walk(dir);
  return out;
}
