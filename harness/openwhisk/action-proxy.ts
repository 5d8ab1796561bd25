/**
 * The action proxy inside an OpenWhisk Docker ("blackbox") action image built by blackbox.ts: the invoker's contract
 * of OpenWhisk's runtimes (docs/actions-new.md, "Action interface"), on port 8080:
 *
 * - POST /init `{value: {name, main, code?, binary?, env?}}`: the image already carries its action under /action (its
 *   package.json "main" exports `main`), so, as the dockerskeleton does for an image without code, /init loads that
 *   and answers `{"OK": true}`; it copies `value.env` into process.env first (the Node.js runtime does) and refuses
 *   code sent at /init (this image has one action). A second /init answers 403.
 * - POST /run `{value, activation_id, action_name, deadline, …}`: the string keys become `__OW_<KEY>` variables, then
 *   `main(value)`; its object (or promise of one) is the 200 answer, a result that is not an object 502. A `main`
 *   that throws answers 502 and stops the proxy (every later /run: 403), as the Node.js runtime's proxy does. A
 *   result that carries its own JSON text (our function wrapper's, wire.ts SERIALISED_KEY) is answered with that
 *   text, so the output is serialised once, not again here.
 * - After each activation the sentinel line goes to stdout and stderr, so that the invoker can cut the logs.
 *
 * Imports only Node's own modules: it is copied alone into the image (dist/harness/openwhisk/action-proxy.js).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';

const SENTINEL = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX';
const ACTION_DIR = process.env.MFBENCH_ACTION_DIR ?? '/action';
const PORT = Number(process.env.MFBENCH_PROXY_PORT ?? 8080);
/** Every interface in the container (the invoker connects from outside); a test outside a container says 127.0.0.1. */
const HOST = process.env.MFBENCH_PROXY_HOST ?? '0.0.0.0';
/** The Node.js runtime's JSON body limit; a blackbox /init carries no code, so only /run bodies come near it. */
const BODY_LIMIT_BYTES = 48 * 1024 * 1024;

type Main = (params: unknown) => unknown;
let status: 'ready' | 'running' | 'stopped' = 'ready';
let main: Main | null = null;

/** A result's own JSON text, when the wrapper made it (wire.ts SERIALISED_KEY; spelled here: this file imports nothing). */
const SERIALISED = Symbol.for('mfbench.openwhisk.serialised');

function answer(res: ServerResponse, code: number, body: unknown): void {
  const own = typeof body === 'object' && body !== null ? (body as Record<symbol, unknown>)[SERIALISED] : undefined;
  const text = typeof own === 'string' ? own : JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function markers(): void {
  process.stdout.write(`${SENTINEL}\n`);
  process.stderr.write(`${SENTINEL}\n`);
}

async function bodyOf(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const c of req) {
    bytes += (c as Buffer).length;
    if (bytes > BODY_LIMIT_BYTES) return null;
    chunks.push(c as Buffer);
  }
  try {
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function init(res: ServerResponse, body: Record<string, unknown>): void {
  if (main !== null || status !== 'ready') return answer(res, 403, { error: main !== null ? 'Cannot initialize the action more than once.' : `System not ready, status is ${status}.` });
  const value = (typeof body.value === 'object' && body.value !== null ? body.value : {}) as Record<string, unknown>;
  if (typeof value.code === 'string' && value.code !== '') return answer(res, 403, { error: 'This image carries its action under /action; it takes no code at /init.' });
  if (typeof value.env === 'object' && value.env !== null) {
    for (const [k, v] of Object.entries(value.env)) process.env[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  const entry = typeof value.main === 'string' && value.main !== '' ? value.main : 'main';
  try {
    const mod = createRequire(`${ACTION_DIR}/`)(ACTION_DIR) as Record<string, unknown>;
    if (typeof mod[entry] !== 'function') throw new Error(`Action entrypoint '${entry}' is not a function.`);
    main = mod[entry] as Main;
    answer(res, 200, { OK: true });
  } catch (err) {
    status = 'stopped';
    console.error('Error during initialization:', err);
    markers();
    answer(res, 502, { error: `Initialization has failed due to: ${err instanceof Error ? err.stack : String(err)}` });
  }
}

async function run(res: ServerResponse, body: Record<string, unknown>): Promise<void> {
  if (main === null || status !== 'ready') return answer(res, 403, { error: main === null ? 'System not initialized.' : `System not ready, status is ${status}.` });
  for (const [k, v] of Object.entries(body)) if (k !== 'value' && typeof v === 'string') process.env[`__OW_${k.toUpperCase()}`] = v;
  status = 'running';
  let result: unknown;
  try {
    result = await main(body.value ?? {});
  } catch (err) {
    console.error(err);
    markers();
    status = 'stopped';
    return answer(res, 502, { error: `An error has occurred: ${String(err)}` });
  }
  markers();
  status = 'ready';
  if (typeof result !== 'object' || result === null) return answer(res, 502, { error: 'The action did not return a dictionary.' });
  answer(res, 200, result);
}

const server = createServer((req, res) => {
  void (async () => {
    if (req.method !== 'POST' || (req.url !== '/init' && req.url !== '/run')) return answer(res, 404, { error: 'Not found.' });
    const body = await bodyOf(req);
    if (body === null) return answer(res, 500, { error: 'Bad request.' });
    if (req.url === '/init') init(res, body);
    else await run(res, body);
  })();
});
server.listen(PORT, HOST);
