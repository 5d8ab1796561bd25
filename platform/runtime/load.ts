/**
 * Loading a function: resolve the Lambda-style handler string to a file and an export, set the Lambda
 * environment variables, import the module (ESM or CommonJS) and time its initialisation.
 */
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { constants as vmConstants, runInThisContext } from 'node:vm';
import { now } from '../clock.js';
import { MfError } from '../errors.js';
import type { FunctionSpec } from '../manifest.js';
import { RUNTIME_ERROR_TYPES, toLambdaError } from './lambda-error.js';
import { installConsoleCapture } from './logs.js';

/** File extensions tried for the handler's module, in this order. */
export const HANDLER_EXTENSIONS = ['.mjs', '.js', '.cjs'] as const;

/** The runtime string Lambda puts in AWS_EXECUTION_ENV for Node.js 20. */
export const EXECUTION_ENV = 'AWS_Lambda_nodejs20.x';

/** The account id in the ARNs we make up: there is no AWS account behind the platform. */
export const ACCOUNT_ID = '000000000000';

/**
 * Variables the runtime sets for every function. A function's own `env` cannot override them, except
 * AWS_REGION / AWS_DEFAULT_REGION (and TZ), which it may set (there is no real region to report).
 */
export const RESERVED_ENV_NAMES = [
  '_HANDLER',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
  'MF_APP_NAME',
] as const;

export const DEFAULT_REGION = 'us-east-1';

/** The function version every function reports: the platform has no versions or aliases. */
export const FUNCTION_VERSION = '$LATEST';

/** A handler as Lambda calls it. */
export type Handler = (event: unknown, context: unknown, callback: (err?: unknown, value?: unknown) => void) => unknown;

/** A function whose module is imported and whose handler is resolved; ready to invoke. */
export interface LoadedFunction {
  readonly spec: FunctionSpec;
  /** Milliseconds spent importing the module, including its top-level code (and top-level await). */
  readonly initMs: number;
  /** Absolute path of the module file the handler lives in. */
  readonly file: string;
  /** The handler function. */
  readonly handler: Handler;
  /** The object holding the handler (`this` when it is called): the module or the nested export object. */
  readonly holder: unknown;
  /** `handler.length`, read once: 3 or more means callback style. */
  readonly arity: number;
  /** Context fields that are the same for every invocation. */
  readonly constants: {
    readonly functionName: string;
    readonly functionVersion: string;
    readonly invokedFunctionArn: string;
    readonly memoryLimitInMB: string;
    readonly logGroupName: string;
    readonly logStreamName: string;
  };
}

interface ParsedHandler {
  /** Module path relative to codeDir, without extension ("index", "dir/sub"). */
  modulePath: string;
  /** Export path inside the module ("handler", "a.b"). */
  exportPath: string[];
}

function handlerNotFound(spec: FunctionSpec, message: string, details: Record<string, unknown>): MfError {
  return new MfError('MF_HANDLER_NOT_FOUND', `function "${spec.name}": ${message}`, {
    function: spec.name,
    handler: spec.handler,
    codeDir: spec.codeDir,
    ...details,
  });
}

/** Splits "dir/sub.a.b" into module "dir/sub" and export path ["a", "b"], as the Lambda Node.js runtime does. */
export function parseHandler(spec: FunctionSpec): ParsedHandler {
  const full = spec.handler;
  const slash = full.lastIndexOf('/');
  const moduleRoot = full.slice(0, slash + 1);
  const base = full.slice(slash + 1);
  const dot = base.indexOf('.');
  const malformed = (why: string) =>
    handlerNotFound(spec, `handler "${full}" is malformed: ${why}`, { errorType: RUNTIME_ERROR_TYPES.malformedHandlerName });
  const exportPath = base.slice(dot + 1).split('.');
  if (dot <= 0 || exportPath.some((p) => p === '')) {
    throw malformed('expected "<file>.<export>", e.g. "index.handler"');
  }
  if (isAbsolute(full) || full.split('/').includes('..')) {
    throw malformed('the module path must stay inside the function\'s code folder (no absolute path, no "..")');
  }
  return { modulePath: moduleRoot + base.slice(0, dot), exportPath };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Finds the module file: <codeDir>/<modulePath>.(mjs|js|cjs), first that exists. */
async function findModuleFile(spec: FunctionSpec, modulePath: string): Promise<string> {
  const root = resolve(spec.codeDir);
  const base = resolve(root, modulePath);
  const rel = relative(root, base);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw handlerNotFound(spec, `handler "${spec.handler}" points outside the code folder`, {
      errorType: RUNTIME_ERROR_TYPES.malformedHandlerName,
    });
  }
  const tried: string[] = [];
  for (const ext of HANDLER_EXTENSIONS) {
    const file = base + ext;
    tried.push(file);
    if (await isFile(file)) return file;
  }
  throw handlerNotFound(
    spec,
    `handler "${spec.handler}": no module file ${HANDLER_EXTENSIONS.map((e) => `${modulePath}${e}`).join(', ')} in ${root}`,
    { errorType: RUNTIME_ERROR_TYPES.importModule, tried },
  );
}

function lookup(obj: unknown, key: string): unknown {
  if ((typeof obj !== 'object' && typeof obj !== 'function') || obj === null) return undefined;
  return (obj as Record<string, unknown>)[key];
}

/**
 * Resolves the export path in the module namespace. A CommonJS module's `module.exports` is the namespace's
 * `default`; Node only lifts the exports it can detect statically, so the path is looked up there too.
 */
function resolveExport(ns: unknown, path: string[]): { value: unknown; holder: unknown } {
  const first = path[0] as string;
  let holder: unknown = ns;
  let value = lookup(ns, first);
  if (value === undefined) {
    const def = lookup(ns, 'default');
    const viaDefault = lookup(def, first);
    if (viaDefault !== undefined) {
      holder = def;
      value = viaDefault;
    }
  }
  for (const key of path.slice(1)) {
    holder = value;
    value = lookup(value, key);
  }
  return { value, holder };
}

function logStreamName(): string {
  const d = new Date();
  const ymd = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}`;
  return `${ymd}/[${FUNCTION_VERSION}]${randomBytes(16).toString('hex')}`;
}

/**
 * Node's own dynamic import, with Node's default ESM loader. A plain `import()` here would be rewritten by any
 * tool that transforms this file (vitest/vite turn it into their own module loader, which runs CommonJS and
 * reports syntax errors differently); code compiled by vm from a string is never transformed, so the function's
 * module is always loaded exactly as plain Node (and Lambda) would load it.
 */
const vmImport = runInThisContext('(specifier) => import(specifier)', {
  filename: 'mfbench-runtime-import',
  importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
}) as (specifier: string) => Promise<unknown>;

/** Node 20 flags this vm option as experimental on first use; that one warning is noise in every worker's stderr. */
function nativeImport(specifier: string): Promise<unknown> {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (text.includes('USE_MAIN_CONTEXT_DEFAULT_LOADER')) return;
    (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    return vmImport(specifier);
  } finally {
    process.emitWarning = emitWarning;
  }
}

const runtimeDir = dirname(fileURLToPath(import.meta.url));

/** Sets the Lambda environment variables for the function in process.env (the worker runs only this function). */
function setEnvironment(spec: FunctionSpec, streamName: string): { region: string } {
  const env = process.env;
  for (const [k, v] of Object.entries(spec.env)) env[k] = v;
  const region = spec.env.AWS_REGION ?? spec.env.AWS_DEFAULT_REGION ?? DEFAULT_REGION;
  env.AWS_REGION = region;
  env.AWS_DEFAULT_REGION = spec.env.AWS_DEFAULT_REGION ?? region;
  if (spec.env.TZ === undefined) env.TZ = 'UTC';
  env.AWS_LAMBDA_FUNCTION_NAME = spec.name;
  env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE = String(spec.memoryMB);
  env.AWS_LAMBDA_FUNCTION_VERSION = FUNCTION_VERSION;
  env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
  env.AWS_LAMBDA_LOG_GROUP_NAME = `/aws/lambda/${spec.name}`;
  env.AWS_LAMBDA_LOG_STREAM_NAME = streamName;
  env.AWS_EXECUTION_ENV = EXECUTION_ENV;
  env.LAMBDA_TASK_ROOT = spec.codeDir;
  env.LAMBDA_RUNTIME_DIR = runtimeDir;
  env._HANDLER = spec.handler;
  env.MF_APP_NAME = spec.app;
  return { region };
}

/** Lambda's classification of an error thrown while importing the user's module. */
function initErrorType(err: unknown): string {
  if (err instanceof SyntaxError || (err as { name?: unknown } | null)?.name === 'SyntaxError') return RUNTIME_ERROR_TYPES.userCodeSyntax;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return RUNTIME_ERROR_TYPES.importModule;
  return toLambdaError(err).errorType;
}

/**
 * Loads a function: resolves its handler file, sets the Lambda environment, imports the module (timing its
 * initialisation) and resolves the exported handler.
 * @throws MfError MF_HANDLER_NOT_FOUND (malformed handler string, no module file, no such export or not a
 *   function) or MF_FUNCTION_INIT_FAILED (the module threw, or does not parse, while loading).
 */
export async function loadFunction(spec: FunctionSpec): Promise<LoadedFunction> {
  const parsed = parseHandler(spec);
  const file = await findModuleFile(spec, parsed.modulePath);
  const streamName = logStreamName();
  const { region } = setEnvironment(spec, streamName);
  installConsoleCapture();

  const start = now();
  let ns: unknown;
  try {
    ns = await nativeImport(pathToFileURL(file).href);
  } catch (err) {
    const le = toLambdaError(err);
    const errorType = initErrorType(err);
    throw new MfError(
      'MF_FUNCTION_INIT_FAILED',
      `function "${spec.name}": module ${file} failed while loading: ${errorType}: ${le.errorMessage}`,
      { function: spec.name, file, errorType, errorMessage: le.errorMessage, trace: le.trace },
      { cause: err },
    );
  }
  const initMs = now() - start;

  const exportName = parsed.exportPath.join('.');
  const { value, holder } = resolveExport(ns, parsed.exportPath);
  if (typeof value !== 'function') {
    const what = value === undefined ? 'is undefined or not exported' : `is not a function (it is ${value === null ? 'null' : typeof value})`;
    throw handlerNotFound(spec, `${spec.handler}: export "${exportName}" of ${file} ${what}`, {
      errorType: RUNTIME_ERROR_TYPES.handlerNotFound,
      file,
      export: exportName,
    });
  }
  const handler = value as Handler;
  return {
    spec,
    initMs,
    file,
    handler,
    holder,
    arity: handler.length,
    constants: {
      functionName: spec.name,
      functionVersion: FUNCTION_VERSION,
      invokedFunctionArn: `arn:aws:lambda:${region}:${ACCOUNT_ID}:function:${spec.name}`,
      memoryLimitInMB: String(spec.memoryMB),
      logGroupName: `/aws/lambda/${spec.name}`,
      logStreamName: streamName,
    },
  };
}
