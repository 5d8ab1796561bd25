/**
 * The npm packages a function's code needs, for adapters that package code for another platform (an OpenFaaS image,
 * an OpenWhisk zip): on MicroFunctions a worker resolves them from the project's node_modules, elsewhere they must
 * travel with the code. Found by scanning the code's imports, plus what the function's manifest declares in
 * `packages` (loaded by name at run time, which no scan can see), each with its dependencies.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { MfError } from '../platform/errors.js';
import { repoRoot } from '../workloads/paths.js';

/** The project's node_modules, where packaged functions take their packages from. */
export function projectNodeModules(): string {
  return join(repoRoot(), 'node_modules');
}

const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;

/** Specifiers a JS file imports (static, dynamic and require with a literal). */
export function importsOf(source: string): string[] {
  return [...source.matchAll(IMPORT_RE)].map((m) => m[1] ?? '').filter((s) => s !== '');
}

/** The package name of a bare specifier (`@scope/pkg/sub` -> `@scope/pkg`), or null for relative, node: and builtins. */
export function packageOf(spec: string): string | null {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || spec.startsWith('file:') || spec.startsWith('data:')) return null;
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? '');
  return builtinModules.includes(name) ? null : name;
}

/** Every file below `dir` (following file symlinks), skipping entries named by `skip`. */
export function walk(dir: string, skip: (name: string) => boolean = () => false): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skip(entry.name)) continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(p, skip));
    else if (entry.isFile() || entry.isSymbolicLink()) {
      if (statSync(p).isFile()) out.push(p);
    }
  }
  return out;
}

/** The packages a code folder imports (its own node_modules left out), plus `declared`. */
export function codePackages(dir: string, declared: readonly string[] = []): Set<string> {
  const packages = new Set(declared);
  for (const f of walk(dir, (n) => n === 'node_modules' || n === '.git')) {
    if (!/\.(mjs|cjs|js)$/.test(f)) continue;
    for (const s of importsOf(readFileSync(f, 'utf8'))) {
      const pkg = packageOf(s);
      if (pkg !== null) packages.add(pkg);
    }
  }
  return packages;
}

/** Packages and their dependencies (dependencies + optionalDependencies present on disk), from `nodeModules`. */
export function packageClosure(roots: Iterable<string>, nodeModules: string): string[] {
  const found = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const name = queue.pop() as string;
    if (found.has(name)) continue;
    const dir = join(nodeModules, name);
    if (!existsSync(join(dir, 'package.json'))) {
      throw new MfError('MF_MANIFEST_INVALID', `function code imports the package "${name}", which is not installed in ${nodeModules}`, { package: name });
    }
    found.add(name);
    const pj = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const dep of Object.keys({ ...pj.dependencies, ...pj.optionalDependencies })) {
      if (existsSync(join(nodeModules, dep, 'package.json'))) queue.push(dep);
      else if (!(pj.optionalDependencies && dep in pj.optionalDependencies)) {
        throw new MfError('MF_MANIFEST_INVALID', `package "${name}" depends on "${dep}", which is not installed in ${nodeModules}`, { package: dep });
      }
    }
  }
  return [...found].sort();
}
