// payload: echoes the payload it was given, with its length and a SHA-256 of it, so the caller can check that every
// byte travelled both ways.
import { createHash } from 'node:crypto';

export const handler = async (event) => {
  if (typeof event?.payload !== 'string') {
    throw Object.assign(new Error(`payload: "payload" must be a string, got ${event?.payload === undefined ? 'nothing' : typeof event.payload}`), { name: 'InvalidInput' });
  }
  return { payload: event.payload, bytes: Buffer.byteLength(event.payload), sha256: createHash('sha256').update(event.payload).digest('hex') };
};
