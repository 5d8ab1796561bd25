/**
 * Function code as the API carries it: `{dir}` (a folder on the platform's host) or `{files}` (relative path ->
 * base64 content). These helpers turn a folder into `{files}`, so an app can be deployed to a remote platform.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { MfError } from '../errors.js';
import type { AppManifest, FunctionCode } from '../manifest.js';

/** Every regular file under `dir`, recursively, as relative POSIX path -> base64 content (sorted, so stable). */
export function filesFromDir(dir: string): Record<string, string> {
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new MfError('MF_MANIFEST_INVALID', `function code folder does not exist: ${dir}`, { dir });
  }
  if (!st.isDirectory()) throw new MfError('MF_MANIFEST_INVALID', `function code path is not a folder: ${dir}`, { dir });
  const files: Record<string, string> = {};
  const walk = (folder: string): void => {
    const entries = readdirSync(folder, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() || (entry.isSymbolicLink() && statSync(full).isFile())) {
        files[relative(dir, full).split(sep).join('/')] = readFileSync(full).toString('base64');
      }
    }
  };
  walk(dir);
  return files;
}

/** The code of one function as `{files}` (unchanged if it already is). */
export function inlineCode(code: FunctionCode): FunctionCode {
  return 'dir' in code ? { files: filesFromDir(code.dir) } : code;
}

/** A copy of the manifest with every function's code inlined as `{files}`. */
export function inlineManifest(manifest: AppManifest): AppManifest {
  return { ...manifest, functions: manifest.functions.map((f) => ({ ...f, code: inlineCode(f.code) })) };
}

/** Size of the manifest as a request body, and its largest files (to say what to trim when it is too big). */
export function manifestBodySize(manifest: AppManifest): { bytes: number; largestFiles: Array<{ function: string; file: string; bytes: number }> } {
  const bytes = Buffer.byteLength(JSON.stringify(manifest));
  const files: Array<{ function: string; file: string; bytes: number }> = [];
  for (const f of manifest.functions) {
    if ('files' in f.code) for (const [file, b64] of Object.entries(f.code.files)) files.push({ function: f.name, file, bytes: b64.length });
  }
  files.sort((a, b) => b.bytes - a.bytes);
  return { bytes, largestFiles: files.slice(0, 5) };
}

/** Throws MF_PAYLOAD_TOO_LARGE, naming the largest files, when the manifest is over `maxBodyBytes` as a request body. */
export function checkManifestSize(manifest: AppManifest, maxBodyBytes: number): void {
  const { bytes, largestFiles } = manifestBodySize(manifest);
  if (bytes <= maxBodyBytes) return;
  const biggest = largestFiles.map((f) => `${f.function}/${f.file} (${f.bytes} bytes base64)`).join(', ');
  throw new MfError('MF_PAYLOAD_TOO_LARGE', `the app manifest is ${bytes} bytes as JSON, over the platform's body limit of ${maxBodyBytes} bytes; largest files: ${biggest}`, {
    bytes,
    maxBodyBytes,
    largestFiles,
    hint: 'remove what the functions do not need (e.g. node_modules, tests), or start the platform with a larger --max-body-bytes and pass the same --max-body-bytes here',
  });
}
