/**
 * detect-faces (the Map's iteration): face detection (SSD MobileNet v1), 68-point landmarks and the 128-d face
 * descriptor (face recognition net) of @vladmandic/face-api on the TensorFlow.js wasm backend, on one photo or one
 * tile of it. The models load once per worker at module top level, from the package's model folder.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { importBundle, packageDir, readWeights, startWasm, wasmPrefix } from './tfjs-bundle.mjs';
import { readFile } from 'node:fs/promises';

/** SSD MobileNet v1 detections below this score are dropped (face-api's default is 0.5). */
export const MIN_CONFIDENCE = 0.5;

const initStart = performance.now();
const faceapi = await importBundle('@vladmandic/face-api', 'dist/face-api.esm.js');
const tf = faceapi.tf;
tf.setWasmPaths(wasmPrefix(), true);
await startWasm(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});
if (tf.getBackend() !== 'wasm') throw new Error(`detect-faces: the wasm backend did not start (backend is ${tf.getBackend()})`);
const modelDir = join(packageDir('@vladmandic/face-api'), 'model');
for (const [net, name] of [
  [faceapi.nets.ssdMobilenetv1, 'ssd_mobilenetv1_model'],
  [faceapi.nets.faceLandmark68Net, 'face_landmark_68_model'],
  [faceapi.nets.faceRecognitionNet, 'face_recognition_model'],
]) {
  // What loadFromDisk does, without face-api's Node file-system shim (the browser bundle has none).
  const manifest = JSON.parse(await readFile(join(modelDir, `${name}-weights_manifest.json`), 'utf8'));
  const { specs, data } = await readWeights(manifest, modelDir);
  net.loadFromWeightMap(tf.io.decodeWeights(data, specs));
}
const options = new faceapi.SsdMobilenetv1Options({ minConfidence: MIN_CONFIDENCE });
{
  const blank = tf.zeros([64, 64, 3], 'int32');
  await faceapi.detectAllFaces(blank, options).withFaceLandmarks().withFaceDescriptors();
  blank.dispose();
}
const initMs = performance.now() - initStart;

let queue = Promise.resolve();
function serially(fn) {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

const round = (v, d) => Math.round(v * 10 ** d) / 10 ** d;

export const handler = async (event, context) => {
  const bytes = await context.storage.get(event.key);
  if (!Buffer.isBuffer(bytes)) throw Object.assign(new Error(`detect-faces: no image under storage key ${JSON.stringify(event.key)}`), { name: 'ImageNotFound' });
  const { left, top, width, height } = event.region;
  const { data, info } = await sharp(bytes).extract({ left, top, width, height }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const start = performance.now();
  const results = await serially(async () => {
    const t = tf.tensor3d(data, [info.height, info.width, 3], 'int32');
    try {
      return await faceapi.detectAllFaces(t, options).withFaceLandmarks().withFaceDescriptors();
    } finally {
      t.dispose();
    }
  });
  return {
    image: event.image,
    region: event.region,
    faces: results.map((r) => ({
      box: [round(r.detection.box.x + left, 1), round(r.detection.box.y + top, 1), round(r.detection.box.width, 1), round(r.detection.box.height, 1)],
      score: round(r.detection.score, 4),
      descriptor: Array.from(r.descriptor, (v) => round(v, 6)),
    })),
    detectMs: round(performance.now() - start, 1),
    workerInitMs: Math.round(initMs),
  };
};
