/**
 * match (stage 3): joins the faces found in every item, drops the duplicates that overlapping tiles see twice, and
 * matches each face against the gallery kept in context.storage: the nearest gallery face by Euclidean distance on
 * the 128-d descriptors is the same person when the distance is below THRESHOLD (0.6, face-api's and dlib's usual
 * threshold for these descriptors); otherwise the face is added to the gallery under a new id. Faces are matched in
 * input order, so a person seen twice in one batch gets one id; within one photo ids are assigned one-to-one (a
 * photo shows a person once), closest pairs first.
 */
export const THRESHOLD = 0.6;

function distance(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

function iou(a, b) {
  const [ax, ay, aw, ah] = a;
  const [bx, by, bw, bh] = b;
  const w = Math.max(0, Math.min(ax + aw, bx + bw) - Math.max(ax, bx));
  const h = Math.max(0, Math.min(ay + ah, by + bh) - Math.max(ay, by));
  const inter = w * h;
  return inter / (aw * ah + bw * bh - inter);
}

/** Overlapping tiles see a face twice: keep the best-scored of faces whose boxes overlap (IoU > 0.3) or match (< 0.3). */
function dedupe(faces) {
  const kept = [];
  for (const f of [...faces].sort((a, b) => b.score - a.score)) {
    if (!kept.some((k) => iou(k.box, f.box) > 0.3 || (iou(k.box, f.box) > 0 && distance(k.descriptor, f.descriptor) < 0.3))) kept.push(f);
  }
  return kept.sort((a, b) => a.box[0] - b.box[0] || a.box[1] - b.box[1]);
}

export const handler = async (event, context) => {
  if (!Array.isArray(event?.detections) || !Array.isArray(event.images)) {
    throw Object.assign(new Error('match: the event lacks "images" or "detections"'), { name: 'InvalidInput' });
  }
  const prefix = `face-recognition/gallery/${event.gallery}/`;
  const gallery = [];
  for (const key of await context.storage.list(prefix + 'face-')) {
    const entry = await context.storage.get(key);
    if (entry && Array.isArray(entry.descriptor)) gallery.push(entry);
  }
  const before = gallery.length;
  const images = [];
  for (const img of event.images) {
    const faces = dedupe(event.detections.filter((d) => d.image === img.index).flatMap((d) => d.faces));
    // One photo shows a person once: gallery ids are assigned one-to-one, closest pairs first (greedy matching).
    const pairs = [];
    faces.forEach((f, fi) => gallery.forEach((g, gi) => pairs.push({ fi, gi, d: distance(g.descriptor, f.descriptor) })));
    pairs.sort((a, b) => a.d - b.d);
    const assigned = new Map();
    const usedIds = new Set();
    for (const p of pairs) {
      if (p.d >= THRESHOLD) break;
      if (assigned.has(p.fi) || usedIds.has(p.gi)) continue;
      assigned.set(p.fi, p);
      usedIds.add(p.gi);
    }
    const out = [];
    for (const [fi, f] of faces.entries()) {
      const hit = assigned.get(fi);
      if (hit) {
        out.push({ box: f.box, score: f.score, galleryId: gallery[hit.gi].id, distance: Math.round(hit.d * 1e4) / 1e4, isNew: false });
        continue;
      }
      const nearest = pairs.filter((p) => p.fi === fi).reduce((m, p) => (m === null || p.d < m ? p.d : m), null);
      const id = `p${await context.storage.increment(prefix + 'next')}`;
      out.push({ box: f.box, score: f.score, galleryId: id, distance: nearest === null ? null : Math.round(nearest * 1e4) / 1e4, isNew: true, descriptor: f.descriptor });
    }
    // New faces join the gallery after the photo is matched, so they are candidates for the next photos only.
    for (const f of out) {
      if (!f.isNew) continue;
      const entry = { id: f.galleryId, descriptor: f.descriptor, firstSeen: { image: img.name, execution: event.id } };
      await context.storage.put(`${prefix}face-${f.galleryId}`, entry);
      gallery.push(entry);
      delete f.descriptor;
    }
    images.push({ name: img.name, width: img.width, height: img.height, faces: out });
  }
  for (const img of event.images) await context.storage.delete(img.key);
  return {
    gallery: { name: event.gallery, sizeBefore: before, sizeAfter: gallery.length, threshold: THRESHOLD },
    parallelism: event.parallelism,
    tiled: event.tiled,
    items: event.items.length,
    images,
  };
};
