/**
 * thumbnail (stage 4): at most 250x250, aspect ratio kept, never enlarged, EXIF orientation applied (sharp). The
 * thumbnail is stored in context.storage and also returned inline (a few KiB), so a client can check it.
 */
import sharp from 'sharp';

export const MAX_SIDE = 250;

export const handler = async (event, context) => {
  const bytes = await context.storage.get(event.key);
  if (!Buffer.isBuffer(bytes)) throw Object.assign(new Error(`thumbnail: no image under storage key ${JSON.stringify(event.key)}`), { name: 'ImageNotFound' });
  const { data, info } = await sharp(bytes)
    .rotate()
    .resize({ width: MAX_SIDE, height: MAX_SIDE, fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 80 })
    .toBuffer({ resolveWithObject: true });
  const key = `image-pipeline/${event.id}/thumbnail.jpg`;
  await context.storage.put(key, data);
  return { key, format: 'jpeg', width: info.width, height: info.height, bytes: data.length, base64: data.toString('base64') };
};
