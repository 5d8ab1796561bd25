/**
 * store-result (last stage, the reference architecture's StoreImageMetadata): joins what the stages found, stores it
 * in context.storage under image-pipeline/<id>/result, deletes the original (the thumbnail stays), and returns it.
 * It reads both shapes: sequential ($.tagging, $.thumbnail) and refarch ($.processed = [tagging, thumbnail]).
 */
export const handler = async (event, context) => {
  const tagging = event.processed ? event.processed[0] : event.tagging;
  const thumbnail = event.processed ? event.processed[1] : event.thumbnail;
  if (!tagging || !thumbnail || !event.metadata) {
    throw Object.assign(new Error('store-result: the event lacks metadata, tagging or thumbnail'), { name: 'InvalidInput' });
  }
  const result = {
    id: event.id,
    name: event.name,
    source: { bytes: event.bytes, sha256: event.sha256 },
    metadata: event.metadata,
    tags: tagging.tags,
    objects: tagging.objects,
    thumbnail,
    resultKey: `image-pipeline/${event.id}/result`,
  };
  await context.storage.put(result.resultKey, result);
  await context.storage.delete(event.key);
  return result;
};
