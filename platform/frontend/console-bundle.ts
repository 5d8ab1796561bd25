/**
 * Bundles the web console (platform/frontend/console/) with esbuild into dist/platform/frontend/console/, where
 * console-files.ts serves it from: one ES module with CodeMirror and the SDK inside, its stylesheet and page, so the
 * console works offline and needs no CDN. Run by `npm run build` after tsc.
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { CONSOLE_DIR } from './console-files.js';

const SOURCE = fileURLToPath(new URL('../../../platform/frontend/console/', import.meta.url));

rmSync(CONSOLE_DIR, { recursive: true, force: true });
mkdirSync(CONSOLE_DIR, { recursive: true });
await build({
  entryPoints: [join(SOURCE, 'main.ts')],
  outdir: CONSOLE_DIR,
  bundle: true,
  format: 'esm',
  // The SDK loads its folder helpers (node:fs) only when a manifest names a folder, which the console never does:
  // splitting keeps them in a chunk the page never fetches.
  splitting: true,
  external: ['node:*'],
  platform: 'browser',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  logLevel: 'warning',
});
for (const file of ['index.html', 'console.css']) copyFileSync(join(SOURCE, file), join(CONSOLE_DIR, file));
