/**
 * Reading a JSON request body with a size limit, shared by the platform's HTTP API and the storage service. A body
 * over the limit is discarded unread and rejected as MF_PAYLOAD_TOO_LARGE, so one large request costs no memory.
 */
import type { IncomingMessage } from 'node:http';
import { MfError } from './errors.js';

/** Reads a JSON body up to `limit` bytes. An empty body is `{}` (as Step Functions treats a missing input). */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume(); // discard without buffering, so the client reads our answer instead of a reset
    return Promise.reject(tooLarge(declared, limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge(size, limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (err) => {
      if (!failed) reject(new MfError('MF_BAD_REQUEST', `the request body could not be read: ${err.message}`));
      failed = true;
    });
    req.on('end', () => {
      if (failed) return;
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(new MfError('MF_BAD_REQUEST', `the request body is not valid JSON: ${(err as Error).message}`));
      }
    });
  });
}

function tooLarge(size: number, limit: number): MfError {
  return new MfError('MF_PAYLOAD_TOO_LARGE', `the request body is larger than the limit of ${limit} bytes`, { limit, size });
}
