/**
 * Large actions on OpenWhisk as Docker ("blackbox") actions: image-pipeline's tag-objects (the CenterNet model
 * bundle, 57 MB of base64 as a zip, over the stock Node.js runtime's 48 MB /init limit) is deployed as an image the
 * adapter builds on this host's Docker engine; the OpenWhisk double runs it as a real container from that image
 * (/init and /run on the proxy's port 8080), the other functions as zip actions. The workload's own validator checks
 * the output; remove leaves no action, container or image behind.
 *
 * Needs a Docker engine; skipped without one unless MFBENCH_REQUIRE_DOCKER=1 (then it fails). One deployment (one
 * image build) for the whole file.
 */
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment } from '../dist/harness/types.js';
import { OpenWhiskAdapter, type Packaging } from '../dist/harness/openwhisk/index.js';
import { getWorkload } from '../dist/workloads/index.js';
import { OpenWhiskDouble, OW_DOUBLE_LABEL } from './doubles/openwhisk/server.js';
import { noteDockerSkipped, requireDocker, RUN_DOCKER_TESTS } from './helpers/docker.js';

noteDockerSkipped('openwhisk blackbox tests');

/** The Docker bridge's address on this host: where the containers reach the adapter's storage service. */
function bridgeAddress(): string {
  return networkInterfaces().docker0?.find((a) => a.family === 'IPv4')?.address ?? '172.17.0.1';
}

describe.runIf(RUN_DOCKER_TESTS)('OpenWhisk blackbox actions: image-pipeline on the OpenWhisk double', () => {
  const docker = requireDocker();
  const instance = `blackbox-${randomBytes(3).toString('hex')}`;
  const app = `bb-pipeline-${randomBytes(3).toString('hex')}`;
  const w = getWorkload('image-pipeline');
  let ow: OpenWhiskDouble;
  let adapter: OpenWhiskAdapter;
  let d: Deployment;
  let tagObjects: Packaging;

  const ourContainers = () => docker.listContainers({ all: true, filters: { label: [`${OW_DOUBLE_LABEL}=${instance}`] } });

  beforeAll(async () => {
    // tag-objects asks for 1024 MB: a deployment running ML actions raises OpenWhisk's 512 MB default.
    ow = await OpenWhiskDouble.start({ docker, instance, limits: { maxMemory: 2048 } });
    adapter = await OpenWhiskAdapter.create({ url: ow.url, token: ow.auth, storageListen: `${bridgeAddress()}:0` });
    d = await adapter.deploy(w, {}, { name: app });
    tagObjects = adapter.packaging(d).get('tag-objects') as Packaging;
  }, 600_000);

  afterAll(async () => {
    await adapter?.close();
    await ow?.close();
  });

  it('packages tag-objects as a blackbox image built on this engine, every other function as a zip', async () => {
    const packaging = adapter.packaging(d);
    expect(tagObjects).toMatchObject({ kind: 'blackbox', pushed: false });
    expect(tagObjects.codeBytes).toBeGreaterThan(48 * 1024 * 1024);
    for (const [fn, p] of packaging) if (fn !== 'tag-objects') expect(p.kind, fn).toBe('zip');
    const image = tagObjects.kind === 'blackbox' ? tagObjects.image : '';
    expect(image).toMatch(new RegExp(`^mfbench-ow-blackbox-${app}-tag-objects:[0-9a-f]{16}$`));
    expect((await docker.getImage(image).inspect()).Config.Labels).toMatchObject({ 'mfbench.image': 'openwhisk-blackbox', 'mfbench.app': app });
    const res = await fetch(`${ow.url}/api/v1/namespaces/_/actions/${app}/tag-objects`, { headers: { authorization: `Basic ${Buffer.from(ow.auth).toString('base64')}` } });
    const action = (await res.json()) as { exec: { kind: string; image?: string }; annotations: Array<{ key: string; value: unknown }> };
    expect(action.exec).toMatchObject({ kind: 'blackbox', image });
    expect(action.annotations).toContainEqual({ key: 'mfbench-packaging', value: 'blackbox' });
  });

  it('runs the sequential pipeline: tag-objects answers from its container, and the output passes the validator', async () => {
    const r = await adapter.execute(d, w.generateInput('small', 7), { workflow: 'sequential' });
    expect(r.outcome, JSON.stringify(r.outcome)).toEqual({ state: 'ok' });
    const records = r.platform?.records ?? [];
    const tag = records.find((x) => x.function === 'tag-objects');
    expect(tag?.temperature).toBe('cold-sandbox');
    expect(tag?.outcome).toEqual({ state: 'ok' });
    expect((await ourContainers()).length).toBe(1); // only the blackbox action runs in Docker
  }, 300_000);

  it('a second activation of tag-objects is warm, in the same container', async () => {
    const input = w.generateInput('small', 8);
    const first = await adapter.execute(d, input, { workflow: 'sequential' });
    expect(first.outcome).toEqual({ state: 'ok' });
    const again = await adapter.execute(d, input, { workflow: 'sequential' });
    const [a, b] = [first, again].map((r) => r.platform?.records.find((x) => x.function === 'tag-objects'));
    expect(b?.temperature).toBe('warm');
    expect(b?.sandboxId).toBe(a?.sandboxId);
  }, 300_000);

  it('remove leaves no action, no container and no image', async () => {
    const image = tagObjects.kind === 'blackbox' ? tagObjects.image : '';
    await adapter.remove(d);
    expect(ow.listing()).toEqual({ packages: [], actions: [] });
    const deadline = Date.now() + 60_000;
    while ((await ourContainers()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(await ourContainers()).toEqual([]);
    await expect(docker.getImage(image).inspect()).rejects.toMatchObject({ statusCode: 404 });
  }, 120_000);
});
