/**
 * Helpers for end-to-end tests: a real platform (from the compiled dist/, as users run it) on port 0, and a tiny
 * HTTP client that speaks docs/api.md directly, so these tests pin the wire format rather than the SDK.
 */
import { startPlatform, type PlatformHandle } from '../../dist/platform/frontend/index.js';
import type { UserConfig } from '../../dist/platform/config.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function testPlatform(config: UserConfig = {}): Promise<PlatformHandle> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mft-'));
  return startPlatform({ port: 0, dataDir, ...config });
}

export interface Answer<T = any> {
  status: number;
  body: T;
}

export async function call<T = any>(p: { url: string; token: string }, method: string, path: string, body?: unknown, options: { token?: string | null; raw?: string } = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const token = options.token === undefined ? p.token : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(p.url + path, {
    method,
    headers,
    ...(options.raw !== undefined ? { body: options.raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Prometheus text and other non-JSON answers stay text.
  }
  return { status: res.status, body: parsed as T };
}

/** A function whose code travels inline, written from source text. */
export function inlineFunction(name: string, source: string, extra: Record<string, unknown> = {}) {
  return { name, handler: 'index.handler', code: { files: { 'index.mjs': Buffer.from(source).toString('base64') } }, ...extra };
}

/** An ASL chain of Task states over the given function names. */
export function chain(functions: string[]) {
  const states: Record<string, unknown> = {};
  functions.forEach((fn, i) => {
    states[`S${i + 1}`] = i === functions.length - 1 ? { Type: 'Task', Resource: fn, End: true } : { Type: 'Task', Resource: fn, Next: `S${i + 2}` };
  });
  return { StartAt: 'S1', States: states };
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `condition` holds, or fails after `timeoutMs`. */
/** Polls `probe` until it answers something other than null (then returns it), within `ms`; names `what` when it gives up. */
export async function until<T>(what: string, probe: () => Promise<T | null>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
