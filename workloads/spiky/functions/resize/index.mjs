/**
 * resize: about 100 ms of real work per invocation at width 1100 (one libvips thread): four seeded 2000x1332 crops of
 * a 3000x2000 picture, each blurred, resized, sharpened and encoded as JPEG (renditions of event.width, 3/4, 1/2 and
 * 1/4 of it). The picture is drawn once per worker, at module top level.
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';

// One libvips thread: a function gets one core's worth of work, so its time does not depend on idle cores.
sharp.concurrency(1);

const W = 3000;
const H = 2000;
const shapes = Array.from({ length: 200 }, (_, i) => `<circle cx="${(i * 7919) % W}" cy="${(i * 104729) % H}" r="${20 + ((i * 31) % 120)}" fill="hsl(${(i * 37) % 360},70%,50%)" fill-opacity="0.7"/>`).join('');
const base = await sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="100%" height="100%" fill="#246"/>${shapes}</svg>`))
  .flatten()
  .raw()
  .toBuffer({ resolveWithObject: true });

async function rendition(seed, width) {
  const left = Math.abs(seed * 7919) % 1000;
  const top = Math.abs(seed * 104729) % 668;
  const region = { left, top, width: 2000, height: 1332 };
  const { data, info } = await sharp(base.data, { raw: base.info })
    .extract(region)
    .blur(2.5)
    .resize({ width })
    .sharpen()
    .jpeg({ quality: 85 })
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex'), region };
}

/** event: {width, seed}: four renditions (width, 3/4, 1/2 and 1/4 of it) of four seeded crops, ~100 ms in all at width 1100. */
export const handler = async (event) => {
  const width = event?.width;
  if (!Number.isInteger(width) || width < 16 || width > 2000) throw Object.assign(new Error(`resize: "width" must be an integer from 16 to 2000, got ${JSON.stringify(width)}`), { name: 'InvalidInput' });
  const seed = Number.isInteger(event.seed) ? event.seed : 0;
  const renditions = [];
  for (const [k, w] of [width, Math.round((width * 3) / 4), Math.round(width / 2), Math.round(width / 4)].entries()) renditions.push(await rendition(seed * 3 + k, w));
  return { renditions };
};
