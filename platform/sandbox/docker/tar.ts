/**
 * A minimal ustar writer for image build contexts. We write the tar ourselves (rather than packing a folder with
 * tar-fs) so that modes are exactly what we say (tar-fs applies the process umask, which would strip /tmp's 1777),
 * owners are root, and every mtime is 0: the same inputs give byte-identical contexts, hence identical layers.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

export type TarEntry =
  | { type: 'dir'; name: string; mode: number }
  | { type: 'file'; name: string; mode: number; size: number; hostPath: string }
  | { type: 'file'; name: string; mode: number; content: Buffer };

const BLOCK = 512;

/** The tar archive of `entries`, in order, as a stream (files are streamed from disk, not buffered). */
export function tarStream(entries: readonly TarEntry[]): Readable {
  return Readable.from(generate(entries));
}

async function* generate(entries: readonly TarEntry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    if (entry.type === 'dir') {
      yield header(entry.name.endsWith('/') ? entry.name : `${entry.name}/`, entry.mode, 0, '5');
      continue;
    }
    const size = 'content' in entry ? entry.content.length : entry.size;
    yield header(entry.name, entry.mode, size, '0');
    let written = 0;
    if ('content' in entry) {
      yield entry.content;
      written = entry.content.length;
    } else {
      for await (const chunk of createReadStream(entry.hostPath)) {
        const buf = chunk as Buffer;
        written += buf.length;
        if (written > size) throw new Error(`${entry.hostPath} grew while it was being archived`);
        yield buf;
      }
    }
    if (written !== size) throw new Error(`${'hostPath' in entry ? entry.hostPath : entry.name}: expected ${size} bytes, read ${written}`);
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad > 0) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(BLOCK * 2);
}

/** One ustar header block. Long names are split into prefix/name at a '/'. */
export function header(path: string, mode: number, size: number, typeflag: '0' | '5'): Buffer {
  const buf = Buffer.alloc(BLOCK);
  let name = path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = path.lastIndexOf('/', path.length - 2);
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
    if (cut < 0 || Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) throw new Error(`path too long for a tar header: ${path}`);
  }
  buf.write(name, 0, 100, 'utf8');
  octal(buf, 100, 8, mode & 0o7777);
  octal(buf, 108, 8, 0); // uid
  octal(buf, 116, 8, 0); // gid
  octal(buf, 124, 12, size);
  octal(buf, 136, 12, 0); // mtime: fixed, for reproducible layers
  buf.write('        ', 148, 8, 'ascii'); // checksum placeholder (spaces) while summing
  buf.write(typeflag, 156, 1, 'ascii');
  buf.write('ustar\u0000', 257, 6, 'ascii');
  buf.write('00', 263, 2, 'ascii');
  buf.write('root', 265, 32, 'ascii');
  buf.write('root', 297, 32, 'ascii');
  buf.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of buf) sum += byte;
  buf.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return buf;
}

function octal(buf: Buffer, offset: number, length: number, value: number): void {
  const text = value.toString(8).padStart(length - 1, '0');
  if (text.length > length - 1) throw new Error(`value ${value} does not fit a ${length}-byte tar field`);
  buf.write(`${text}\u0000`, offset, length, 'ascii');
}
