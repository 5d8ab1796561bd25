/**
 * extract-metadata (stage 1): reads the image from context.storage and extracts what it can: the format from the
 * file's magic bytes, and, when sharp can decode it, dimensions and channels, and the EXIF block (exifr). A file that
 * is not an image is not an error here: its format is reported as found, and verify-transform (or the refarch's
 * Choice) rejects it.
 */
import exifr from 'exifr';
import sharp from 'sharp';

/** The format named by the first bytes of a file (the magic numbers of the formats we may meet). */
function sniff(b) {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (b.length >= 6 && (b.subarray(0, 6).toString('latin1') === 'GIF87a' || b.subarray(0, 6).toString('latin1') === 'GIF89a')) return 'gif';
  if (b.length >= 12 && b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP') return 'webp';
  if (b.length >= 4 && (b.subarray(0, 4).equals(Buffer.from([0x49, 0x49, 0x2a, 0x00])) || b.subarray(0, 4).equals(Buffer.from([0x4d, 0x4d, 0x00, 0x2a])))) return 'tiff';
  if (b.length >= 4 && b.subarray(0, 4).toString('latin1') === '%PDF') return 'pdf';
  return 'unknown';
}

const MIME = { jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', tiff: 'image/tiff', pdf: 'application/pdf', unknown: 'application/octet-stream' };

export const handler = async (event, context) => {
  const bytes = await context.storage.get(event.key);
  if (!Buffer.isBuffer(bytes)) {
    throw Object.assign(new Error(`extract-metadata: no image under storage key ${JSON.stringify(event.key)}`), { name: 'ImageNotFound' });
  }
  const format = sniff(bytes);
  const out = { format, mime: MIME[format], bytes: bytes.length, width: null, height: null, channels: null, space: null, hasAlpha: null, orientation: null, exif: null, decodable: false };
  try {
    const m = await sharp(bytes).metadata();
    Object.assign(out, { width: m.width ?? null, height: m.height ?? null, channels: m.channels ?? null, space: m.space ?? null, hasAlpha: m.hasAlpha ?? null, orientation: m.orientation ?? null, decodable: true });
  } catch {
    // Not an image sharp can read: the format says so, and the next stage decides.
  }
  if (format === 'jpeg' || format === 'png' || format === 'tiff' || format === 'webp') {
    try {
      const exif = await exifr.parse(bytes, { tiff: true, exif: true, gps: true, ifd1: false, reviveValues: false, translateValues: false });
      if (exif) out.exif = JSON.parse(JSON.stringify(exif, (_k, v) => (v instanceof Uint8Array ? undefined : v)));
    } catch {
      out.exif = null;
    }
  }
  return out;
};
