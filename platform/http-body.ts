/**
 * Reading a JSON request body under limits, shared by the platform's HTTP API and the storage service. A body over
 * the size limit is discarded unread (MF_PAYLOAD_TOO_LARGE), so one large request costs no memory; a body nested
 * deeper than the depth limit is refused before it is parsed (MF_BAD_REQUEST), so nothing downstream recurses into
 * it; a body that has not fully arrived in time is refused (MF_REQUEST_TIMEOUT), so a slow sender holds nothing.
 */
import type { IncomingMessage } from 'node:http';
import { MfError } from './errors.js';

export interface BodyLimits {
  /** Largest body, in bytes. */
  maxBytes: number;
  /** Deepest nesting of arrays and objects. */
  maxDepth: number;
  /** The whole body must arrive within this many milliseconds of the request's start. */
  timeoutMs: number;
}

/** A JSON body: its value, and the text it was parsed from (sent on as it is rather than serialised again). */
export interface JsonBody {
  value: unknown;
  json: string;
}

/** Reads a JSON body within `limits`. An empty body is `{}` (as Step Functions treats a missing input). */
export function readJsonBody(req: IncomingMessage, limits: BodyLimits): Promise<unknown> {
  return readJsonPayload(req, limits).then((body) => body.value);
}

/** Reads a JSON body within `limits`, with its text. */
export function readJsonPayload(req: IncomingMessage, limits: BodyLimits): Promise<JsonBody> {
  const { maxBytes } = limits;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume(); // discard without buffering, so the client reads our answer instead of a reset
    return Promise.reject(tooLarge(declared, maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (error: MfError) => {
      if (failed) return;
      failed = true;
      chunks.length = 0;
      clearTimeout(timer);
      reject(error);
    };
    const timer = setTimeout(() => {
      req.resume();
      fail(new MfError('MF_REQUEST_TIMEOUT', `the request body did not arrive within ${limits.timeoutMs / 1000} s`, { timeoutSeconds: limits.timeoutMs / 1000, received: size }));
    }, limits.timeoutMs);
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxBytes) return fail(tooLarge(size, maxBytes));
      chunks.push(chunk);
    });
    req.on('error', (err) => fail(new MfError('MF_BAD_REQUEST', `the request body could not be read: ${err.message}`)));
    req.on('end', () => {
      if (failed) return;
      clearTimeout(timer);
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      try {
        resolve(parseJsonBody(body, limits.maxDepth));
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** Parses JSON text, refusing text nested deeper than `maxDepth` before parsing it. */
export function parseJson(body: Buffer, maxDepth: number): unknown {
  return parseJsonBody(body, maxDepth).value;
}

/** Parses JSON text as parseJson does, and keeps the text (an empty body is `{}`, its text too). */
export function parseJsonBody(body: Buffer, maxDepth: number): JsonBody {
  const depth = jsonDepth(body, maxDepth);
  if (depth > maxDepth) throw new MfError('MF_BAD_REQUEST', `the request body is nested deeper than the limit of ${maxDepth} levels`, { maxDepth });
  const text = body.toString('utf8');
  if (text.trim() === '') return { value: {}, json: '{}' };
  try {
    return { value: JSON.parse(text), json: text };
  } catch (err) {
    throw new MfError('MF_BAD_REQUEST', `the request body is not valid JSON: ${(err as Error).message}`);
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;

/**
 * The nesting depth of JSON text, counted over its bytes outside strings, stopping as soon as it passes `stopAbove`.
 * UTF-8 continuation bytes are never ASCII, so a byte scan cannot mistake them for brackets or quotes.
 */
function jsonDepth(body: Buffer, stopAbove: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN_BRACKET || b === OPEN_BRACE) {
      if (++depth > stopAbove) return depth;
    } else if (b === CLOSE_BRACKET || b === CLOSE_BRACE) depth--;
  }
  return depth;
}

function tooLarge(size: number, limit: number): MfError {
  return new MfError('MF_PAYLOAD_TOO_LARGE', `the request body is larger than the limit of ${limit} bytes`, { limit, size });
}

/** The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive (RFC 9110, 11.1). */
export function bearerToken(req: IncomingMessage): string | null {
  const match = /^bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
  return match ? match[1]! : null;
}
