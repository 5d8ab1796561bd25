/**
 * The workload registry (name -> Workload) and the mapping from a folder on disk to what it deploys.
 * The CLI's workload choices come from the registry's keys, so a new workload is one entry here.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { MfError } from '../platform/errors.js';
import type { AppManifest, FunctionManifest } from '../platform/manifest.js';
import { anomalyDetection } from './anomaly-detection/workload.js';
import { cpu } from './cpu/workload.js';
import { faceRecognition } from './face-recognition/workload.js';
import { hello } from './hello/workload.js';
import { imagePipeline } from './image-pipeline/workload.js';
import { noop } from './noop/workload.js';
import { noopChain } from './noop-chain/workload.js';
import { nfvStream } from './nfv-stream/workload.js';
import { payload } from './payload/workload.js';
import { sleep } from './sleep/workload.js';
import { spiky } from './spiky/workload.js';
import { workloadDir } from './paths.js';
import type { Workload, WorkloadParams } from './types.js';

export type { ExecutionFailure, Validation, Workload, WorkloadParams } from './types.js';

export const WORKLOADS = {
  hello,
  'noop-chain': noopChain,
  noop,
  sleep,
  cpu,
  payload,
  'image-pipeline': imagePipeline,
  'face-recognition': faceRecognition,
  'anomaly-detection': anomalyDetection,
  'nfv-stream': nfvStream,
  spiky,
} as const;

export type WorkloadName = keyof typeof WORKLOADS;

/** A workload with its input type erased, for code that handles any of them (the CLI, the demo, experiments). */
export type AnyWorkload = Workload<any, unknown>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const WORKLOAD_NAMES = Object.keys(WORKLOADS) as WorkloadName[];

export function isWorkloadName(name: string): name is WorkloadName {
  return Object.hasOwn(WORKLOADS, name);
}

export function getWorkload(name: string): AnyWorkload {
  if (!isWorkloadName(name)) {
    throw new MfError('MF_WORKLOAD_NOT_FOUND', `no workload named "${name}" (known: ${WORKLOAD_NAMES.join(', ')})`, { workload: name });
  }
  return WORKLOADS[name];
}

/** What a folder deploys: a registered workload, or an app described by the folder's app.json. */
export type LoadedFolder =
  | { kind: 'workload'; dir: string; workload: AnyWorkload; manifest(params?: WorkloadParams): AppManifest }
  | { kind: 'app-json'; dir: string; manifest(params?: WorkloadParams): AppManifest };

/**
 * Maps a folder (relative to `cwd` or absolute) to what it deploys. A registered workload's folder (e.g.
 * `workloads/noop-chain`) gives that workload; a bare registered name (`noop-chain`) does too when no such folder
 * exists. Any other folder must hold an app.json (an app manifest whose functions' `code.dir` is relative to the
 * folder; a function without `code` takes `functions/<name>`).
 */
export function loadWorkloadFromPath(dir: string, cwd: string = process.cwd()): LoadedFolder {
  const abs = isAbsolute(dir) ? dir : resolve(cwd, dir);
  if (!existsSync(abs)) {
    if (isWorkloadName(dir)) return fromWorkload(workloadDir(dir), WORKLOADS[dir]);
    throw new MfError('MF_WORKLOAD_NOT_FOUND', `no such folder: ${abs} (and no registered workload named "${dir}"; known: ${WORKLOAD_NAMES.join(', ')})`, {
      path: abs,
    });
  }
  if (!statSync(abs).isDirectory()) throw new MfError('MF_WORKLOAD_NOT_FOUND', `not a folder: ${abs}`, { path: abs });
  const real = realpathSync(abs);
  for (const name of WORKLOAD_NAMES) {
    const wdir = workloadDir(name);
    if (existsSync(wdir) && realpathSync(wdir) === real) return fromWorkload(wdir, WORKLOADS[name]);
  }
  const appJson = join(abs, 'app.json');
  if (existsSync(appJson)) {
    const manifest = readAppJson(appJson, abs);
    return {
      kind: 'app-json',
      dir: abs,
      manifest(params: WorkloadParams = {}) {
        if (Object.keys(params).length > 0) {
          throw new MfError('MF_BAD_REQUEST', `${appJson} takes no parameters (got ${Object.keys(params).join(', ')})`, { path: appJson });
        }
        return structuredClone(manifest);
      },
    };
  }
  throw new MfError('MF_WORKLOAD_NOT_FOUND', `${abs} is neither a registered workload (${WORKLOAD_NAMES.join(', ')}) nor a folder with an app.json`, {
    path: abs,
  });
}

function fromWorkload(dir: string, workload: AnyWorkload): LoadedFolder {
  return { kind: 'workload', dir, workload, manifest: (params?: WorkloadParams) => workload.app(params) };
}

/** Reads an app.json, resolving each function's `code.dir` against the folder. */
function readAppJson(file: string, folder: string): AppManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new MfError('MF_MANIFEST_INVALID', `${file} is not valid JSON: ${(err as Error).message}`, { path: file });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new MfError('MF_MANIFEST_INVALID', `${file} must hold a JSON object`, { path: file });
  const m = raw as Partial<AppManifest>;
  if (typeof m.name !== 'string') throw new MfError('MF_MANIFEST_INVALID', `${file}: "name" must be a string`, { path: file });
  if (!Array.isArray(m.functions)) throw new MfError('MF_MANIFEST_INVALID', `${file}: "functions" must be an array`, { path: file });
  if (typeof m.workflows !== 'object' || m.workflows === null) throw new MfError('MF_MANIFEST_INVALID', `${file}: "workflows" must be an object`, { path: file });
  const functions = m.functions.map((f: FunctionManifest): FunctionManifest => {
    const code = f.code ?? { dir: join('functions', String(f.name)) };
    return 'dir' in code && typeof code.dir === 'string' ? { ...f, code: { dir: resolve(folder, code.dir) } } : { ...f, code };
  });
  return { name: m.name, functions, workflows: m.workflows };
}
