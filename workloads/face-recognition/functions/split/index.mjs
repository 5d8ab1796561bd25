/**
 * split (stage 1): stores each input photo in context.storage once, and splits the work into items for the Map
 * state: one item per photo, or, for a tiled photo, one per tile (a rows x cols grid whose tiles overlap by
 * `overlap` of a tile's size, so that a face cut by one tile's edge is whole in its neighbour).
 *
 * event: {images: [{kind: 'file', package, path, scale?} | {kind: 'inline', base64, name?}], tiles?: {rows, cols,
 * overlap}, parallelism, gallery}
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, normalize } from 'node:path';
import sharp from 'sharp';

const require = createRequire(import.meta.url);
const STAGE = 'split';

function fail(name, message) {
  return Object.assign(new Error(`${STAGE}: ${message}`), { name });
}

async function readImage(img, i) {
  if (img?.kind === 'file') {
    const root = (require.resolve.paths(img.package) ?? []).map((d) => join(d, img.package)).find((d) => existsSync(join(d, 'package.json')));
    if (root === undefined) throw fail('InvalidInput', `image ${i}: package ${img.package} is not installed`);
    const file = normalize(join(root, img.path));
    if (!file.startsWith(root + '/')) throw fail('InvalidInput', `image ${i}: path ${JSON.stringify(img.path)} leaves the package`);
    return { name: `${img.package}/${img.path}`, bytes: await readFile(file) };
  }
  if (img?.kind === 'inline' && typeof img.base64 === 'string') return { name: img.name ?? `inline-${i}`, bytes: Buffer.from(img.base64, 'base64') };
  throw fail('InvalidInput', `image ${i} is neither {kind: 'file', package, path} nor {kind: 'inline', base64}`);
}

/** Tiles of a w x h image: a rows x cols grid, each tile grown by `overlap` of its size on the inner sides. */
export function tileRegions(w, h, rows, cols, overlap) {
  const regions = [];
  const tw = w / cols;
  const th = h / rows;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const left = Math.max(0, Math.floor(c * tw - overlap * tw));
      const top = Math.max(0, Math.floor(r * th - overlap * th));
      const right = Math.min(w, Math.ceil((c + 1) * tw + overlap * tw));
      const bottom = Math.min(h, Math.ceil((r + 1) * th + overlap * th));
      regions.push({ left, top, width: right - left, height: bottom - top });
    }
  }
  return regions;
}

export const handler = async (event, context) => {
  if (!Array.isArray(event?.images) || event.images.length === 0) throw fail('InvalidInput', 'the event needs a non-empty "images" list');
  const parallelism = event.parallelism ?? 4;
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > 64) throw fail('InvalidInput', `"parallelism" must be an integer from 1 to 64, got ${JSON.stringify(event.parallelism)}`);
  const gallery = event.gallery ?? 'default';
  if (typeof gallery !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(gallery)) throw fail('InvalidInput', `"gallery" must be a name of letters, digits, - and _`);
  const id = context.executionId ?? context.awsRequestId;
  const images = [];
  const items = [];
  for (const [i, spec] of event.images.entries()) {
    const { name, bytes } = await readImage(spec, i);
    if (bytes.length === 0) throw fail('EmptyImage', `image ${i} (${name}) is empty (0 bytes)`);
    let img = sharp(bytes).rotate();
    let meta;
    try {
      meta = await sharp(bytes).metadata();
    } catch (err) {
      throw fail('InvalidImage', `image ${i} (${name}) is not an image sharp can read: ${err.message}`);
    }
    if (!(meta.width > 0 && meta.height > 0)) throw fail('InvalidImage', `image ${i} (${name}) has no pixels`);
    // A scale (for the "same person, another picture" inputs) is applied here, once; the stored image is what's seen.
    const scale = spec.scale ?? 1;
    if (scale !== 1) img = img.resize({ width: Math.round(meta.width * scale) });
    const { data, info } = await img.jpeg({ quality: 95 }).toBuffer({ resolveWithObject: true });
    const key = `face-recognition/${id}/image-${i}`;
    await context.storage.put(key, data);
    images.push({ index: i, name, key, width: info.width, height: info.height, scale });
    const regions = event.tiles ? tileRegions(info.width, info.height, event.tiles.rows, event.tiles.cols, event.tiles.overlap ?? 0.2) : [{ left: 0, top: 0, width: info.width, height: info.height }];
    for (const region of regions) items.push({ image: i, key, region });
  }
  return { id, gallery, parallelism, tiled: Boolean(event.tiles), images, items };
};
