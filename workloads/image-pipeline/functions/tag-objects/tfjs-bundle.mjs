/**
 * Loads a self-contained @vladmandic bundle (human.esm.js or face-api.esm.js: TensorFlow.js 4.22 with its wasm
 * backend inside) in Node, offline, and starts the wasm backend from the .wasm files of @tensorflow/tfjs-backend-wasm.
 *
 * Why the bundle and not the packages' Node builds: human.node-wasm.js needs @tensorflow/tfjs-converter and
 * face-api.node-wasm.js needs @tensorflow/tfjs, which are not installed. The bundles carry everything, but they are
 * built for browsers, so three things are set up around them:
 *  1. `WorkerGlobalScope` is defined while the bundle is imported, so tfjs registers its browser platform (fetch,
 *     TextEncoder, performance: all in Node 20) instead of its Node platform, whose `util` import the browser build
 *     stubs out;
 *  2. `file://` URLs are served from disk by a fetch wrapper (Node's fetch has no file: scheme), used for the .wasm
 *     binary only (models are read with fs, see readWeights);
 *  3. `__dirname` is defined while the wasm module starts (emscripten reads it on Node), and the process-wide
 *     uncaughtException/unhandledRejection listeners that emscripten installs are removed again, so the worker's own
 *     handlers decide what an error does.
 * Nothing is downloaded: a fetch of anything but a file: URL goes to the real fetch, and no code path here makes one.
 *
 * This file is copied verbatim into every function folder that needs it (image-pipeline/tag-objects,
 * face-recognition/detect-faces), so that each function's code folder is self-contained (a docker sandbox mounts only
 * the function's folder); a unit test checks the copies are identical.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

/** Absolute folder of an installed package (found from this file upward, as Node resolves). */
export function packageDir(name) {
  // Not require.resolve(`${name}/package.json`): packages with an "exports" map (Human) do not export it.
  for (const dir of require.resolve.paths(name) ?? []) {
    if (existsSync(join(dir, name, 'package.json'))) return join(dir, name);
  }
  throw new Error(`package ${name} is not installed (looked in the node_modules folders above ${fileURLToPath(import.meta.url)})`);
}

let fetchWrapped = false;
function serveFileUrls() {
  if (fetchWrapped) return;
  fetchWrapped = true;
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (url, init) => {
    const u = typeof url === 'string' ? url : url instanceof URL ? url.href : url?.url;
    if (typeof u === 'string' && u.startsWith('file://')) {
      try {
        return new Response(await readFile(fileURLToPath(u)), { status: 200 });
      } catch (err) {
        return new Response(String(err), { status: 404 });
      }
    }
    return realFetch(url, init);
  };
}

/** Imports a bundle (a file inside an installed package) with tfjs's browser platform. */
export async function importBundle(pkg, file) {
  serveFileUrls();
  const had = 'WorkerGlobalScope' in globalThis;
  if (!had) globalThis.WorkerGlobalScope = class WorkerGlobalScope {};
  try {
    return await import(pathToFileURL(join(packageDir(pkg), file)).href);
  } finally {
    if (!had) delete globalThis.WorkerGlobalScope;
  }
}

/** The folder of the .wasm binaries, as a file: URL with a trailing slash (tfjs's setWasmPaths prefix). */
export function wasmPrefix() {
  return pathToFileURL(join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist') + '/').href;
}

/** Runs `start` (which initialises the wasm backend) with emscripten's Node expectations met, and cleans up after it. */
export async function startWasm(start) {
  const before = {
    uncaughtException: new Set(process.listeners('uncaughtException')),
    unhandledRejection: new Set(process.listeners('unhandledRejection')),
  };
  const hadDirname = '__dirname' in globalThis;
  if (!hadDirname) globalThis.__dirname = fileURLToPath(wasmPrefix());
  try {
    return await start();
  } finally {
    if (!hadDirname) delete globalThis.__dirname;
    for (const event of ['uncaughtException', 'unhandledRejection']) {
      for (const l of process.listeners(event)) if (!before[event].has(l)) process.removeListener(event, l);
    }
  }
}

/**
 * Reads a TensorFlow.js weights manifest and its shards from disk: returns { specs, data } for tf.io.decodeWeights or a
 * graph model's weightSpecs/weightData. `manifest` is the weightsManifest array.
 */
export async function readWeights(manifest, dir) {
  const specs = [];
  const shards = [];
  for (const group of manifest) {
    specs.push(...group.weights);
    for (const p of group.paths) shards.push(await readFile(join(dir, p)));
  }
  const all = Buffer.concat(shards);
  return { specs, data: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) };
}

/** A tf.io load router for file: URLs of graph models (model.json + shards), so a GraphModel loads from disk. */
export function fileModelRouter(url) {
  const u = Array.isArray(url) ? url[0] : url;
  if (typeof u !== 'string' || !u.startsWith('file://')) return null;
  const path = fileURLToPath(u);
  return {
    async load() {
      const json = JSON.parse(await readFile(path, 'utf8'));
      const { specs, data } = await readWeights(json.weightsManifest, dirname(path));
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
        weightSpecs: specs,
        weightData: data,
      };
    },
  };
}
