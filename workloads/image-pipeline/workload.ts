/**
 * image-pipeline: the four-stage image pipeline of "Will Serverless Computing Revolutionize NFV?" (Figure 2) and of
 * the AWS reference architecture lambda-refarch-imagerecognition: extract metadata, verify and transform, tag objects
 * (CenterNet of @vladmandic/human on the TensorFlow.js wasm backend), thumbnail. An `ingest` stage before them puts the
 * image into context.storage (the upload that triggers the pipeline), and `store-result` after them stores the result
 * (the refarch's StoreImageMetadata). Images travel between stages as storage keys, never as payloads.
 *
 * Workflows: `sequential` (the stages in a row, as the paper measured) and `refarch` (the AWS state machine's shape: a
 * Choice on the image type, then tagging and thumbnail in a Parallel state with Retry); `main` is `refarch`.
 */
import { join } from 'node:path';
import type { AppManifest } from '../../platform/manifest.js';
import { checkKnownParams, sizeOf } from '../params.js';
import { workloadDir } from '../paths.js';
import { randomString, seededRandom } from '../random.js';
import type { ExecutionFailure, Validation, Workload, WorkloadParams } from '../types.js';
import { jpegSize } from './jpeg.js';

export interface GeneratedExif {
  make: string;
  model: string;
  /** EXIF form, "YYYY:MM:DD HH:MM:SS". */
  dateTimeOriginal: string;
  gps: { latitude: number; longitude: number };
}

export type ImageSource =
  | { kind: 'file'; package: string; path: string }
  | { kind: 'generated'; format: 'jpeg' | 'png' | 'webp'; width: number; height: number; seed: number; exif?: GeneratedExif }
  | { kind: 'inline'; base64: string; name?: string };

export interface ImagePipelineInput {
  image: ImageSource;
}

export interface ImagePipelineOutput {
  id: string;
  name: string;
  source: { bytes: number; sha256: string };
  metadata: {
    format: string;
    width: number;
    height: number;
    bytes: number;
    make: string | null;
    model: string | null;
    takenAt: string | null;
    gps: { latitude: number; longitude: number } | null;
  };
  tags: string[];
  objects: Array<{ label: string; score: number; box: number[] }>;
  thumbnail: { key: string; format: string; width: number; height: number; bytes: number; base64: string };
  resultKey: string;
}

/** The sample photos shipped in the npm packages, with their sizes; every one shows people. */
export const SAMPLE_PHOTOS = [
  { package: '@vladmandic/face-api', path: 'demo/sample1.jpg', width: 1920, height: 1280, people: true },
  { package: '@vladmandic/face-api', path: 'demo/sample2.jpg', width: 1920, height: 1367, people: true },
  { package: '@vladmandic/face-api', path: 'demo/sample3.jpg', width: 1920, height: 1350, people: true },
  { package: '@vladmandic/face-api', path: 'demo/sample4.jpg', width: 1920, height: 1448, people: true },
  { package: '@vladmandic/face-api', path: 'demo/sample5.jpg', width: 1920, height: 1398, people: true },
  { package: '@vladmandic/face-api', path: 'demo/sample6.jpg', width: 1920, height: 1537, people: true },
  { package: '@vladmandic/human', path: 'assets/samples.jpg', width: 1280, height: 1158, people: true },
] as const;

type SizeSpec =
  | { kind: 'generated'; format: 'jpeg' | 'png' | 'webp'; width: number; height: number; exif: boolean; description: string }
  | { kind: 'photo'; description: string }
  | { kind: 'non-image'; bytes: number; description: string };

const SIZES: Record<string, SizeSpec> = {
  small: { kind: 'generated', format: 'jpeg', width: 640, height: 480, exif: true, description: 'generated JPEG 640x480 with EXIF (camera, date, GPS)' },
  medium: { kind: 'generated', format: 'jpeg', width: 1920, height: 1080, exif: true, description: 'generated JPEG 1920x1080 with EXIF' },
  large: { kind: 'generated', format: 'jpeg', width: 4032, height: 3024, exif: true, description: 'generated JPEG 4032x3024 (12 MP) with EXIF' },
  photo: { kind: 'photo', description: 'one of the sample photos of @vladmandic/face-api and @vladmandic/human (people in them), picked by the seed' },
  png: { kind: 'generated', format: 'png', width: 800, height: 600, exif: false, description: 'generated PNG 800x600, no EXIF' },
  webp: { kind: 'generated', format: 'webp', width: 640, height: 480, exif: false, description: 'generated WebP 640x480: a real image of a refused type; the execution must fail' },
  'non-image': { kind: 'non-image', bytes: 2048, description: '2 KiB of text: not an image; the execution must fail' },
};

const CAMERAS = [
  ['Canon', 'Canon EOS 5D Mark IV'],
  ['NIKON CORPORATION', 'NIKON D850'],
  ['SONY', 'ILCE-7M3'],
  ['Apple', 'iPhone 12 Pro'],
  ['Google', 'Pixel 7'],
] as const;

const pad = (n: number): string => String(n).padStart(2, '0');

/** The Error of a failed execution for an input that must fail, or null when the input must succeed. */
export function expectedFailure(input: ImagePipelineInput): { error: string; stage: string } | null {
  const img = input.image;
  if (img.kind === 'generated' && img.format !== 'jpeg' && img.format !== 'png') return { error: 'ImageTypeNotSupported', stage: 'verify-transform' };
  if (img.kind === 'inline') {
    const b = Buffer.from(img.base64, 'base64');
    const jpeg = b[0] === 0xff && b[1] === 0xd8;
    const png = b.subarray(0, 4).toString('latin1') === '\x89PNG';
    if (!jpeg && !png) return { error: 'ImageTypeNotSupported', stage: 'verify-transform' };
  }
  return null;
}

/** The thumbnail size sharp must produce for an image of w x h: fit inside 250x250, never enlarged. */
export function thumbnailBox(w: number, h: number): { width: number; height: number } {
  const s = Math.min(250 / w, 250 / h, 1);
  return { width: w * s, height: h * s };
}

function expectedDims(img: ImageSource): { width: number; height: number } | null {
  if (img.kind === 'generated') return { width: img.width, height: img.height };
  if (img.kind === 'file') {
    const p = SAMPLE_PHOTOS.find((s) => s.package === img.package && s.path === img.path);
    return p ? { width: p.width, height: p.height } : null;
  }
  return null;
}

function fn(name: string, extra: Record<string, unknown> = {}) {
  return { name, handler: 'index.handler', code: { dir: join(workloadDir('image-pipeline'), 'functions', name) }, ...extra };
}

const RETRY = [{ ErrorEquals: ['MF_WORKER_EXITED', 'MF_FUNCTION_MEMORY_EXCEEDED', 'States.Timeout'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2 }];

export function imagePipelineWorkflows(): Record<string, unknown> {
  const sequential = {
    Comment: 'image-pipeline, sequential: the four stages in a row (NFV paper, Figure 2)',
    StartAt: 'Ingest',
    States: {
      Ingest: { Type: 'Task', Resource: 'ingest', Next: 'ExtractMetadata' },
      ExtractMetadata: { Type: 'Task', Resource: 'extract-metadata', ResultPath: '$.raw', Next: 'VerifyTransform' },
      VerifyTransform: { Type: 'Task', Resource: 'verify-transform', ResultPath: '$.metadata', Next: 'TagObjects' },
      TagObjects: { Type: 'Task', Resource: 'tag-objects', ResultPath: '$.tagging', Next: 'Thumbnail' },
      Thumbnail: { Type: 'Task', Resource: 'thumbnail', ResultPath: '$.thumbnail', Next: 'StoreResult' },
      StoreResult: { Type: 'Task', Resource: 'store-result', End: true },
    },
  };
  const refarch = {
    Comment: 'image-pipeline, refarch: the shape of AWS lambda-refarch-imagerecognition (Choice on the type, Parallel tagging and thumbnail with Retry)',
    StartAt: 'Ingest',
    States: {
      Ingest: { Type: 'Task', Resource: 'ingest', Next: 'ExtractMetadata' },
      ExtractMetadata: { Type: 'Task', Resource: 'extract-metadata', ResultPath: '$.raw', Next: 'ImageTypeCheck' },
      ImageTypeCheck: {
        Type: 'Choice',
        Choices: [{ Or: [{ Variable: '$.raw.format', StringEquals: 'jpeg' }, { Variable: '$.raw.format', StringEquals: 'png' }], Next: 'TransformMetadata' }],
        Default: 'UnsupportedImageType',
      },
      UnsupportedImageType: {
        Type: 'Fail',
        Error: 'ImageTypeNotSupported',
        CausePath: "States.Format('ImageTypeCheck: unsupported image type \"{}\" ({}); only JPEG and PNG are accepted', $.raw.format, $.raw.mime)",
      },
      TransformMetadata: { Type: 'Task', Resource: 'verify-transform', ResultPath: '$.metadata', Next: 'ParallelProcessing' },
      ParallelProcessing: {
        Type: 'Parallel',
        Branches: [
          { StartAt: 'TagObjects', States: { TagObjects: { Type: 'Task', Resource: 'tag-objects', Retry: RETRY, End: true } } },
          { StartAt: 'Thumbnail', States: { Thumbnail: { Type: 'Task', Resource: 'thumbnail', Retry: RETRY, End: true } } },
        ],
        ResultPath: '$.processed',
        Next: 'StoreResult',
      },
      StoreResult: { Type: 'Task', Resource: 'store-result', End: true },
    },
  };
  return { sequential, refarch, main: refarch };
}

function checkOutput(input: ImagePipelineInput, output: unknown): Validation {
  const failure = expectedFailure(input);
  if (failure) return { ok: false, reason: `the execution succeeded, but this input must fail at ${failure.stage} with ${failure.error}` };
  if (typeof output !== 'object' || output === null) return { ok: false, reason: `output is not an object: ${JSON.stringify(output)?.slice(0, 80)}` };
  const o = output as Partial<ImagePipelineOutput>;
  const m = o.metadata;
  if (typeof m !== 'object' || m === null) return { ok: false, reason: 'metadata is missing' };
  const img = input.image;
  const format = img.kind === 'generated' ? img.format : 'jpeg';
  if (img.kind !== 'inline' && m.format !== format) return { ok: false, reason: `metadata.format is ${JSON.stringify(m.format)}, expected "${format}"` };
  const dims = expectedDims(img);
  if (dims && (m.width !== dims.width || m.height !== dims.height)) {
    return { ok: false, reason: `metadata dimensions are ${m.width}x${m.height}, expected ${dims.width}x${dims.height}` };
  }
  if (!(typeof m.width === 'number' && m.width > 0 && typeof m.height === 'number' && m.height > 0)) return { ok: false, reason: 'metadata dimensions are missing' };
  if (typeof o.source?.bytes !== 'number' || m.bytes !== o.source.bytes || m.bytes <= 0) return { ok: false, reason: `metadata.bytes (${m.bytes}) is not the stored image's size (${o.source?.bytes})` };
  if (img.kind === 'generated' && img.exif) {
    const e = img.exif;
    if (m.make !== e.make || m.model !== e.model) return { ok: false, reason: `make/model are ${JSON.stringify([m.make, m.model])}, expected ${JSON.stringify([e.make, e.model])}` };
    const iso = `${e.dateTimeOriginal.slice(0, 10).replaceAll(':', '-')}T${e.dateTimeOriginal.slice(11)}.000Z`;
    if (m.takenAt !== iso) return { ok: false, reason: `takenAt is ${JSON.stringify(m.takenAt)}, expected "${iso}" (the EXIF DateTimeOriginal in ISO 8601)` };
    if (m.gps === null || Math.abs(m.gps.latitude - e.gps.latitude) > 1e-5 || Math.abs(m.gps.longitude - e.gps.longitude) > 1e-5) {
      return { ok: false, reason: `gps is ${JSON.stringify(m.gps)}, expected ${JSON.stringify(e.gps)} (decimal degrees, within 1e-5)` };
    }
  }
  if (img.kind === 'generated' && !img.exif && (m.make !== null || m.gps !== null || m.takenAt !== null)) {
    return { ok: false, reason: 'an image without EXIF gave make, gps or takenAt' };
  }
  const t = o.thumbnail;
  if (typeof t !== 'object' || t === null || typeof t.base64 !== 'string') return { ok: false, reason: 'thumbnail is missing' };
  const real = jpegSize(Buffer.from(t.base64, 'base64'));
  if (real === null) return { ok: false, reason: 'the thumbnail is not a JPEG' };
  if (real.width !== t.width || real.height !== t.height) return { ok: false, reason: `the thumbnail is ${real.width}x${real.height} but says ${t.width}x${t.height}` };
  if (real.width > 250 || real.height > 250) return { ok: false, reason: `the thumbnail is ${real.width}x${real.height}, over 250x250` };
  const box = thumbnailBox(m.width, m.height);
  if (Math.abs(real.width - box.width) > 1 || Math.abs(real.height - box.height) > 1) {
    return { ok: false, reason: `the thumbnail is ${real.width}x${real.height}, expected ${box.width.toFixed(1)}x${box.height.toFixed(1)} (aspect kept, within 1 px)` };
  }
  if (typeof t.key !== 'string' || typeof o.resultKey !== 'string') return { ok: false, reason: 'the storage keys of the thumbnail or the result are missing' };
  if (!Array.isArray(o.tags) || !o.tags.every((x) => typeof x === 'string')) return { ok: false, reason: 'tags is not a list of strings' };
  if (!Array.isArray(o.objects) || !o.objects.every((x) => typeof x?.label === 'string' && typeof x.score === 'number' && o.tags?.includes(x.label))) {
    return { ok: false, reason: 'objects is not a list of {label, score, box} whose labels are in tags' };
  }
  if (img.kind === 'file' && SAMPLE_PHOTOS.some((s) => s.path === img.path && s.package === img.package && s.people) && !o.tags.includes('person')) {
    return { ok: false, reason: `the photo ${img.package}/${img.path} shows people, but the tags are ${JSON.stringify(o.tags)}` };
  }
  return { ok: true };
}

export const imagePipeline: Workload<ImagePipelineInput, ImagePipelineOutput> = {
  name: 'image-pipeline',
  description: 'Image pipeline (NFV paper Fig. 2 / AWS refarch): metadata, verify+transform, object tagging (CenterNet, wasm), thumbnail.',
  sizes: Object.fromEntries(Object.entries(SIZES).map(([k, v]) => [k, v.description])),
  params: {},
  workflow: 'main',

  app(params: WorkloadParams = {}): AppManifest {
    checkKnownParams('image-pipeline', params, []);
    return {
      name: 'image-pipeline',
      functions: [
        fn('ingest', { memoryMB: 512, timeoutSeconds: 60 }),
        fn('extract-metadata', { memoryMB: 512, timeoutSeconds: 60 }),
        fn('verify-transform'),
        // Measured (process backend): a tag-objects worker peaks at ~285 MB resident on a 12 MP image; init ~4 s.
        fn('tag-objects', { memoryMB: 1024, timeoutSeconds: 120, packages: ['@vladmandic/human', '@tensorflow/tfjs-backend-wasm'] }),
        fn('thumbnail', { memoryMB: 512, timeoutSeconds: 60 }),
        fn('store-result'),
      ],
      workflows: imagePipelineWorkflows(),
    };
  },

  generateInput(size: string, seed: number): ImagePipelineInput {
    const spec = sizeOf('image-pipeline', SIZES, size);
    const rand = seededRandom(seed);
    if (spec.kind === 'photo') {
      const p = SAMPLE_PHOTOS[Math.floor(rand() * SAMPLE_PHOTOS.length)] ?? SAMPLE_PHOTOS[0];
      return { image: { kind: 'file', package: p.package, path: p.path } };
    }
    if (spec.kind === 'non-image') {
      const text = `This is not an image (seed ${seed}).\n${randomString(rand, spec.bytes)}`;
      return { image: { kind: 'inline', name: `notes-${seed}.txt`, base64: Buffer.from(text).toString('base64') } };
    }
    const imageSeed = Math.floor(rand() * 2 ** 31);
    if (!spec.exif) return { image: { kind: 'generated', format: spec.format, width: spec.width, height: spec.height, seed: imageSeed } };
    const [make, model] = CAMERAS[Math.floor(rand() * CAMERAS.length)] ?? CAMERAS[0];
    const t = new Date(Date.UTC(2015, 0, 1) + Math.floor(rand() * 10 * 365 * 86400) * 1000);
    const dateTimeOriginal = `${t.getUTCFullYear()}:${pad(t.getUTCMonth() + 1)}:${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
    const gps = { latitude: Math.round((rand() * 160 - 80) * 1e6) / 1e6, longitude: Math.round((rand() * 360 - 180) * 1e6) / 1e6 };
    return { image: { kind: 'generated', format: spec.format, width: spec.width, height: spec.height, seed: imageSeed, exif: { make, model, dateTimeOriginal, gps } } };
  },

  validateOutput: checkOutput,

  validateFailure(input: ImagePipelineInput, failure: ExecutionFailure): Validation {
    const expected = expectedFailure(input);
    if (!expected) return { ok: false, reason: `the execution failed (${failure.error}: ${failure.cause?.slice(0, 200)}), but this input must succeed` };
    if (failure.error !== expected.error) return { ok: false, reason: `the execution failed with ${failure.error}, expected ${expected.error}` };
    // sequential: the function's error names verify-transform; refarch: the Choice state ImageTypeCheck refuses it first.
    if (!/verify-transform|ImageTypeCheck/.test(failure.cause ?? '')) return { ok: false, reason: `the cause does not name the stage: ${failure.cause}` };
    return { ok: true };
  },
};
