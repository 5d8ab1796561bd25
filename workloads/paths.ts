/**
 * Where the workload folders are on disk. Function code is always taken from the SOURCE tree (workloads/<name>/functions),
 * never from dist/, because the handlers are plain .mjs files that the TypeScript build does not copy.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/** The repository root: the first folder above this module that holds a package.json (works from source and dist/). */
export function repoRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return (cachedRoot = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Absolute source folder of a workload, e.g. <repo>/workloads/noop-chain. */
export function workloadDir(name: string): string {
  return join(repoRoot(), 'workloads', name);
}
