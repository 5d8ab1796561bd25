/**
 * The container image of an app on OpenFaaS, built with dockerode the way the docker backend builds its runtime
 * (platform/sandbox/docker/image.ts): no registry is pulled from. It starts FROM the docker backend's runtime image
 * (FROM scratch + this host's node + the libraries `ldd` lists), built first when missing, and adds under /app:
 *
 * - `dist/`: the function wrapper (wrapper.ts) and exactly the compiled modules it imports (the Lambda runtime and
 *   the ASL engine), found by following the relative imports from the wrapper;
 * - `code/<n>/`: each distinct function code folder of the app;
 * - `node_modules/`: the packages function code imports, with their dependencies, copied from the project;
 * - `app.json`: the app descriptor (functions, their OpenFaaS names, the workflows) and a package.json marking ESM.
 *
 * One image per app: every function of the app is deployed from it (MFBENCH_FUNCTION selects the handler), so an
 * app is built and pushed once. The tag is `[<registry>/]mfbench-fn-<app>:<hash of the content>`, so an unchanged
 * app is not rebuilt.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MfError } from '../../errors.js';
import type { Docker } from '../../sandbox/docker/engine.js';
import { errorText, statusOf } from '../../sandbox/docker/engine.js';
import { buildRuntimeImage, NODE_IN_IMAGE, sha256File } from '../../sandbox/docker/image.js';
import { tarStream, type TarEntry } from '../../sandbox/docker/tar.js';
import type { AppDescriptor } from './protocol.js';

/** dist/ of this build (the wrapper and the modules it needs are copied from here). */
const DIST_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WRAPPER = fileURLToPath(new URL('./wrapper.js', import.meta.url));
const PROJECT_NODE_MODULES = resolve(DIST_ROOT, '..', 'node_modules');
export const WRAPPER_IN_IMAGE = `/app/dist/${relative(DIST_ROOT, WRAPPER).split(sep).join('/')}`;

interface FileEntry {
  imagePath: string; // relative to the build context's app/
  hostPath: string;
  mode: number;
  size: number;
}

export interface AppImagePlan {
  /** Full reference the image is tagged with (and pushed as, when a registry is named). */
  tag: string;
  hash: string;
  dockerfile: string;
  files: FileEntry[];
  descriptor: AppDescriptor;
  baseImage: string;
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

/** The compiled wrapper and every dist module it reaches through relative imports; plus the packages they import. */
function distClosure(): { files: string[]; packages: Set<string> } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [WRAPPER];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const pkg = packageOf(spec);
      if (pkg !== null) packages.add(pkg);
      else if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (existsSync(target)) queue.push(target);
      }
    }
  }
  return { files: [...seen].sort(), packages };
}

function walk(dir: string, skip: (name: string) => boolean = () => false): string[] {
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

/** A package and its dependencies (dependencies + optionalDependencies present on disk), from the project's node_modules. */
function packageClosure(roots: Iterable<string>, nodeModules: string): string[] {
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

function fileEntry(hostPath: string, imagePath: string): FileEntry {
  const st = statSync(hostPath);
  return { hostPath, imagePath, mode: st.mode & 0o777, size: st.size };
}

function dockerfileFor(baseImage: string): string {
  return [
    '# mfbench OpenFaaS function image: generated by the openfaas adapter (platform/adapters/openfaas/image.ts)',
    `FROM ${baseImage}`,
    'COPY app/ /app/',
    'ENV PATH=/usr/local/bin NODE_ENV=production HOME=/tmp',
    'WORKDIR /app',
    'EXPOSE 8080',
    'USER 65534:65534',
    'LABEL mfbench.testbed=1 mfbench.image=openfaas-function',
    `CMD ["${NODE_IN_IMAGE}", "${WRAPPER_IN_IMAGE}"]`,
    '',
  ].join('\n');
}

/** A repository name Docker accepts: lower case, [a-z0-9._-]. */
function repoName(app: string): string {
  return `mfbench-fn-${app.toLowerCase().replace(/[^a-z0-9._-]+/g, '-')}`;
}

/**
 * Works out the image of an app: which files go where, the descriptor, and the content-hash tag. `functions` maps
 * each function to its code folder on this host; `registry` prefixes the tag (e.g. `registry.local:5000/team`).
 */
export async function planAppImage(input: {
  descriptor: Omit<AppDescriptor, 'functions'> & { functions: Array<Omit<AppDescriptor['functions'][number], 'codeDir'> & { hostDir: string }> };
  baseImage: string;
  registry: string | null;
  nodeModules?: string;
}): Promise<AppImagePlan> {
  const nodeModules = input.nodeModules ?? PROJECT_NODE_MODULES;
  const files: FileEntry[] = [];
  const { files: dist, packages } = distClosure();
  for (const f of dist) files.push(fileEntry(f, `dist/${relative(DIST_ROOT, f).split(sep).join('/')}`));

  const dirs = [...new Set(input.descriptor.functions.map((f) => resolve(f.hostDir)))];
  const codeDirOf = new Map(dirs.map((d, i) => [d, `code/${i}`]));
  for (const [hostDir, inImage] of codeDirOf) {
    if (!existsSync(hostDir) || !statSync(hostDir).isDirectory()) {
      throw new MfError('MF_MANIFEST_INVALID', `function code folder ${hostDir} does not exist`, { path: hostDir });
    }
    for (const f of walk(hostDir, (n) => n === 'node_modules' || n === '.git')) {
      files.push(fileEntry(f, `${inImage}/${relative(hostDir, f).split(sep).join('/')}`));
      if (/\.(mjs|cjs|js)$/.test(f)) for (const s of importsOf(readFileSync(f, 'utf8'))) {
        const pkg = packageOf(s);
        if (pkg !== null) packages.add(pkg);
      }
    }
  }
  for (const pkg of packageClosure(packages, nodeModules)) {
    const dir = join(nodeModules, pkg);
    for (const f of walk(dir, (n) => n === '.git')) files.push(fileEntry(f, `node_modules/${pkg}/${relative(dir, f).split(sep).join('/')}`));
  }
  files.sort((a, b) => a.imagePath.localeCompare(b.imagePath));

  const descriptor: AppDescriptor = {
    app: input.descriptor.app,
    functions: input.descriptor.functions.map(({ hostDir, ...f }) => ({ ...f, codeDir: codeDirOf.get(resolve(hostDir)) as string })),
    workflows: input.descriptor.workflows,
  };
  const dockerfile = dockerfileFor(input.baseImage);
  const hash = createHash('sha256');
  hash.update(dockerfile);
  hash.update(JSON.stringify(descriptor));
  for (const f of files) hash.update(`\n${f.imagePath} ${f.mode.toString(8)} ${await sha256File(f.hostPath)}`);
  const digest = hash.digest('hex');
  const repo = repoName(input.descriptor.app);
  const registry = input.registry?.replace(/\/+$/, '') ?? null;
  return { tag: `${registry ? `${registry}/` : ''}${repo}:${digest.slice(0, 16)}`, hash: digest, dockerfile, files, descriptor, baseImage: input.baseImage };
}

/** The build context: Dockerfile, app/ with every directory on the way, the files, app.json and package.json. */
export function contextEntries(plan: AppImagePlan): TarEntry[] {
  const dirs = new Set<string>(['app']);
  const add = (p: string) => {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(['app', ...parts.slice(0, i)].join('/'));
  };
  for (const f of plan.files) add(f.imagePath);
  const entries: TarEntry[] = [{ type: 'file', name: 'Dockerfile', mode: 0o644, content: Buffer.from(plan.dockerfile) }];
  for (const d of [...dirs].sort()) entries.push({ type: 'dir', name: d, mode: 0o755 });
  entries.push({ type: 'file', name: 'app/app.json', mode: 0o644, content: Buffer.from(JSON.stringify(plan.descriptor, null, 2)) });
  entries.push({ type: 'file', name: 'app/package.json', mode: 0o644, content: Buffer.from('{"type":"module","private":true}\n') });
  for (const f of plan.files) entries.push({ type: 'file', name: `app/${f.imagePath}`, mode: f.mode | 0o444, size: f.size, hostPath: f.hostPath });
  return entries;
}

export async function imageExists(docker: Docker, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}

/** The base image: the docker backend's runtime image for this host's node, built when missing. */
export async function baseImage(docker: Docker): Promise<string> {
  return (await buildRuntimeImage({ docker })).tag;
}

/** Builds the plan's image unless its tag exists. Returns whether it built (i.e. created) the tag. */
export async function buildAppImage(docker: Docker, plan: AppImagePlan, labels: Record<string, string>): Promise<boolean> {
  if (await imageExists(docker, plan.tag)) return false;
  const stream = await docker.buildImage(tarStream(contextEntries(plan)), { t: plan.tag, rm: true, forcerm: true, labels: { ...labels, 'mfbench.hash': plan.hash } });
  const output = await new Promise<unknown[]>((res, rej) => docker.modem.followProgress(stream, (err: Error | null, r: unknown[]) => (err ? rej(err) : res(r))));
  const failed = output.find((o): o is { error: string } => typeof (o as { error?: unknown }).error === 'string');
  if (failed) throw new MfError('MF_IMAGE_MISSING', `building the OpenFaaS image ${plan.tag} failed: ${failed.error}`, { image: plan.tag });
  if (!(await imageExists(docker, plan.tag))) throw new MfError('MF_IMAGE_MISSING', `the engine reported no error, but ${plan.tag} does not exist after the build`, { image: plan.tag });
  return true;
}

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress?: string;
}

/** Pushes a tag to its registry; a failure is MF_CONFIG_INVALID naming the registry and what to check. */
export async function pushImage(docker: Docker, tag: string, registry: string, auth: RegistryAuth | null): Promise<void> {
  const hint = `check --registry (${registry}): it must be host[:port][/path] of a registry this host can push to (docker login, or OPENFAAS_REGISTRY_USER / OPENFAAS_REGISTRY_PASSWORD), and the cluster must be able to pull from it`;
  const fail = (why: string, cause?: unknown) =>
    new MfError('MF_CONFIG_INVALID', `pushing ${tag} to the registry ${registry} failed: ${why}; ${hint}`, { option: 'registry', registry, image: tag, hint }, { cause });
  let output: unknown[];
  try {
    const stream = await docker.getImage(tag).push(auth ? { authconfig: auth } : {});
    output = await new Promise<unknown[]>((res, rej) => docker.modem.followProgress(stream, (err: Error | null, r: unknown[]) => (err ? rej(err) : res(r))));
  } catch (err) {
    throw fail(errorText(err), err);
  }
  const failed = output.find((o): o is { error: string } => typeof (o as { error?: unknown }).error === 'string');
  if (failed) throw fail(failed.error);
}

/**
 * Removes an image tag this adapter created. An image still used by a container is retried briefly; if it is still in
 * use then, another owner's containers hold it (two runs that built the same content share the tag), and it is left
 * for them: `in-use`, not a failure.
 */
export async function removeImage(docker: Docker, tag: string): Promise<'removed' | 'in-use' | 'failed'> {
  for (let i = 0; i < 20; i++) {
    try {
      await docker.getImage(tag).remove({ noprune: false });
      return 'removed';
    } catch (err) {
      const s = statusOf(err);
      if (s === 404) return 'removed';
      if (s !== 409) return 'failed';
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return 'in-use';
}
