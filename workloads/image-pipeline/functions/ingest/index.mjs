/**
 * ingest (stage 0; stands in for the upload that triggers the pipeline, e.g. the S3 put in the AWS reference
 * architecture): gets the image bytes named by the input, stores them in context.storage, and hands the next stages
 * the storage key, never the bytes.
 *
 * event.image is one of
 *   {kind: 'file', package, path}            a file inside an installed npm package (the sample photos)
 *   {kind: 'generated', format, width, height, seed, exif?}   drawn here with sharp, deterministically from the seed
 *   {kind: 'inline', base64, name?}          bytes given in the event (any bytes: the error path sends a non-image)
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, normalize } from 'node:path';
import sharp from 'sharp';

const require = createRequire(import.meta.url);
const STAGE = 'ingest';

function fail(message) {
  return Object.assign(new Error(`${STAGE}: ${message}`), { name: 'IngestFailed' });
}

/** mulberry32, the same generator as workloads/random.ts. */
function seededRandom(seed) {
  let a = (Math.trunc(seed) >>> 0) ^ 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Decimal degrees -> EXIF rational "d/1 m/1 s*100/100". */
function dms(value) {
  const v = Math.abs(value);
  const d = Math.floor(v);
  const m = Math.floor((v - d) * 60);
  const s = Math.round(((v - d) * 60 - m) * 60 * 10000);
  return `${d}/1 ${m}/1 ${s}/10000`;
}

/** A picture of seeded shapes on a seeded gradient, with the EXIF of the input (camera, date, GPS). */
export async function generateImage({ format, width, height, seed, exif }) {
  const rand = seededRandom(seed);
  const colour = () => `rgb(${Math.floor(rand() * 256)},${Math.floor(rand() * 256)},${Math.floor(rand() * 256)})`;
  const shapes = [];
  for (let i = 0; i < 24; i++) {
    const x = Math.floor(rand() * width);
    const y = Math.floor(rand() * height);
    const r = Math.floor((0.02 + rand() * 0.15) * Math.min(width, height));
    shapes.push(rand() < 0.5 ? `<circle cx="${x}" cy="${y}" r="${r}" fill="${colour()}" fill-opacity="0.8"/>` : `<rect x="${x - r}" y="${y - r}" width="${2 * r}" height="${r}" fill="${colour()}" fill-opacity="0.8"/>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${colour()}"/><stop offset="1" stop-color="${colour()}"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/>${shapes.join('')}</svg>`;
  let img = sharp(Buffer.from(svg)).flatten();
  if (exif) {
    const ifd0 = {};
    if (exif.make) ifd0.Make = exif.make;
    if (exif.model) ifd0.Model = exif.model;
    const tags = { IFD0: ifd0 };
    if (exif.dateTimeOriginal) tags.IFD2 = { DateTimeOriginal: exif.dateTimeOriginal };
    if (exif.gps) {
      tags.IFD3 = {
        GPSLatitudeRef: exif.gps.latitude >= 0 ? 'N' : 'S',
        GPSLatitude: dms(exif.gps.latitude),
        GPSLongitudeRef: exif.gps.longitude >= 0 ? 'E' : 'W',
        GPSLongitude: dms(exif.gps.longitude),
      };
    }
    img = img.withExif(tags);
  }
  if (format === 'jpeg') img = img.jpeg({ quality: 85 });
  else if (format === 'png') img = img.png();
  else if (format === 'webp') img = img.webp({ quality: 80 });
  else if (format === 'gif') img = img.gif();
  else throw fail(`cannot generate format ${JSON.stringify(format)} (jpeg, png, webp, gif)`);
  return img.toBuffer();
}

async function packageFile(pkg, path) {
  if (typeof pkg !== 'string' || typeof path !== 'string') throw fail('a file image needs "package" and "path" strings');
  const root = (require.resolve.paths(pkg) ?? []).map((d) => join(d, pkg)).find((d) => existsSync(join(d, 'package.json')));
  if (root === undefined) throw fail(`package ${pkg} is not installed`);
  const file = normalize(join(root, path));
  if (!file.startsWith(root + '/')) throw fail(`path ${JSON.stringify(path)} leaves the package`);
  return readFile(file);
}

export const handler = async (event, context) => {
  const image = event?.image;
  if (typeof image !== 'object' || image === null) throw fail('the event has no "image" object');
  let bytes;
  let name;
  if (image.kind === 'file') {
    bytes = await packageFile(image.package, image.path);
    name = `${image.package}/${image.path}`;
  } else if (image.kind === 'generated') {
    bytes = await generateImage(image);
    name = `generated-${image.seed}.${image.format}`;
  } else if (image.kind === 'inline') {
    if (typeof image.base64 !== 'string') throw fail('an inline image needs "base64"');
    bytes = Buffer.from(image.base64, 'base64');
    name = image.name ?? 'inline';
  } else {
    throw fail(`unknown image kind ${JSON.stringify(image.kind)} (file, generated, inline)`);
  }
  if (bytes.length === 0) throw fail(`${name} is empty (0 bytes)`);
  const id = context.executionId ?? context.awsRequestId;
  const key = `image-pipeline/${id}/original`;
  await context.storage.put(key, bytes);
  return { id, name, key, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
};
