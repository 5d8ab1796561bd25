/**
 * tag-objects (stage 3): object detection with the CenterNet model of @vladmandic/human (COCO classes: person, cup,
 * tie, ...) on the TensorFlow.js wasm backend. The model loads once per worker, at module top level (so cold-worker
 * vs warm shows the init cost), from the package's own files: nothing is downloaded.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { fileModelRouter, importBundle, packageDir, startWasm, wasmPrefix } from './tfjs-bundle.mjs';

/** Detections below this score are not reported (CenterNet's scores on the sample photos: people 0.3 to 0.7). */
export const MIN_SCORE = 0.3;
/** The image is scaled so that its long side is at most this before detection (the model's input is 512 px). */
const MAX_SIDE = 1280;

const initStart = performance.now();
const { Human } = await importBundle('@vladmandic/human', 'dist/human.esm.js');
const human = new Human({
  backend: 'wasm',
  wasmPath: wasmPrefix(),
  wasmPlatformFetch: true,
  modelBasePath: pathToFileURL(join(packageDir('@vladmandic/human'), 'models') + '/').href,
  cacheModels: false,
  debug: false,
  async: true,
  warmup: 'none',
  face: { enabled: false },
  body: { enabled: false },
  hand: { enabled: false },
  gesture: { enabled: false },
  segmentation: { enabled: false },
  filter: { enabled: false },
  object: { enabled: true, modelPath: 'centernet.json', minConfidence: MIN_SCORE, maxDetected: 50, skipFrames: 0, skipTime: 0 },
});
human.tf.io.registerLoadRouter(fileModelRouter);
await startWasm(() => human.load());
if (human.tf.getBackend() !== 'wasm') throw new Error(`tag-objects: the wasm backend did not start (backend is ${human.tf.getBackend()})`);
/** One detection on a blank image, so the first invocation does not pay for compiling the kernels. */
{
  const blank = human.tf.zeros([1, 64, 64, 3]);
  await human.detect(blank);
  blank.dispose();
}
const initMs = performance.now() - initStart;

/** Detections run one at a time (the worker may get several invocations at once; Human is not reentrant). */
let queue = Promise.resolve();
function serially(fn) {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

export const handler = async (event, context) => {
  const bytes = await context.storage.get(event.key);
  if (!Buffer.isBuffer(bytes)) throw Object.assign(new Error(`tag-objects: no image under storage key ${JSON.stringify(event.key)}`), { name: 'ImageNotFound' });
  const { data, info } = await sharp(bytes)
    .rotate()
    .resize({ width: MAX_SIDE, height: MAX_SIDE, fit: 'inside', withoutEnlargement: true })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const start = performance.now();
  const result = await serially(async () => {
    const tensor = human.tf.tensor(data, [1, info.height, info.width, 3], 'float32');
    try {
      return await human.detect(tensor);
    } finally {
      tensor.dispose();
    }
  });
  if (result.error) throw Object.assign(new Error(`tag-objects: detection failed: ${result.error}`), { name: 'DetectionFailed' });
  const scale = event.metadata?.width ? event.metadata.width / info.width : 1;
  const objects = result.object
    .filter((o) => o.score >= MIN_SCORE)
    .map((o) => ({ label: o.label, score: Math.round(o.score * 1000) / 1000, box: o.box.map((v) => Math.round(v * scale)) }));
  return {
    tags: [...new Set(objects.map((o) => o.label))].sort(),
    objects,
    model: 'centernet',
    backend: human.tf.getBackend(),
    detectMs: Math.round((performance.now() - start) * 10) / 10,
    workerInitMs: Math.round(initMs),
  };
};
