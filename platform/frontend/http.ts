/**
 * The HTTP API of docs/api.md on node:http. Translates requests into Platform calls and MfErrors into JSON error
 * bodies; nothing else. Kept on the bare node:http server because this is the hot path of every measurement.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { now } from '../clock.js';
import type { ResolvedConfig } from '../config.js';
import { MfError, toMfError } from '../errors.js';
import { bearerToken, readJsonPayload, type BodyLimits, type JsonBody } from '../http-body.js';
import { loadConsoleFiles, type StaticFile } from './console-files.js';
import type { FinishedExecution } from './executions.js';
import type { Platform } from './platform.js';
import type { SessionRecordsPage } from '../api.js';
import { platformPolicy } from '../policy-view.js';
import { checkWorkflow } from './workflow-check.js';

type Auth = 'none' | 'management' | 'invocation';

/**
 * Connections the kernel may queue before we accept them (capped by net.core.somaxconn). Node's default of 511
 * drops the SYNs of a burst of 1,000 clients, which then retry after 1, 3, 7... seconds: accept latency in seconds.
 */
const LISTEN_BACKLOG = 4096;
type Params = string[];
type Handler = (ctx: RequestContext, params: Params) => Promise<Reply> | Reply;

interface RequestContext {
  req: IncomingMessage;
  query: URLSearchParams;
  /** When the whole request had arrived (set by readBody; equals the start for bodiless requests). */
  received: number;
  body(): Promise<unknown>;
  /** The body with the text it was parsed from: an execution's input is sent on as that text. */
  payload(): Promise<JsonBody>;
}

interface Reply {
  status: number;
  body: unknown;
  /** Raw text instead of JSON (Prometheus, JSON the platform already serialised once, a console file). */
  text?: { contentType: string; content: string | Buffer; headers?: Record<string, string> };
}

interface Route {
  method: string;
  pattern: RegExp;
  auth: Auth;
  handler: Handler;
}

export interface HttpServer {
  url: string;
  close(): Promise<void>;
}

export async function startHttpServer(platform: Platform, config: ResolvedConfig, token: string): Promise<HttpServer> {
  const routes = buildRoutes(platform);
  const expected = Buffer.from(token);
  const authorized = (req: IncomingMessage): boolean => {
    const given = Buffer.from(bearerToken(req) ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  const limits: BodyLimits = { maxBytes: config.maxBodyBytes, maxDepth: config.maxJsonDepth, timeoutMs: config.requestTimeoutSeconds * 1000 };

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => sendError(res, toMfError(err)));
  });
  server.keepAliveTimeout = 65_000;
  // Node's own bound on slow headers; slow bodies are refused by readJsonBody with a typed 408.
  server.headersTimeout = Math.min(60_000, limits.timeoutMs);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const start = now();
    const qmark = req.url?.indexOf('?') ?? -1;
    const path = qmark === -1 ? (req.url ?? '/') : req.url!.slice(0, qmark);
    const query = new URLSearchParams(qmark === -1 ? '' : req.url!.slice(qmark + 1));
    let matched: { route: Route; params: Params } | null = null;
    let pathKnown = false;
    for (const route of routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathKnown = true;
      if (route.method !== req.method) continue;
      matched = { route, params: m.slice(1).map(decodeSegment) };
      break;
    }
    if (!matched) {
      req.resume();
      const error = pathKnown
        ? new MfError('MF_BAD_REQUEST', `method ${req.method} is not allowed on ${path}`, { method: req.method, path })
        : new MfError('MF_NOT_FOUND', `no route ${req.method} ${path}`, { method: req.method, path });
      sendError(res, error, pathKnown ? 405 : undefined);
      return;
    }
    const { route } = matched;
    const needsToken = route.auth === 'management' || (route.auth === 'invocation' && config.invocationAuth);
    if (needsToken && !authorized(req)) {
      req.resume();
      sendError(res, new MfError('MF_UNAUTHORIZED', 'missing or wrong bearer token (Authorization: Bearer <token>)'));
      return;
    }
    const ctx: RequestContext = {
      req,
      query,
      received: start,
      body: async () => (await ctx.payload()).value,
      payload: async () => {
        const body = await readJsonPayload(req, limits);
        ctx.received = now();
        return body;
      },
    };
    const reply = await route.handler(ctx, matched.params);
    if (reply.text) {
      res.writeHead(reply.status, { ...reply.text.headers, 'content-type': reply.text.contentType });
      res.end(reply.text.content);
    } else {
      sendJson(res, reply.status, reply.body);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function buildRoutes(platform: Platform): Route[] {
  const started = Date.now();
  const consoleFiles = loadConsoleFiles();
  const route = (method: string, path: string, auth: Auth, handler: Handler): Route => ({
    method,
    // "{name}" segments capture one path segment.
    pattern: new RegExp('^' + path.replace(/\{\w+\}/g, '([^/]+)') + '/?$'),
    auth,
    handler,
  });
  return [
    route('POST', '/apps/{app}/workflows/{workflow}/executions', 'invocation', async (ctx, [app, workflow]) => {
      const input = await ctx.payload();
      const mode = ctx.query.get('mode') ?? 'sync';
      if (mode !== 'sync' && mode !== 'async') throw new MfError('MF_BAD_REQUEST', `mode must be "sync" or "async", not "${mode}"`);
      const { executionId, wait, journalled } = platform.startExecution(app!, workflow!, input.value, ctx.received, { later: mode === 'async', inputJson: input.json });
      if (mode === 'async') {
        wait.catch(() => undefined); // the failure is kept with the execution
        // Accepted means journalled: the execution survives a restart from here on (it already runs meanwhile).
        await journalled;
        return { status: 202, body: { executionId } };
      }
      return finished(await wait, ctx.query);
    }),
    route('POST', '/apps/{app}/functions/{fn}/invocations', 'invocation', async (ctx, [app, fn]) => {
      const input = await ctx.payload();
      return finished(await platform.invokeFunction(app!, fn!, input.value, ctx.received, input.json), ctx.query);
    }),
    route('GET', '/healthz', 'none', () => ({ status: 200, body: { ok: true, apps: platform.listApps().length, uptimeMs: Date.now() - started } })),
    route('GET', '/config', 'management', () => ({ status: 200, body: platformPolicy(platform.config) })),
    route('GET', '/metrics', 'management', async () => ({
      status: 200,
      body: null,
      text: { contentType: platform.metrics.contentType, content: await platform.metrics.text() },
    })),
    route('POST', '/apps', 'management', async (ctx) => ({ status: 201, body: await platform.deploy(await ctx.body()) })),
    route('GET', '/apps', 'management', () => ({ status: 200, body: { apps: platform.listApps() } })),
    route('GET', '/apps/{app}', 'management', (_ctx, [app]) => ({ status: 200, body: platform.getApp(app!) })),
    route('DELETE', '/apps/{app}', 'management', async (_ctx, [app]) => {
      await platform.deleteApp(app!);
      return { status: 200, body: { deleted: app } };
    }),
    route('GET', '/apps/{app}/workflows/{workflow}', 'management', (_ctx, [app, workflow]) => ({ status: 200, body: { name: workflow, definition: platform.getWorkflow(app!, workflow!) } })),
    route('GET', '/apps/{app}/storage', 'management', async (ctx, [app]) => {
      const limit = ctx.query.has('limit') ? Number(ctx.query.get('limit')) : 1000;
      if (!(Number.isInteger(limit) && limit > 0)) throw new MfError('MF_BAD_REQUEST', 'limit must be a positive integer');
      return { status: 200, body: await platform.storageKeys(app!, ctx.query.get('prefix') ?? '', limit) };
    }),
    route('GET', '/apps/{app}/storage/{key}', 'management', async (_ctx, [app, key]) => ({ status: 200, body: { key, value: await platform.storageValue(app!, key!) } })),
    route('POST', '/apps/{app}/reclaim', 'management', async (_ctx, [app]) => ({ status: 200, body: { reclaimed: await platform.reclaim(app!) } })),
    route('GET', '/apps/{app}/logs', 'management', (ctx, [app]) => {
      const limit = ctx.query.has('limit') ? Number(ctx.query.get('limit')) : undefined;
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new MfError('MF_BAD_REQUEST', 'limit must be a positive integer');
      const execution = ctx.query.get('execution') ?? undefined;
      return { status: 200, body: { logs: platform.logs(app!, { ...(execution ? { execution } : {}), ...(limit ? { limit } : {}) }) } };
    }),
    route('POST', '/apps/{app}/sessions', 'management', async (ctx, [app]) => ({ status: 201, body: await platform.sessions.start(app!, await ctx.body()) })),
    route('GET', '/apps/{app}/sessions', 'management', async (_ctx, [app]) => ({ status: 200, body: { sessions: await platform.sessions.list(app!) } })),
    route('GET', '/apps/{app}/sessions/{id}', 'management', async (_ctx, [app, id]) => ({ status: 200, body: await platform.sessions.state(app!, id!) })),
    route('DELETE', '/apps/{app}/sessions/{id}', 'management', async (_ctx, [app, id]) => ({ status: 200, body: await platform.sessions.stop(app!, id!) })),
    route('GET', '/apps/{app}/sessions/{id}/records', 'management', async (ctx, [app, id]) => {
      // `after`: how many of the kept records the caller already has; it gets the rest and the cursor to ask next.
      const after = nonNegativeInt(ctx.query, 'after', 0);
      const records = await platform.sessions.records(app!, id!);
      return { status: 200, body: { records: after === 0 ? records : records.slice(after), next: records.length } satisfies SessionRecordsPage };
    }),
    route('POST', '/apps/{app}/sessions/{id}/messages', 'invocation', async (ctx, [app, id]) => {
      await platform.sessions.send(app!, id!, await ctx.body());
      return { status: 202, body: { accepted: true } };
    }),
    route('GET', '/apps/{app}/sessions/{id}/messages', 'invocation', async (ctx, [app, id]) => {
      const count = positiveInt(ctx.query, 'count', 100);
      const timeoutMs = ctx.query.has('timeoutMs') ? Number(ctx.query.get('timeoutMs')) : 0;
      if (!(Number.isFinite(timeoutMs) && timeoutMs >= 0)) throw new MfError('MF_BAD_REQUEST', 'timeoutMs must be a number of milliseconds, 0 or more');
      return json(await platform.sessions.receive(app!, id!, count, timeoutMs));
    }),
    route('POST', '/workflows/validate', 'management', async (ctx) => ({ status: 200, body: checkWorkflow(await ctx.body()) })),
    route('GET', '/console', 'none', () => consoleFile(consoleFiles, 'index.html')),
    route('GET', '/console/{file}', 'none', (_ctx, [file]) => consoleFile(consoleFiles, file!)),
    route('GET', '/executions/{id}', 'management', async (ctx, [id]) => finished(await platform.getExecution(id!), ctx.query)),
    route('GET', '/executions/{id}/history', 'management', async (_ctx, [id]) => json(`{"history":${await platform.getHistoryJson(id!)}}`)),
    route('POST', '/executions/{id}/stop', 'management', async (ctx, [id]) => {
      const { error, cause } = stopFields(await ctx.body());
      return finished(await platform.stopExecution(id!, error, cause), ctx.query);
    }),
  ];
}

/** An execution's answer, sent as the JSON the store already made (serialised again only to drop the records). */
function finished(execution: FinishedExecution, query: URLSearchParams): Reply {
  if (query.get('records') !== 'false') return json(execution.json);
  const { records: _records, ...rest } = execution.view();
  return { status: 200, body: rest };
}

/** The console's pages may load only the console's own files and talk only to this origin. */
const CONSOLE_HEADERS = {
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
};

function consoleFile(files: ReadonlyMap<string, StaticFile>, name: string): Reply {
  const file = files.get(name);
  if (file === undefined) {
    const hint = files.size === 0 ? ' (the console is not built: run npm run build)' : '';
    throw new MfError('MF_NOT_FOUND', `no console file "${name}"${hint}`, { file: name });
  }
  return { status: 200, body: null, text: { contentType: file.contentType, content: file.content, headers: CONSOLE_HEADERS } };
}

function json(content: string): Reply {
  return { status: 200, body: null, text: { contentType: 'application/json', content } };
}

/** StopExecution's optional error (up to 256 characters) and cause (up to 32,768), as AWS bounds them. */
function stopFields(body: unknown): { error: string | null; cause: string | null } {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { error?: unknown; cause?: unknown };
  const field = (name: 'error' | 'cause', max: number): string | null => {
    const v = b[name];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || v.length > max) throw new MfError('MF_BAD_REQUEST', `"${name}" must be a string of at most ${max} characters`, { field: name });
    return v;
  };
  return { error: field('error', 256), cause: field('cause', 32_768) };
}

function nonNegativeInt(query: URLSearchParams, name: string, fallback: number): number {
  if (!query.has(name)) return fallback;
  const v = Number(query.get(name));
  if (!(Number.isInteger(v) && v >= 0)) throw new MfError('MF_BAD_REQUEST', `${name} must be a whole number >= 0`);
  return v;
}

function positiveInt(query: URLSearchParams, name: string, fallback: number): number {
  if (!query.has(name)) return fallback;
  const v = Number(query.get(name));
  if (!(Number.isInteger(v) && v > 0)) throw new MfError('MF_BAD_REQUEST', `${name} must be a positive integer`);
  return v;
}

/** A path segment, percent-decoded; a malformed escape is the caller's mistake, not ours. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new MfError('MF_BAD_REQUEST', `the path segment "${segment.slice(0, 100)}" has a malformed %-escape`);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, error: MfError, status = error.status): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A body we stopped reading (too slow, too large) would otherwise hold the connection: answer, then close it.
  if (!res.req.complete) res.setHeader('connection', 'close');
  sendJson(res, status, { error: error.toJSON() });
}
