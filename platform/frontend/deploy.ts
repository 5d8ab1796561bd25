/**
 * Turns an app manifest into what a sandbox runs: checks every field, writes inline code to disk, checks that each
 * handler file exists, and compiles every workflow. All or nothing: on any problem the written code is removed and
 * a typed error names what was wrong.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { compileStateMachine } from '../asl/index.js';
import type { ResolvedConfig } from '../config.js';
import { MfError } from '../errors.js';
import { NAME_PATTERN, type AppManifest, type FunctionManifest, type FunctionSpec } from '../manifest.js';
import type { AppUser } from '../sandbox/backend.js';
import { makeReadOnlyFor } from './app-users.js';

export interface PreparedApp {
  name: string;
  functions: FunctionSpec[];
  workflows: Record<string, unknown>;
  /** Folder holding inline code, removed when the app is deleted; null when all code came as {dir}. */
  codeRoot: string | null;
  /** The app's own OS user on a root platform: its sandboxes run as it and its inline code belongs to it. */
  user?: AppUser | undefined;
}

/** An npm package name: lower case, optionally scoped (docs.npmjs.com, package.json "name"). */
const NPM_NAME = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/;

const HANDLER_EXTENSIONS = ['.mjs', '.js', '.cjs'];
const MAX_MEMORY_MB = 10_240;
const MAX_TIMEOUT_SECONDS = 900;

export async function prepareApp(body: unknown, config: ResolvedConfig, appsDir: string, userOf: (app: string) => AppUser | undefined = () => undefined): Promise<PreparedApp> {
  const manifest = checkManifest(body, config);
  const codeRoot = join(appsDir, manifest.name);
  const wroteCode = manifest.functions.some((f) => 'files' in f.code);
  try {
    const functions: FunctionSpec[] = [];
    for (const f of manifest.functions) {
      const codeDir = 'files' in f.code ? await writeFiles(join(codeRoot, f.name), f) : resolve(f.code.dir);
      checkHandlerFile(f, codeDir);
      functions.push({
        app: manifest.name,
        name: f.name,
        handler: f.handler,
        codeDir,
        memoryMB: f.memoryMB ?? config.defaultMemoryMB,
        timeoutMs: Math.round((f.timeoutSeconds ?? config.defaultTimeoutSeconds) * 1000),
        env: f.env ?? {},
      });
    }
    const functionNames = new Set(functions.map((f) => f.name));
    for (const [name, definition] of Object.entries(manifest.workflows)) {
      compileStateMachine(definition, { name, functionNames });
    }
    const user = userOf(manifest.name);
    if (user && wroteCode) await makeReadOnlyFor(codeRoot, user);
    return { name: manifest.name, functions, workflows: manifest.workflows, codeRoot: wroteCode ? codeRoot : null, user };
  } catch (err) {
    if (wroteCode) await rm(codeRoot, { recursive: true, force: true });
    throw err;
  }
}

/** Shape checks of the manifest, with no side effects. */
function checkManifest(body: unknown, config: ResolvedConfig): AppManifest {
  const bad = (message: string, details: Record<string, unknown> = {}): never => {
    throw new MfError('MF_MANIFEST_INVALID', message, details);
  };
  if (!isObject(body)) return bad('the app manifest must be a JSON object');
  const { name, functions, workflows } = body;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) return bad('"name" must be 1-64 letters, digits, "-" or "_"', { name });
  if (!Array.isArray(functions)) return bad('"functions" must be an array (it may be empty)');
  if (workflows !== undefined && !isObject(workflows)) return bad('"workflows" must be an object of name -> ASL definition');
  const seen = new Set<string>();
  functions.forEach((f: unknown, i) => {
    const where = `functions[${i}]`;
    if (!isObject(f)) return bad(`${where} must be an object`);
    if (typeof f.name !== 'string' || !NAME_PATTERN.test(f.name)) return bad(`${where}.name must be 1-64 letters, digits, "-" or "_"`, { function: f.name });
    if (seen.has(f.name)) return bad(`function "${f.name}" is listed twice`, { function: f.name });
    seen.add(f.name);
    if (typeof f.handler !== 'string' || !/^[\w./-]+\.[\w$.]+$/.test(f.handler)) {
      return bad(`function "${f.name}": handler must look like "index.handler"`, { function: f.name, handler: f.handler });
    }
    if (!staysInside(f.handler.slice(0, f.handler.lastIndexOf('/') + 1))) {
      return bad(`function "${f.name}": handler "${f.handler}" must name a file inside the function's code (no "..", no leading "/")`, { function: f.name, handler: f.handler });
    }
    if (f.memoryMB !== undefined && !(Number.isInteger(f.memoryMB) && (f.memoryMB as number) >= 64 && (f.memoryMB as number) <= MAX_MEMORY_MB)) {
      return bad(`function "${f.name}": memoryMB must be an integer from 64 to ${MAX_MEMORY_MB}`, { function: f.name });
    }
    if (f.timeoutSeconds !== undefined && !(typeof f.timeoutSeconds === 'number' && f.timeoutSeconds > 0 && f.timeoutSeconds <= MAX_TIMEOUT_SECONDS)) {
      return bad(`function "${f.name}": timeoutSeconds must be a number in (0, ${MAX_TIMEOUT_SECONDS}]`, { function: f.name });
    }
    if (f.env !== undefined && !(isObject(f.env) && Object.values(f.env).every((v) => typeof v === 'string'))) {
      return bad(`function "${f.name}": env must map names to strings`, { function: f.name });
    }
    if (f.packages !== undefined && !(Array.isArray(f.packages) && f.packages.every((p) => typeof p === 'string' && NPM_NAME.test(p)))) {
      return bad(`function "${f.name}": packages must list npm package names (e.g. "sharp", "@scope/name")`, { function: f.name });
    }
    const code = f.code;
    if (!isObject(code)) return bad(`function "${f.name}": code must be {"files": {...}} or {"dir": "..."}`, { function: f.name });
    if ('files' in code) {
      if (!isObject(code.files) || !Object.values(code.files).every((v) => typeof v === 'string')) {
        return bad(`function "${f.name}": code.files must map relative paths to base64 strings`, { function: f.name });
      }
      for (const path of Object.keys(code.files)) {
        if (!staysInside(path) || !namesFile(path)) {
          return bad(`function "${f.name}": code file path "${path}" must name a file, relative and inside the function folder`, { function: f.name, path });
        }
      }
    } else if ('dir' in code) {
      if (!config.allowLocalCode) {
        throw new MfError('MF_LOCAL_CODE_REFUSED', `function "${f.name}": code.dir is refused by this platform (allowLocalCode is off); send code.files`, { function: f.name });
      }
      if (typeof code.dir !== 'string' || !isAbsolute(code.dir)) return bad(`function "${f.name}": code.dir must be an absolute path`, { function: f.name });
      if (!existsSync(code.dir) || !statSync(code.dir).isDirectory()) return bad(`function "${f.name}": code.dir ${code.dir} is not a folder`, { function: f.name, dir: code.dir });
    } else {
      return bad(`function "${f.name}": code must be {"files": {...}} or {"dir": "..."}`, { function: f.name });
    }
  });
  return { name, functions: functions as FunctionManifest[], workflows: (workflows ?? {}) as Record<string, unknown> };
}

/** A relative path that never climbs out of its folder. */
function staysInside(path: string): boolean {
  return !isAbsolute(path) && !normalize(path).split(sep).includes('..');
}

/** A path that names a file, not the folder itself ("", ".", "a/..") or a folder ("a/"). */
function namesFile(path: string): boolean {
  const normal = normalize(path);
  return path !== '' && normal !== '.' && normal !== './' && !normal.endsWith(sep);
}

async function writeFiles(dir: string, f: FunctionManifest): Promise<string> {
  const files = (f.code as { files: Record<string, string> }).files;
  for (const [path, base64] of Object.entries(files)) {
    const target = join(dir, path);
    try {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, Buffer.from(base64, 'base64'));
    } catch (err) {
      // Two paths that clash ("a" and "a/b"): the caller's mistake, told without this host's paths.
      const reason = (err as NodeJS.ErrnoException).code ?? 'write failed';
      throw new MfError('MF_MANIFEST_INVALID', `function "${f.name}": code file "${path}" cannot be written (${reason}); do two paths clash?`, { function: f.name, path });
    }
  }
  await mkdir(dir, { recursive: true });
  return dir;
}

/** "index.handler" -> index.mjs / index.js / index.cjs; "lib/app.main" -> lib/app.*. */
function checkHandlerFile(f: FunctionManifest, codeDir: string): void {
  const slash = f.handler.lastIndexOf('/');
  const dot = f.handler.indexOf('.', slash + 1);
  const modulePath = f.handler.slice(0, dot);
  const candidates = HANDLER_EXTENSIONS.map((ext) => join(codeDir, modulePath + ext));
  if (!candidates.some((c) => existsSync(c))) {
    throw new MfError('MF_HANDLER_NOT_FOUND', `function "${f.name}": handler "${f.handler}" needs one of ${candidates.map((c) => c.slice(codeDir.length + 1)).join(', ')} in its code, and none is there`, {
      function: f.name,
      handler: f.handler,
      // Only a folder the caller named is told back; where inline code was written stays this host's business.
      ...('dir' in f.code ? { codeDir } : {}),
    });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
