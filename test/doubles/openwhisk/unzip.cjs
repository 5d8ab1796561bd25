'use strict';
// A minimal zip reader (PKWARE APPNOTE: end of central directory -> central directory -> local headers), as the
// OpenWhisk Node.js runtime's /init needs it to unpack a binary action. Stored and deflated entries only.
const { mkdirSync, writeFileSync } = require('node:fs');
const { dirname, join, resolve, sep } = require('node:path');
const { inflateRawSync } = require('node:zlib');

function unzipTo(buf, dir) {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error('not a zip file (no end of central directory record)');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const root = resolve(dir);
  const files = [];
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('corrupt zip: bad central directory entry');
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    if (name.endsWith('/')) continue;
    if (buf.readUInt32LE(local) !== 0x04034b50) throw new Error('corrupt zip: bad local header for ' + name);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + csize);
    const data = method === 0 ? raw : method === 8 ? inflateRawSync(raw) : null;
    if (data === null) throw new Error('unsupported compression method ' + method + ' for ' + name);
    const target = resolve(root, name);
    if (target !== root && !target.startsWith(root + sep)) throw new Error('zip entry escapes the folder: ' + name);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data);
    files.push(name);
  }
  return files;
}

module.exports = { unzipTo, join };
