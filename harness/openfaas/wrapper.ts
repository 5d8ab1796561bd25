/**
 * The process of an OpenFaaS function container built by the OpenFaaS adapter (docs/platforms.md#openfaas).
 *
 * It keeps the contract OpenFaaS asks of a function container (docs.openfaas.com reference/workloads): it serves
 * HTTP on port 8080, answers the health path `/_/health` (and `/_/ready`) once it can take requests, writes the lock
 * file `/tmp/.lock`, and, as the watchdog does, sets `X-Duration-Seconds` on every answer. There is no separate
 * watchdog process: this server is the function's HTTP server (an OpenFaaS "microservice" workload).
 *
 * Two roles, chosen by MFBENCH_ROLE:
 * - `function`: loads one Lambda-style handler at start (as the OpenFaaS node templates do) with the platform's own
 *   runtime (platform/runtime), and runs it for every request: body = event (JSON), answer = result (JSON), or 500
 *   with a Lambda-shaped error body `{errorType, errorMessage, trace}`;
 * - `orchestrator`: runs one ASL workflow with our engine, calling each Task's function through the gateway
 *   (`/function/<service>`), the usual pattern for workflows on OpenFaaS. It answers with an envelope holding the
 *   execution's result and, per Task call, what the gateway and the function reported.
 *
 * Every answer carries the evidence the adapter decides temperature from: a per-container id made at start, the
 * container's start and ready times, and the number of requests this container has served (1 = first).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { now } from '../../platform/clock.js';
import { loadStateMachine } from '../../platform/asl/load.js';
import { runExecution, TaskFailure, type TaskCall } from '../../platform/asl/run.js';
import { invokeHandler } from '../../platform/runtime/invoke.js';
import { remoteStorage } from '../../platform/storage/remote.js';
import { loadFunction, type LoadedFunction } from '../../platform/runtime/load.js';
import type { FunctionSpec } from '../../platform/manifest.js';
import { EVIDENCE, type AppDescriptor, type OrchestratorEnvelope, type TaskCallEvidence } from './protocol.js';

const bootAt = performance.timeOrigin;
const containerId = `${hostname()}-${randomBytes(4).toString('hex')}`;
const port = Number(process.env.PORT ?? 8080);
const role = process.env.MFBENCH_ROLE ?? 'function';
const generation = process.env.MFBENCH_GENERATION ?? '0';
const descriptorPath = process.env.MFBENCH_APP_FILE ?? new URL('../../../app.json', import.meta.url).pathname;

// context.storage: this container's local tier over the adapter's storage service (docs/platforms.md, "Storage").
const storageUrl = process.env.MFBENCH_STORAGE_URL;
const storageToken = process.env.MFBENCH_STORAGE_TOKEN;
const storage = storageUrl && storageToken ? remoteStorage({ url: storageUrl, token: storageToken }) : undefined;

let served = 0;
let readyAt: number | null = null;
let initMs = 0;

function fail(message: string): never {
  process.stderr.write(`[mfbench-openfaas] ${message}\n`);
  process.exit(1);
}

const descriptor = JSON.parse(readFileSync(descriptorPath, 'utf8')) as AppDescriptor;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseEvent(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    return text; // a non-JSON body reaches the handler as a string, as the OpenFaaS node templates do
  }
}

/** Headers every answer carries (the watchdog's X-Duration-Seconds, and our identity evidence). */
function evidence(res: ServerResponse, seq: number, received: number): void {
  res.setHeader('X-Duration-Seconds', ((now() - received) / 1000).toFixed(6));
  res.setHeader(EVIDENCE.container, containerId);
  res.setHeader(EVIDENCE.host, hostname());
  res.setHeader(EVIDENCE.boot, String(bootAt));
  res.setHeader(EVIDENCE.ready, String(readyAt ?? 0));
  res.setHeader(EVIDENCE.seq, String(seq));
  res.setHeader(EVIDENCE.generation, generation);
  res.setHeader(EVIDENCE.initMs, String(initMs));
  res.setHeader(EVIDENCE.received, String(received));
}

function send(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...extra });
  res.end(text);
}

// ------------------------------------------------------------------------------------------------ function role

let loaded: LoadedFunction | null = null;

async function serveFunction(req: IncomingMessage, res: ServerResponse, received: number, seq: number): Promise<void> {
  const fn = loaded;
  if (!fn) return send(res, 503, { errorType: 'NotReady', errorMessage: 'the function is still loading', trace: [] });
  const event = parseEvent(await readBody(req));
  const callId = req.headers['x-call-id'];
  const invocationId = typeof callId === 'string' && callId !== '' ? callId : randomUUID();
  const execHeader = req.headers[EVIDENCE.executionIdRequest];
  const r = await invokeHandler(
    fn,
    event,
    { invocationId, executionId: typeof execHeader === 'string' ? execHeader : null, deadline: now() + fn.spec.timeoutMs },
    storage !== undefined ? { storage } : {},
  );
  res.setHeader(EVIDENCE.handlerStart, String(r.handlerStart));
  res.setHeader(EVIDENCE.handlerEnd, String(r.handlerEnd));
  evidence(res, seq, received);
  if (r.outcome.ok) send(res, 200, r.outcome.value, { [EVIDENCE.outcome]: 'ok' });
  else send(res, 500, r.outcome.error, { [EVIDENCE.outcome]: 'error' });
}

// ------------------------------------------------------------------------------------------------ orchestrator role

async function serveOrchestrator(req: IncomingMessage, res: ServerResponse, received: number, seq: number): Promise<void> {
  const name = process.env.MFBENCH_WORKFLOW ?? '';
  const wf = descriptor.workflows[name];
  const gateway = (process.env.MFBENCH_GATEWAY ?? '').replace(/\/+$/, '');
  if (!wf) return send(res, 500, { errorType: 'MF_WORKFLOW_NOT_FOUND', errorMessage: `no workflow "${name}" in this image`, trace: [] });
  const input = parseEvent(await readBody(req));
  const callId = req.headers['x-call-id'];
  const executionId = typeof callId === 'string' && callId !== '' ? callId : randomUUID();
  const calls: TaskCallEvidence[] = [];
  const machine = loadStateMachine(wf.definition, name);
  const invoke = async (call: TaskCall): Promise<unknown> => {
    const service = descriptor.functions.find((f) => f.name === call.functionName)?.service;
    if (service === undefined) throw new TaskFailure('States.TaskFailed', `no function "${call.functionName}" in this app`);
    const body = JSON.stringify(call.input ?? null);
    const sent = now();
    let answer: Response;
    let text: string;
    try {
      answer = await fetch(`${gateway}/function/${service}`, {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/json', [EVIDENCE.executionIdRequest]: executionId },
        signal: call.signal,
      });
      text = await answer.text();
    } catch (err) {
      const cause = err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` : String(err);
      calls.push({ function: call.functionName, state: call.stateName, sent, received: now(), status: 0, headers: {}, inputBytes: Buffer.byteLength(body), outputBytes: 0, error: 'OpenFaaS.GatewayUnreachable' });
      throw new TaskFailure('OpenFaaS.GatewayUnreachable', `the orchestrator could not reach ${gateway}/function/${service}: ${cause}`);
    }
    const headers: Record<string, string> = {};
    answer.headers.forEach((v, k) => {
      if (k.startsWith('x-')) headers[k] = v;
    });
    const evidenceOf: TaskCallEvidence = { function: call.functionName, state: call.stateName, sent, received: now(), status: answer.status, headers, inputBytes: Buffer.byteLength(body), outputBytes: Buffer.byteLength(text), error: null };
    calls.push(evidenceOf);
    if (answer.ok) return parseEvent(text);
    if (headers[EVIDENCE.outcome] === 'error') {
      let errorType = 'Error';
      try {
        errorType = String((JSON.parse(text) as { errorType?: unknown }).errorType ?? 'Error');
      } catch {
        // keep the default
      }
      evidenceOf.error = errorType;
      throw new TaskFailure(errorType, text);
    }
    evidenceOf.error = `OpenFaaS.HTTP${answer.status}`;
    throw new TaskFailure(`OpenFaaS.HTTP${answer.status}`, `the gateway answered ${answer.status} for ${service}: ${text.slice(0, 500)}`);
  };
  const started = now();
  const result = await runExecution(machine, input, { invoke, executionId, executionName: executionId, startTime: new Date(started).toISOString(), stateMachineName: name });
  const envelope: OrchestratorEnvelope = { executionId, result, calls, started, completed: now() };
  evidence(res, seq, received);
  send(res, 200, envelope, { [EVIDENCE.outcome]: 'execution' });
}

// ------------------------------------------------------------------------------------------------ server

const server = createServer((req, res) => {
  const received = now();
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path === '/_/health' || path === '/_/ready') {
    const ok = readyAt !== null;
    res.setHeader(EVIDENCE.container, containerId);
    res.setHeader(EVIDENCE.generation, generation);
    res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' });
    res.end(ok ? 'OK' : 'starting');
    return;
  }
  const seq = ++served;
  const serve = role === 'orchestrator' ? serveOrchestrator : serveFunction;
  serve(req, res, received, seq).catch((err: unknown) => {
    if (!res.headersSent) send(res, 500, { errorType: 'MF_INTERNAL', errorMessage: err instanceof Error ? err.message : String(err), trace: [] });
    else res.destroy();
  });
});
server.keepAliveTimeout = 65_000;

async function main(): Promise<void> {
  if (role === 'function') {
    const name = process.env.MFBENCH_FUNCTION ?? '';
    const f = descriptor.functions.find((x) => x.name === name);
    if (!f) fail(`MFBENCH_FUNCTION="${name}" names no function of app ${descriptor.app} (has: ${descriptor.functions.map((x) => x.name).join(', ')})`);
    const codeDir = new URL(`../../../${f.codeDir}`, import.meta.url).pathname.replace(/\/+$/, '');
    const spec: FunctionSpec = { app: descriptor.app, name: f.name, handler: f.handler, codeDir, memoryMB: f.memoryMB, timeoutMs: f.timeoutSeconds * 1000, env: f.env };
    try {
      loaded = await loadFunction(spec);
      initMs = loaded.initMs;
    } catch (err) {
      fail(`function ${f.name} could not be loaded: ${err instanceof Error ? err.message : String(err)}`);
    }
  } else if (role !== 'orchestrator') fail(`MFBENCH_ROLE must be "function" or "orchestrator", got "${role}"`);
  await new Promise<void>((resolve) => server.listen(port, '0.0.0.0', resolve));
  try {
    writeFileSync('/tmp/.lock', ''); // the watchdog's lock file: its presence says healthy
  } catch {
    // a read-only /tmp: the HTTP health path is what counts
  }
  readyAt = now();
}

process.on('SIGTERM', () => server.close(() => process.exit(0)));
await main();
