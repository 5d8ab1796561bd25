/**
 * Function code from the person's disk: a folder (the browser's directory picker) or a zip, as the API carries
 * code: relative path -> base64. Unzipping uses fflate; a zip that unpacks past UNZIPPED_LIMIT is refused before
 * it is inflated, so a zip bomb cannot take the tab down.
 */
import { unzipSync } from 'fflate';

/** Far above any deploy the platform takes (maxBodyBytes, 6 MiB by default), far below what hurts a tab. */
export const UNZIPPED_LIMIT = 64 * 1024 * 1024;

export class UploadError extends Error {}

export function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** When every path lies in one top folder (a zipped folder), the function's code root is inside it. */
function withoutCommonFolder(files: Record<string, Uint8Array>): Record<string, Uint8Array> {
  const paths = Object.keys(files);
  const top = paths[0]?.split('/')[0];
  if (top === undefined || !paths.every((p) => p.startsWith(`${top}/`))) return files;
  return Object.fromEntries(paths.map((p) => [p.slice(top.length + 1), files[p]!]));
}

/** A zip's regular files as relative path -> base64; folders and macOS resource forks are left out. */
export function filesFromZip(zip: Uint8Array): Record<string, string> {
  let total = 0;
  let unpacked: Record<string, Uint8Array>;
  try {
    unpacked = unzipSync(zip, {
      filter: (file) => {
        total += file.originalSize;
        if (total > UNZIPPED_LIMIT) throw new UploadError(`the zip unpacks to more than ${UNZIPPED_LIMIT / 1024 / 1024} MiB`);
        return !file.name.endsWith('/') && !file.name.startsWith('__MACOSX/');
      },
    });
  } catch (err) {
    if (err instanceof UploadError) throw err;
    throw new UploadError(`not a zip file that can be read (${err instanceof Error ? err.message : String(err)})`);
  }
  const files = withoutCommonFolder(unpacked);
  if (Object.keys(files).length === 0) throw new UploadError('the zip holds no file');
  return Object.fromEntries(Object.entries(files).map(([p, bytes]) => [p, base64(bytes)]));
}

/** A picked folder's files as relative path -> base64 (paths start with the folder's own name, which is dropped). */
export async function filesFromFolder(list: FileList | null): Promise<Record<string, string>> {
  const files: Record<string, Uint8Array> = {};
  for (const file of Array.from(list ?? [])) files[file.webkitRelativePath || file.name] = new Uint8Array(await file.arrayBuffer());
  return Object.fromEntries(Object.entries(withoutCommonFolder(files)).map(([p, bytes]) => [p, base64(bytes)]));
}
