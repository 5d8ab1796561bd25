/**
 * image-pipeline end to end on a real platform (process backend): the real CenterNet model on the wasm backend, real
 * sharp and exifr, images passed between stages through context.storage. Both workflows; the non-image error path
 * fails naming the stage, and the platform keeps serving.
 */
import { describe, expect, test } from 'vitest';
import { validateDeployed } from '../dist/cli/commands/validate.js';
import type { InvocationRecord } from '../dist/platform/records.js';
import { WORKLOADS } from '../dist/workloads/index.js';
import { useSuitePlatform } from './helpers/workload.js';

const w = WORKLOADS['image-pipeline'];

describe('image-pipeline on the process backend', () => {
  const suite = useSuitePlatform({ deploy: () => w.app() });

  test('refarch: a sample photo is tagged person; generated images keep their EXIF; thumbnails fit 250x250', async () => {
    const r = await validateDeployed(suite.client, w, { sizes: ['photo', 'small', 'png'], seed: 3, workflow: 'refarch', runs: 1, app: 'image-pipeline' });
    for (const input of r.inputs) expect(input.runs[0]!.verdict, input.size).toEqual({ ok: true });
    const photo = r.inputs[0]!.runs[0]!;
    // The cold run loaded the model in the tag-objects worker: its init time is in the record.
    const tag = photo.stages.find((s) => s.function === 'tag-objects')!;
    expect(tag.temperature).toBe('cold-worker');
    expect(tag.codeLoadMs).toBeGreaterThan(100);
    expect(photo.stages.map((s) => s.state).sort()).toEqual(['ExtractMetadata', 'Ingest', 'StoreResult', 'TagObjects', 'Thumbnail', 'TransformMetadata']);
  });

  test('sequential: the stages run in the order of the paper and the output is valid', async () => {
    const input = w.generateInput('medium', 4);
    const e = await suite.client.execute('image-pipeline', 'sequential', input);
    expect(e.status).toBe('SUCCEEDED');
    expect(w.validateOutput(input, e.output)).toEqual({ ok: true });
    const order = [...(e.records as InvocationRecord[])].sort((a, b) => a.t.handlerStart - b.t.handlerStart).map((x) => x.state);
    expect(order).toEqual(['Ingest', 'ExtractMetadata', 'VerifyTransform', 'TagObjects', 'Thumbnail', 'StoreResult']);
    // A validator that sees a wrong thumbnail or lost GPS rejects it.
    const out = structuredClone(e.output) as { metadata: { gps: unknown }; thumbnail: { width: number } };
    out.metadata.gps = null;
    expect(w.validateOutput(input, out)).toMatchObject({ ok: false, reason: expect.stringMatching(/gps/) });
  });

  test('a non-image fails naming the stage on both workflows, and the platform keeps serving', async () => {
    const bad = w.generateInput('non-image', 1);
    const seq = await suite.client.execute('image-pipeline', 'sequential', bad);
    expect(seq.status).toBe('FAILED');
    expect(seq.error).toBe('ImageTypeNotSupported');
    expect(JSON.parse(seq.cause!).errorMessage).toMatch(/^verify-transform: unsupported image type "unknown"/);
    const ref = await suite.client.execute('image-pipeline', 'refarch', w.generateInput('webp', 1));
    expect(ref.status).toBe('FAILED');
    expect(ref.error).toBe('ImageTypeNotSupported');
    expect(ref.cause).toMatch(/ImageTypeCheck: unsupported image type "webp"/);
    expect(w.validateFailure!(bad, { error: seq.error, cause: seq.cause })).toEqual({ ok: true });
    const good = w.generateInput('small', 9);
    const after = await suite.client.execute('image-pipeline', 'refarch', good);
    expect(after.status).toBe('SUCCEEDED');
    expect(w.validateOutput(good, after.output)).toEqual({ ok: true });
  });
});
