/**
 * The app manifest: what `POST /apps` takes and what a workload folder describes. An app is a set of functions
 * (Lambda-style handlers) and named workflows (ASL definitions) deployed together, SAND's "application".
 */

/** Function code travels inline (file path -> base64 content) or, for a platform on the same host, as a folder. */
export type FunctionCode = { files: Record<string, string> } | { dir: string };

export interface FunctionManifest {
  /** Unique in the app; letters, digits, '-', '_' (at most 64). Task states name it in their Resource. */
  name: string;
  /** Lambda-style: "<file without extension>.<export>", e.g. "index.handler" (file index.mjs, index.js or index.cjs). */
  handler: string;
  code: FunctionCode;
  /** Memory limit in MB; the worker is killed when its resident memory goes over it. */
  memoryMB?: number;
  /** Handler timeout in seconds; the worker is killed when an invocation runs longer. */
  timeoutSeconds?: number;
  /** Extra environment variables for the function's worker. */
  env?: Record<string, string>;
  /**
   * npm packages the code loads by name at run time, which a scan of its imports cannot find (a model bundle found
   * with require.resolve). MicroFunctions resolves them from the project's node_modules; the OpenWhisk and OpenFaaS
   * adapters package them with the code, as they do the packages it imports.
   */
  packages?: string[];
}

export interface AppManifest {
  /** Unique on the platform; letters, digits, '-', '_' (at most 64). */
  name: string;
  functions: FunctionManifest[];
  /** Workflow name -> ASL state machine definition. */
  workflows: Record<string, unknown>;
}

/** A function as the sandbox sees it after deploy: code on local disk, limits resolved. */
export interface FunctionSpec {
  app: string;
  name: string;
  handler: string;
  /** Absolute folder holding the handler file, as seen from inside the sandbox. */
  codeDir: string;
  memoryMB: number;
  timeoutMs: number;
  env: Record<string, string>;
}

export const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
