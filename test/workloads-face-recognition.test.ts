/**
 * face-recognition end to end on a real platform (process backend): face-api's models on the wasm backend, an ASL Map
 * over photos and overlapping bands, the gallery in context.storage. An empty photo fails naming the stage, and the
 * platform keeps serving.
 */
import { describe, expect, test } from 'vitest';
import { validateDeployed } from '../dist/cli/commands/validate.js';
import { WORKLOADS } from '../dist/workloads/index.js';
import { useSuitePlatform } from './helpers/workload.js';

const w = WORKLOADS['face-recognition'];

describe('face-recognition on the process backend', () => {
  const suite = useSuitePlatform({ deploy: () => w.app() });

  test('a photo and its 0.6x copy: the model finds the same faces, and the same people get the same gallery ids', async () => {
    const r = await validateDeployed(suite.client, w, { sizes: ['small'], seed: 2, workflow: 'main', runs: 1, app: 'face-recognition' });
    expect(r.inputs[0]!.runs[0]!.verdict).toEqual({ ok: true });
    const detects = r.inputs[0]!.runs[0]!.stages.filter((s) => s.function === 'detect-faces');
    expect(detects).toHaveLength(2); // the Map ran one iteration per photo
    expect(detects.some((s) => (s.codeLoadMs ?? 0) > 100)).toBe(true); // the models loaded at init, and the record says how long
  });

  test('the gallery persists: the same input again matches every face to an existing id', async () => {
    const input = w.generateInput('small', 2);
    const e = await suite.client.execute('face-recognition', 'main', input);
    expect(e.status).toBe('SUCCEEDED');
    expect(w.validateOutput(input, e.output)).toEqual({ ok: true });
    const out = e.output as { gallery: { sizeBefore: number; sizeAfter: number }; images: Array<{ faces: Array<{ isNew: boolean }> }> };
    expect(out.gallery.sizeAfter).toBe(out.gallery.sizeBefore);
    expect(out.images.flatMap((i) => i.faces).every((f) => !f.isNew)).toBe(true);
    // A validator that sees a wrong face count, or two copies of one person with different ids, rejects it.
    const fewer = structuredClone(out);
    fewer.images[0]!.faces.pop();
    expect(w.validateOutput(input, fewer)).toMatchObject({ ok: false });
  });

  test('an empty photo fails at split naming the image; the next execution succeeds', async () => {
    const bad = w.generateInput('empty', 1);
    const e = await suite.client.execute('face-recognition', 'main', bad);
    expect(e.status).toBe('FAILED');
    expect(e.error).toBe('EmptyImage');
    expect(JSON.parse(e.cause!).errorMessage).toMatch(/^split: image 1 \(empty\.jpg\) is empty \(0 bytes\)/);
    expect(w.validateFailure!(bad, { error: e.error, cause: e.cause })).toEqual({ ok: true });
    const good = w.generateInput('small', 5);
    const after = await suite.client.execute('face-recognition', 'main', { ...good, parallelism: 1 });
    expect(after.status).toBe('SUCCEEDED');
    expect(w.validateOutput({ ...good, parallelism: 1 }, after.output)).toEqual({ ok: true });
  });
});
