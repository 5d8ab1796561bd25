/**
 * Turning whatever a function threw or reported into Lambda's error shape ({errorType, errorMessage, trace}),
 * following the Node.js Lambda runtime (aws-lambda-nodejs-runtime-interface-client, `Errors.toRapidResponse`).
 */
import type { LambdaError } from '../protocol.js';

/** Error types the runtime itself reports, named as the Lambda Node.js runtime names them where it has a name. */
export const RUNTIME_ERROR_TYPES = {
  /** The module file named by the handler does not exist, or a module it imports does not. */
  importModule: 'Runtime.ImportModuleError',
  /** The module has no such export, or it is not a function. */
  handlerNotFound: 'Runtime.HandlerNotFound',
  /** The handler string is not "<path/module>.<export>", or it climbs out of the code folder. */
  malformedHandlerName: 'Runtime.MalformedHandlerName',
  /** The module (or one it imports) does not parse. */
  userCodeSyntax: 'Runtime.UserCodeSyntaxError',
  /** A promise rejection nobody handled, while invocations were in flight. */
  unhandledPromiseRejection: 'Runtime.UnhandledPromiseRejection',
  /** Our name: the handler's result cannot be turned into JSON (BigInt, circular structure). */
  resultSerialization: 'Runtime.ResultSerializationError',
  /** Our name: an invocation arrived at a worker that has no function loaded. */
  functionNotLoaded: 'Runtime.FunctionNotLoaded',
} as const;

function isErrorLike(v: unknown): v is { name: string; message: string; stack?: unknown } {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.name === 'string' && typeof o.message === 'string';
}

/**
 * Lambda's shape for anything thrown or passed to callback(err)/context.fail(err):
 * an Error (or error-like object) gives its name, message and stack lines; any other value gives
 * `typeof value` as the type and its string form as the message (Lambda: `callback('boom')` -> errorType "string").
 */
export function toLambdaError(err: unknown): LambdaError {
  try {
    if (err instanceof Error || isErrorLike(err)) {
      const e = err as { name?: unknown; message?: unknown; stack?: unknown; constructor?: { name?: unknown } };
      let errorType = typeof e.name === 'string' && e.name !== '' ? e.name : '';
      if (errorType === '') {
        const ctor = e.constructor?.name;
        errorType = typeof ctor === 'string' && ctor !== '' ? ctor : 'Error';
      }
      const errorMessage = typeof e.message === 'string' ? e.message : String(e.message);
      const trace = typeof e.stack === 'string' ? e.stack.split('\n') : [];
      return { errorType, errorMessage, trace };
    }
    return { errorType: typeof err, errorMessage: stringOf(err), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
      trace: [],
    };
  }
}

function stringOf(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'object') {
    // Lambda would give "[object Object]"; the JSON text is more useful and costs nothing on the success path.
    try {
      const s = JSON.stringify(v);
      if (typeof s === 'string') return s;
    } catch {
      // fall through
    }
  }
  return String(v);
}

/** The failure reported when a handler's result cannot be serialised to JSON. */
export function resultSerializationError(cause: unknown): LambdaError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return {
    errorType: RUNTIME_ERROR_TYPES.resultSerialization,
    errorMessage: `Unable to stringify response body: ${detail}`,
    trace: [],
  };
}

/** Lambda's shape for an unhandled promise rejection: the message is the reason's string form ("Error: boom"). */
export function unhandledRejectionError(reason: unknown): LambdaError {
  const inner = toLambdaError(reason);
  const errorMessage = reason instanceof Error || isErrorLike(reason) ? `${inner.errorType}: ${inner.errorMessage}` : inner.errorMessage;
  return {
    errorType: RUNTIME_ERROR_TYPES.unhandledPromiseRejection,
    errorMessage,
    trace: [`${RUNTIME_ERROR_TYPES.unhandledPromiseRejection}: ${errorMessage}`, ...inner.trace.slice(1)],
  };
}
