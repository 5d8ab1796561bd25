/**
 * The OpenFaaS adapter end to end against the gateway double (test/doubles/openfaas/), which implements the
 * gateway's documented REST API and runs each replica as a real container from the image the adapter built.
 *
 * Needs a Docker engine (the adapter builds images; the double runs containers): skipped when none answers, unless
 * MFBENCH_REQUIRE_DOCKER=1, which makes a missing engine fail (the project's rule, docs/docker.md).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OpenFaasAdapter, parsePrometheus, serviceName, type OpenFaasMetrics } from '../dist/harness/openfaas/index.js';
import { MfError } from '../dist/platform/errors.js';
import type { Docker } from '../dist/platform/sandbox/docker/engine.js';
import { getWorkload } from '../dist/workloads/index.js';
import { noteDockerSkipped, requireDocker, RUN_DOCKER_TESTS } from './helpers/docker.js';
import { DOUBLE_LABEL, startOpenFaasDouble, type OpenFaasDouble } from './doubles/openfaas/gateway.js';
import { putThenGet, storageAppWorkload } from './helpers/storage-app.js';


noteDockerSkipped('openfaas adapter tests');

const AUTH = { user: 'admin', password: 'double-secret' };
/** This run's id, in every app name (so in every image, container and function name): runs sharing a Docker engine never see each other's leftovers. */
const RUN = randomBytes(3).toString('hex');
const app = (name: string) => `${name}-${RUN}`;

async function containersOf(docker: Docker, instance: string) {
  return docker.listContainers({ all: true, filters: { label: [`${DOUBLE_LABEL}=${instance}`] } });
}

async function imagesOf(docker: Docker, repo: string) {
  return (await docker.listImages({ filters: { reference: [repo] } })).flatMap((i) => i.RepoTags ?? []);
}

async function expectCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<MfError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MfError);
  expect((err as MfError).code).toBe(code);
  if (message) expect((err as MfError).message).toMatch(message);
  return err as MfError;
}

// Each test builds images and starts containers: on a busy shared machine that takes minutes, not seconds.
describe.runIf(RUN_DOCKER_TESTS)('openfaas adapter against the gateway double (real containers)', { timeout: 300_000 }, () => {
  const docker = requireDocker();
  let gw: OpenFaasDouble;
  let adapter: OpenFaasAdapter;

  beforeAll(async () => {
    gw = await startOpenFaasDouble({ docker, ...AUTH });
    // The replicas are containers on the Docker bridge: the storage service listens where they reach it.
    adapter = await OpenFaasAdapter.create({ url: gw.url, ...AUTH, functionGatewayUrl: gw.internalUrl, storageListen: `${new URL(gw.internalUrl).hostname}:0`, readyTimeoutMs: 30_000 });
  });

  afterAll(async () => {
    await adapter?.close();
    await gw?.close();
    if (gw) expect(await containersOf(docker, gw.instance)).toEqual([]);
  });

  test('hello: deploy, invoke (cold then warm by container id), records with the gateway and watchdog headers, enforceColdStart (clamped: update), async with callback, metrics, remove', async () => {
    const hello = getWorkload('hello');
    const d = await adapter.deploy(hello, {}, { name: app('of-hello') });
    const svc = serviceName(app('of-hello'), 'hello');
    expect(adapter.services(d).functions).toEqual({ hello: svc });
    expect(gw.functions().sort()).toEqual([svc, serviceName(app('of-hello'), 'wf-main')].sort());
    const image = adapter.services(d).image;
    expect(await imagesOf(docker, image.split(':')[0] as string)).toContain(image);

    const input = hello.generateInput('small', 1);
    const first = await adapter.invoke(d, 'hello', input);
    expect(first.outcome).toEqual({ state: 'ok' });
    const r1 = first.platform?.records[0];
    expect(r1).toBeDefined();
    expect(r1?.temperature).toBe('cold-sandbox');
    expect(r1?.backend).toBe('openfaas');
    expect(r1?.invocationId).toMatch(/^[0-9a-f-]{36}$/); // the gateway's X-Call-Id
    expect(first.platform?.executionId).toBe(r1?.invocationId);
    // X-Start-Time (ns) became the queued stamp: between the client's send and receive (same host here).
    expect(r1?.t.queued).toBeGreaterThanOrEqual(first.client.actualSend - 5);
    expect(r1?.t.queued).toBeLessThanOrEqual(first.client.receive + 5);
    expect(r1?.t.handlerEnd).toBeGreaterThanOrEqual(r1?.t.handlerStart ?? Infinity);

    const second = await adapter.invoke(d, 'hello', input);
    const r2 = second.platform?.records[0];
    expect(r2?.temperature).toBe('warm');
    expect(r2?.sandboxId).toBe(r1?.sandboxId);
    expect(r2?.invocationId).not.toBe(r1?.invocationId);

    // Community Edition: scale to zero is clamped to 1, so the adapter replaces the replicas by an update.
    await adapter.enforceColdStart(d);
    expect(adapter.coldStartMethod).toBe('update');
    const third = await adapter.invoke(d, 'hello', input);
    const r3 = third.platform?.records[0];
    expect(third.outcome).toEqual({ state: 'ok' });
    expect(r3?.temperature).toBe('cold-sandbox');
    expect(r3?.sandboxId).not.toBe(r1?.sandboxId);
    expect((await adapter.invoke(d, 'hello', input)).platform?.records[0]?.temperature).toBe('warm');

    // Async with a callback: 202 at once; the queue worker POSTs the answer with the documented headers.
    let delivered: (v: { headers: IncomingMessage['headers']; body: string }) => void = () => undefined;
    const got = new Promise<{ headers: IncomingMessage['headers']; body: string }>((resolve) => (delivered = resolve));
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.end();
        delivered({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
    const accepted = await adapter.invokeAsync(d, 'hello', { name: 'async' }, { callbackUrl: `http://127.0.0.1:${port}/done` });
    expect(accepted.status).toBe(202);
    expect(accepted.callId).toMatch(/^[0-9a-f-]{36}$/);
    const cb = await got;
    server.close();
    expect(cb.headers['x-call-id']).toBe(accepted.callId);
    expect(cb.headers['x-function-status']).toBe('200');
    expect(cb.headers['x-function-name']).toBe(svc);
    expect(Number(cb.headers['x-duration-seconds'])).toBeGreaterThan(0);
    expect(JSON.parse(cb.body)).toMatchObject({ greeting: 'hello async', function: 'hello' });

    const m = (await adapter.collectMetrics()) as OpenFaasMetrics;
    expect(m.replicas.find((r) => r.function === svc)).toMatchObject({ app: app('of-hello'), replicas: 1, available: 1 });
    expect(m.gateway).not.toBeNull();
    const calls = m.gateway?.invocations.filter((i) => i.function === svc && i.code === '200').reduce((s, i) => s + i.count, 0) ?? 0;
    expect(calls).toBeGreaterThanOrEqual(5); // 4 sync + 1 async (+ the health probes of the cold start)
    expect(m.gateway?.seconds.find((s) => s.function === svc)?.count).toBe(calls);
    expect(m.sandboxes.filter((s) => s.app === app('of-hello'))).toHaveLength(2); // hello + the orchestrator

    await adapter.remove(d);
    expect(gw.functions()).toEqual([]);
    expect(await containersOf(docker, gw.instance)).toEqual([]);
    expect(await imagesOf(docker, image.split(':')[0] as string)).not.toContain(image);
  });

  test('noop-chain through the orchestrator: one record per Task, and a failing handler is a failed call with its records', async () => {
    const chain = getWorkload('noop-chain');
    const d = await adapter.deploy(chain, { length: 3 }, { name: app('of-chain') });
    const input = chain.generateInput('small', 2);
    const first = await adapter.execute(d, input);
    expect(first.outcome).toEqual({ state: 'ok' });
    const recs = first.platform?.records ?? [];
    expect(recs.map((r) => r.function)).toEqual(['step1', 'step2', 'step3']);
    expect(recs.map((r) => r.state)).toEqual(['Step1', 'Step2', 'Step3'].map((s) => expect.stringMatching(new RegExp(s, 'i'))));
    expect(recs.every((r) => r.temperature === 'cold-sandbox')).toBe(true);
    expect(new Set(recs.map((r) => r.sandboxId)).size).toBe(3); // one container per function
    expect(recs.every((r) => r.executionId === first.platform?.executionId)).toBe(true);
    const second = await adapter.execute(d, input);
    expect(second.platform?.records.map((r) => r.temperature)).toEqual(['warm', 'warm', 'warm']);
    // A direct invocation of a chain step is a plain function call.
    expect((await adapter.invoke(d, 'step2', input)).outcome).toEqual({ state: 'ok' });
    await adapter.remove(d);

    // A handler that throws: the invocation and the execution fail with its error type, and keep their records.
    const noopDir = (chain.app({ length: 1 }).functions[0]?.code as { dir: string }).dir;
    const failing = {
      ...chain,
      name: app('of-fail'),
      app: () => ({
        name: app('of-fail'),
        functions: [
          { name: 'ok', handler: 'index.handler', code: { dir: noopDir } },
          { name: 'thrower', handler: 'index.handler', code: { dir: new URL('./doubles/openfaas/fixtures/thrower', import.meta.url).pathname } },
        ],
        workflows: { main: { StartAt: 'Ok', States: { Ok: { Type: 'Task', Resource: 'ok', Next: 'Throw' }, Throw: { Type: 'Task', Resource: 'thrower', End: true } } } },
      }),
    };
    const f = await adapter.deploy(failing, {}, { name: app('of-fail') });
    const inv = await adapter.invoke(f, 'thrower', { x: 1 });
    expect(inv.outcome).toMatchObject({ state: 'failed', error: 'StageError' });
    expect(inv.platform?.records[0]?.outcome).toMatchObject({ state: 'error', error: 'StageError' });
    const exec = await adapter.execute(f, { x: 2 });
    expect(exec.outcome).toMatchObject({ state: 'failed', error: 'StageError' });
    expect((exec.outcome as { cause: string }).cause).toContain('refused');
    expect(exec.platform?.records.map((r) => [r.function, r.outcome.state])).toEqual([
      ['ok', 'ok'],
      ['thrower', 'error'],
    ]);
    await adapter.remove(f);
    expect(await containersOf(docker, gw.instance)).toEqual([]);
  });

  test('context.storage through the adapter\'s storage service: put and get in their own containers share global values, not the local tier', async () => {
    const d = await adapter.deploy(storageAppWorkload(), {}, { name: app('of-stored') });
    // The workload's validator checks get's output: put's value and count, and null for put's container-local marker.
    for (const r of await putThenGet(adapter, d)) {
      expect(r.outcome).toEqual({ state: 'ok' });
      expect(r.platform!.records.map((x) => x.function)).toEqual(['put', 'get']);
    }
    expect((await adapter.invoke(d, 'get', { key: 'k2', value: { seed: 2 }, puts: 2 })).outcome).toEqual({ state: 'ok' });
    await adapter.remove(d);
    expect(gw.functions()).toEqual([]);
  });

  test('workloads that need npm packages: image-pipeline (sharp, exifr, the Human bundle it declares) runs from the app image', async () => {
    const w = getWorkload('image-pipeline');
    const d = await adapter.deploy(w, {}, { name: app('of-images') });
    expect((await adapter.execute(d, w.generateInput('small', 1), { workflow: 'sequential' })).outcome).toEqual({ state: 'ok' });
    await adapter.remove(d);
  });

  test('error paths: wrong URL, wrong credentials, a deploy that fails leaves nothing, a registry push that fails', async () => {
    await expectCode(OpenFaasAdapter.create({ url: 'http://127.0.0.1:1' }), 'MF_PLATFORM_UNREACHABLE', /cannot be reached.*--url/);
    await expectCode(OpenFaasAdapter.create({ url: gw.url, user: 'admin', password: 'wrong' }), 'MF_UNAUTHORIZED', /OPENFAAS_USER/);
    await expectCode(OpenFaasAdapter.create({ url: gw.url }), 'MF_UNAUTHORIZED');
    await expectCode(OpenFaasAdapter.create({ url: 'not a url' }), 'MF_CONFIG_INVALID');
    await expectCode(OpenFaasAdapter.create({ url: gw.url, poolSize: 2 }), 'MF_CONFIG_INVALID', /poolSize/);

    // A function whose module throws while loading: its container exits, no replica ever becomes available.
    const broken = { ...getWorkload('hello'), name: 'broken', app: () => ({ name: app('broken'), functions: [{ name: 'bad', handler: 'index.handler', code: { dir: new URL('./doubles/openfaas/fixtures/broken', import.meta.url).pathname } }], workflows: {} }) };
    const strict = await OpenFaasAdapter.create({ url: gw.url, ...AUTH, functionGatewayUrl: gw.internalUrl, readyTimeoutMs: 4000 });
    try {
      await expectCode(strict.deploy(broken, {}, { name: app('of-broken') }), 'MF_SANDBOX_START_FAILED', /no available replica/);
      expect(gw.functions()).toEqual([]);
      expect(await containersOf(docker, gw.instance)).toEqual([]);
      expect(await imagesOf(docker, `mfbench-fn-${app('of-broken')}`)).toEqual([]);
      expect(strict.deployments).toEqual([]);

      // A name already on the gateway (someone else's) is a conflict, and is left alone.
      const other = await adapter.deploy(getWorkload('noop'), {}, { name: app('of-taken') });
      await expectCode(strict.deploy(getWorkload('noop'), {}, { name: app('of-taken') }), 'MF_APP_EXISTS');
      expect(gw.functions().length).toBeGreaterThan(0);
      await adapter.remove(other);
    } finally {
      await strict.close();
    }

    // Nothing listens on port 1: the push fails, and the image built for it is removed again.
    const pushing = await OpenFaasAdapter.create({ url: gw.url, ...AUTH, registry: '127.0.0.1:1/mfbench', functionGatewayUrl: gw.internalUrl });
    try {
      const pushErr = await expectCode(pushing.deploy(getWorkload('hello'), {}, { name: app('of-push') }), 'MF_CONFIG_INVALID', new RegExp(`pushing 127\\.0\\.0\\.1:1/mfbench/mfbench-fn-${app('of-push')}:.* failed.*--registry`));
      expect(gw.functions()).toEqual([]);
      expect(await imagesOf(docker, `127.0.0.1:1/mfbench/mfbench-fn-${app('of-push')}`)).toEqual([]);
      // The engine tried the registry: the push carried X-Registry-Auth (a 20.10 engine refuses a push without it).
      expect(pushErr.message).not.toMatch(/X-Registry-Auth/i);
      expect(pushErr.message).toMatch(/connection refused|dial tcp/i);
    } finally {
      await pushing.close();
    }
  });

  test('faasd counts a replica before its process listens: deploy waits for the health path through the gateway, so the first call answers', async () => {
    const faasd = await startOpenFaasDouble({ docker, ...AUTH, provider: 'faasd' });
    const a = await OpenFaasAdapter.create({ url: faasd.url, ...AUTH, functionGatewayUrl: faasd.internalUrl, readyTimeoutMs: 60_000 });
    try {
      const slow = { ...getWorkload('hello'), name: 'slow-start', app: () => ({ name: app('of-slow'), functions: [{ name: 'slow', handler: 'index.handler', code: { dir: new URL('./doubles/openfaas/fixtures/slow-start', import.meta.url).pathname } }], workflows: {} }) };
      const d = await a.deploy(slow, {}, { name: app('of-slow') });
      const first = await a.invoke(d, 'slow', { n: 1 }, { validate: false });
      expect(first.outcome).toEqual({ state: 'ok' });
      expect(first.platform?.records[0]?.temperature).toBe('cold-sandbox'); // the health probes were not requests
      await a.remove(d);
      expect(faasd.functions()).toEqual([]);
    } finally {
      await a.close();
      await faasd.close();
      expect(await containersOf(docker, faasd.instance)).toEqual([]);
    }
  });

  test('a provider that answers an error after creating a function, and one whose answers come late: nothing is left, and one slow call does not fail the deploy', async () => {
    const busy = await startOpenFaasDouble({ docker, ...AUTH, provider: 'faasd' });
    const a = await OpenFaasAdapter.create({ url: busy.url, ...AUTH, functionGatewayUrl: busy.internalUrl, readyTimeoutMs: 30_000, systemTimeoutMs: 1500 });
    try {
      const hello = getWorkload('hello');
      // faasd's deploy handler creates the container, then answers 400 when its task cannot start.
      busy.faults.failAfterCreate = 1;
      await expectCode(a.deploy(hello, {}, { name: app('of-halfmade') }), 'MF_PLATFORM_UNREACHABLE', /400.*unable to start task/);
      expect(busy.functions()).toEqual([]);
      expect(a.deployments).toEqual([]);

      // A status call over the timeout is tried again; a deploy whose answer is lost is found in the gateway's status.
      busy.faults.slow = { method: 'GET', count: 1, delayMs: 4000 };
      const d = await a.deploy(hello, {}, { name: app('of-slowget') });
      expect(busy.faults.slow.count).toBe(0);
      busy.faults.slow = { method: 'POST', count: 1, delayMs: 4000 };
      const e = await a.deploy(hello, {}, { name: app('of-slowpost') });
      expect(busy.faults.slow.count).toBe(0);
      for (const x of [d, e]) expect((await a.invoke(x, 'hello', hello.generateInput('small', 1))).outcome).toEqual({ state: 'ok' });
      await a.remove(d);
      await a.remove(e);
      expect(busy.functions()).toEqual([]);
    } finally {
      await a.close();
      await busy.close();
      expect(await containersOf(docker, busy.instance)).toEqual([]);
    }
  });

  test('a gateway that allows scale to zero (OpenFaaS Pro behaviour): enforceColdStart scales to zero and the next request waits for its container', async () => {
    const pro = await startOpenFaasDouble({ docker, ...AUTH, scaleToZero: true });
    const a = await OpenFaasAdapter.create({ url: pro.url, ...AUTH, functionGatewayUrl: pro.internalUrl, readyTimeoutMs: 30_000 });
    try {
      const hello = getWorkload('hello');
      const d = await a.deploy(hello, {}, { name: app('of-zero') });
      const input = hello.generateInput('small', 3);
      await a.invoke(d, 'hello', input);
      await a.enforceColdStart(d);
      expect(a.coldStartMethod).toBe('scale-to-zero');
      const cold = await a.invoke(d, 'hello', input);
      expect(cold.outcome).toEqual({ state: 'ok' });
      const r = cold.platform?.records[0];
      expect(r?.temperature).toBe('cold-sandbox');
      expect(r?.coldStart.sandboxStartMs).toBeGreaterThan(0); // the request waited for its container
      expect(r?.t.workerReady).toBeGreaterThan(r?.t.queued ?? Infinity);
      await a.remove(d);
    } finally {
      await a.close();
      await pro.close();
      expect(await containersOf(docker, pro.instance)).toEqual([]);
    }
  });
});

describe('openfaas adapter units', () => {
  test('service names are DNS-1123 labels; changed names get a hash suffix so they cannot collide', () => {
    expect(serviceName('cold-start', 'step1')).toBe('cold-start-step1');
    const s = serviceName('My_App', 'wf-main');
    expect(s).toMatch(/^my-app-wf-main-[0-9a-f]{6}$/);
    expect(serviceName('a'.repeat(80), 'f').length).toBeLessThanOrEqual(63);
    expect(serviceName('x_y', 'f')).not.toBe(serviceName('x-y', 'f'));
  });

  test('Prometheus text parsing', () => {
    const samples = parsePrometheus(
      '# HELP gateway_function_invocation_total x\n# TYPE gateway_function_invocation_total counter\ngateway_function_invocation_total{code="200",function_name="a.openfaas-fn"} 3\ngateway_functions_seconds_sum{function_name="a"} 0.25\n',
    );
    expect(samples).toEqual([
      { name: 'gateway_function_invocation_total', labels: { code: '200', function_name: 'a.openfaas-fn' }, value: 3 },
      { name: 'gateway_functions_seconds_sum', labels: { function_name: 'a' }, value: 0.25 },
    ]);
  });
});
