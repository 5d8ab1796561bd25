/**
 * The Lambda-compatible function runtime: an in-process library (no IPC) that loads a function's module and
 * invokes its handler. The worker process (platform/sandbox/worker/main.ts) wraps it; docs/functions.md describes
 * what a function sees.
 */
export { loadFunction, parseHandler, HANDLER_EXTENSIONS, RESERVED_ENV_NAMES, DEFAULT_REGION, EXECUTION_ENV } from './load.js';
export type { LoadedFunction, Handler } from './load.js';
export { invokeHandler, failAllInFlight, inFlightCount, abortInvocation } from './invoke.js';
export type { HandlerOutcome, HandlerResult, InvocationInfo, InvokeOptions, LambdaContext } from './invoke.js';
export { toLambdaError, resultSerializationError, unhandledRejectionError, RUNTIME_ERROR_TYPES } from './lambda-error.js';
export { MAX_LOG_BYTES, MAX_LOG_LINES } from './logs.js';
export type { FunctionLogger } from './logs.js';
