/**
 * The web console's static files (docs/console.md), read once at start from the folder the build bundled them into,
 * and served at /console/ without a token: the page asks for the token and sends it with every API call.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StaticFile {
  contentType: string;
  content: Buffer;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/** Where `npm run build` puts the bundle: beside this module in dist/. */
export const CONSOLE_DIR = fileURLToPath(new URL('./console/', import.meta.url));

/** The console's files by name (a flat folder); empty when the console was not built. */
export function loadConsoleFiles(dir: string = CONSOLE_DIR): ReadonlyMap<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return files;
  }
  for (const name of names) {
    const contentType = TYPES[extname(name)];
    if (contentType !== undefined) files.set(name, { contentType, content: readFileSync(join(dir, name)) });
  }
  return files;
}
