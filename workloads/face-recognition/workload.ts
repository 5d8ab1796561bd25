/**
 * face-recognition: parallel face recognition, as in the MicroFunctions demo. `split` stores the photos in
 * context.storage and makes one work item per photo (or per overlapping tile of a photo); an ASL Map state runs
 * `detect-faces` (face-api: SSD MobileNet v1 + landmarks + 128-d descriptor, wasm backend) on the items with
 * MaxConcurrency = the input's `parallelism`; `match` joins the faces and matches them against a gallery kept in
 * context.storage (Euclidean distance < 0.6), adding new faces to it.
 */
import { join } from 'node:path';
import type { AppManifest } from '../../platform/manifest.js';
import { checkKnownParams, sizeOf } from '../params.js';
import { workloadDir } from '../paths.js';
import { seededRandom } from '../random.js';
import type { ExecutionFailure, Validation, Workload, WorkloadParams } from '../types.js';

export type FaceImage = { kind: 'file'; package: string; path: string; scale?: number } | { kind: 'inline'; base64: string; name?: string };

export interface FaceRecognitionInput {
  images: FaceImage[];
  tiles?: { rows: number; cols: number; overlap: number };
  parallelism: number;
  gallery: string;
}

export interface FaceRecognitionOutput {
  gallery: { name: string; sizeBefore: number; sizeAfter: number; threshold: number };
  parallelism: number;
  tiled: boolean;
  items: number;
  images: Array<{ name: string; width: number; height: number; faces: Array<{ box: number[]; score: number; galleryId: string; distance: number | null; isNew: boolean }> }>;
}

/**
 * The face-api sample photos and how many faces the detector finds on each whole photo (SSD MobileNet v1,
 * minConfidence 0.5, wasm backend). Measured on each whole photo at 0.6x, 1x and 2x, and in 2 horizontal bands overlapping
 * by 25% at 1x and 2x: all agree. (2 vertical bands or 2x2 tiles do not: the detector misses profile faces in some
 * crops of sample2 and sample4, so tiles are horizontal bands.)
 */
export const FACE_PHOTOS = [
  { path: 'demo/sample1.jpg', faces: 3 },
  { path: 'demo/sample2.jpg', faces: 3 },
  { path: 'demo/sample3.jpg', faces: 3 },
  { path: 'demo/sample4.jpg', faces: 4 },
  { path: 'demo/sample5.jpg', faces: 5 },
  { path: 'demo/sample6.jpg', faces: 4 },
] as const;
const PKG = '@vladmandic/face-api';

type SizeSpec = { photos: number; scale?: number; tiles?: { rows: number; cols: number; overlap: number }; parallelism: number; empty?: boolean; description: string };

const SIZES: Record<string, SizeSpec> = {
  small: { photos: 1, parallelism: 2, description: 'one sample photo and the same photo at 0.6x (2 items): the person is matched across them' },
  medium: { photos: 3, parallelism: 4, description: 'three sample photos and the first again at 0.6x (4 items, parallelism 4)' },
  large: { photos: 2, scale: 2, tiles: { rows: 2, cols: 1, overlap: 0.25 }, parallelism: 4, description: 'two photos upscaled 2x (3840 px wide) and the first at 1x, each cut into 2 horizontal bands overlapping by 25% (6 items)' },
  empty: { photos: 1, parallelism: 2, empty: true, description: 'a sample photo and an empty (0-byte) photo: the execution must fail at split' },
};

function fn(name: string, extra: Record<string, unknown> = {}) {
  return { name, handler: 'index.handler', code: { dir: join(workloadDir('face-recognition'), 'functions', name) }, ...extra };
}

function expectedFaces(img: FaceImage): number | null {
  if (img.kind !== 'file' || img.package !== PKG) return null;
  return FACE_PHOTOS.find((p) => p.path === img.path)?.faces ?? null;
}

export const faceRecognition: Workload<FaceRecognitionInput, FaceRecognitionOutput> = {
  name: 'face-recognition',
  description: 'Parallel face recognition (face-api on wasm): a Map over photos or overlapping tiles, gallery matching in context.storage.',
  sizes: Object.fromEntries(Object.entries(SIZES).map(([k, v]) => [k, v.description])),
  params: {},
  workflow: 'main',

  app(params: WorkloadParams = {}): AppManifest {
    checkKnownParams('face-recognition', params, []);
    const retry = [{ ErrorEquals: ['MF_WORKER_EXITED', 'MF_FUNCTION_MEMORY_EXCEEDED'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2 }];
    return {
      name: 'face-recognition',
      functions: [
        // split reads the sample photos an input names from their package (face-api's), so it declares that package.
        fn('split', { memoryMB: 512, timeoutSeconds: 60, packages: ['@vladmandic/face-api'] }),
        // Measured (process backend): a detect-faces worker holds ~300 MB with the three models, ~700 MB after many photos.
        fn('detect-faces', { memoryMB: 1536, timeoutSeconds: 120, packages: ['@vladmandic/face-api', '@tensorflow/tfjs-backend-wasm'] }),
        fn('match', { memoryMB: 256, timeoutSeconds: 60 }),
      ],
      workflows: {
        main: {
          Comment: 'face-recognition: split, a Map of detect-faces (MaxConcurrency = $.parallelism), match against the gallery',
          StartAt: 'Split',
          States: {
            Split: { Type: 'Task', Resource: 'split', Next: 'DetectFaces' },
            DetectFaces: {
              Type: 'Map',
              ItemsPath: '$.items',
              MaxConcurrencyPath: '$.parallelism',
              ItemProcessor: {
                ProcessorConfig: { Mode: 'INLINE' },
                StartAt: 'Detect',
                States: { Detect: { Type: 'Task', Resource: 'detect-faces', Retry: retry, End: true } },
              },
              ResultPath: '$.detections',
              Next: 'Match',
            },
            Match: { Type: 'Task', Resource: 'match', End: true },
          },
        },
      },
    };
  },

  generateInput(size: string, seed: number): FaceRecognitionInput {
    const spec = sizeOf('face-recognition', SIZES, size);
    const rand = seededRandom(seed);
    const start = Math.floor(rand() * FACE_PHOTOS.length);
    const photos: FaceImage[] = Array.from({ length: spec.photos }, (_, k) => ({
      kind: 'file',
      package: PKG,
      path: (FACE_PHOTOS[(start + k) % FACE_PHOTOS.length] ?? FACE_PHOTOS[0]).path,
      ...(spec.scale !== undefined ? { scale: spec.scale } : {}),
    }));
    const first = photos[0] as FaceImage & { kind: 'file' };
    const again: FaceImage = { kind: 'file', package: PKG, path: first.path, scale: spec.scale !== undefined ? 1 : 0.6 };
    const images: FaceImage[] = spec.empty ? [...photos, { kind: 'inline', name: 'empty.jpg', base64: '' }] : [...photos, again];
    const gallery = `g${seed}-${size}`;
    return { images, parallelism: spec.parallelism, gallery, ...(spec.tiles ? { tiles: spec.tiles } : {}) };
  },

  validateOutput(input: FaceRecognitionInput, output: unknown): Validation {
    if (input.images.some((i) => i.kind === 'inline' && i.base64 === '')) return { ok: false, reason: 'the execution succeeded, but an empty photo must fail it at split' };
    if (typeof output !== 'object' || output === null) return { ok: false, reason: 'output is not an object' };
    const o = output as Partial<FaceRecognitionOutput>;
    if (!Array.isArray(o.images) || o.images.length !== input.images.length) return { ok: false, reason: `expected ${input.images.length} images in the output, got ${o.images?.length}` };
    if (o.parallelism !== input.parallelism) return { ok: false, reason: `parallelism is ${o.parallelism}, expected ${input.parallelism}` };
    for (const [i, img] of input.images.entries()) {
      const faces = o.images[i]?.faces;
      if (!Array.isArray(faces)) return { ok: false, reason: `image ${i}: no faces list` };
      const want = expectedFaces(img);
      if (want !== null && faces.length !== want) return { ok: false, reason: `image ${i} (${img.kind === 'file' ? img.path : 'inline'}): ${faces.length} faces found, the model finds ${want} on the whole photo` };
      for (const f of faces) {
        if (typeof f.galleryId !== 'string' || !Array.isArray(f.box) || f.box.length !== 4) return { ok: false, reason: `image ${i}: a face without galleryId or box` };
        if (!f.isNew && !(typeof f.distance === 'number' && f.distance < (o.gallery?.threshold ?? 0.6))) return { ok: false, reason: `image ${i}: a matched face has distance ${f.distance}` };
      }
      const ids = new Set(faces.map((f) => f.galleryId));
      if (ids.size !== faces.length) return { ok: false, reason: `image ${i}: two faces of one photo got the same gallery id` };
    }
    // The last image is the first one again (scaled): each of its faces must get an id of a face of the first image.
    const firstIds = (o.images[0]?.faces ?? []).map((f) => f.galleryId).sort();
    const lastIds = (o.images[o.images.length - 1]?.faces ?? []).map((f) => f.galleryId).sort();
    if (JSON.stringify(firstIds) !== JSON.stringify(lastIds)) {
      return { ok: false, reason: `the same people (the first photo and its 0.6x copy) got different gallery ids: ${JSON.stringify(firstIds)} vs ${JSON.stringify(lastIds)}` };
    }
    if (!o.gallery || o.gallery.name !== input.gallery || o.gallery.sizeAfter < o.gallery.sizeBefore) return { ok: false, reason: 'the gallery summary is wrong' };
    return { ok: true };
  },

  validateFailure(input: FaceRecognitionInput, failure: ExecutionFailure): Validation {
    const empty = input.images.findIndex((i) => i.kind === 'inline' && i.base64 === '');
    if (empty < 0) return { ok: false, reason: `the execution failed (${failure.error}: ${failure.cause?.slice(0, 200)}), but this input must succeed` };
    if (failure.error !== 'EmptyImage') return { ok: false, reason: `the execution failed with ${failure.error}, expected EmptyImage` };
    if (!(failure.cause ?? '').includes(`split: image ${empty} (empty.jpg) is empty`)) return { ok: false, reason: `the cause does not name the stage and the image: ${failure.cause}` };
    return { ok: true };
  },
};
