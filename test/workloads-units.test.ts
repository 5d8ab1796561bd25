/**
 * Unit tests of the workloads' own logic, without a platform: input generators are deterministic, validators reject
 * wrong outputs with a reason, the schedules parse, and the copies of the tfjs loader are identical.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { judge, stageTimes } from '../dist/cli/commands/validate.js';
import { repoRoot } from '../dist/workloads/paths.js';
import { WORKLOADS } from '../dist/workloads/index.js';
import { hashChain } from '../dist/workloads/cpu/workload.js';
import { thumbnailBox } from '../dist/workloads/image-pipeline/workload.js';
import { jpegSize } from '../dist/workloads/image-pipeline/jpeg.js';
import { loadAzureSlice, loadRateSchedule, parseAzureTrace, RATE_SCHEDULES } from '../dist/workloads/spiky/schedules.js';

describe('input generators', () => {
  test('same seed, same input; the image inputs carry EXIF with GPS; the anomaly input has its ground truth', () => {
    const ip = WORKLOADS['image-pipeline'];
    expect(ip.generateInput('large', 9)).toEqual(ip.generateInput('large', 9));
    const img = ip.generateInput('small', 9).image;
    expect(img).toMatchObject({ kind: 'generated', format: 'jpeg', width: 640, height: 480, exif: { gps: { latitude: expect.any(Number), longitude: expect.any(Number) } } });
    const ad = WORKLOADS['anomaly-detection'];
    const a = ad.generateInput('small', 4);
    expect(a).toEqual(ad.generateInput('small', 4));
    expect(a.samples).toHaveLength(2000);
    expect(a.truth.victim).toMatch(/^(192\.0\.2|198\.51\.100)\./);
    expect(ad.generateInput('clean', 4).truth.victim).toBeNull();
    expect(WORKLOADS['face-recognition'].generateInput('large', 1).tiles).toEqual({ rows: 2, cols: 1, overlap: 0.25 });
  });
});

describe('validators reject wrong outputs, naming what is wrong', () => {
  test('micro', () => {
    const cpu = WORKLOADS.cpu;
    const input = cpu.generateInput('small', 1);
    expect(cpu.validateOutput(input, { iterations: input.iterations, digest: hashChain(input.seed, input.iterations), computeMs: 1 })).toEqual({ ok: true });
    expect(cpu.validateOutput(input, { iterations: input.iterations, digest: hashChain(input.seed, input.iterations - 1), computeMs: 1 })).toMatchObject({ ok: false, reason: expect.stringMatching(/digest/) });
    const pl = WORKLOADS.payload;
    const pin = pl.generateInput('small', 1);
    expect(pl.validateOutput(pin, { payload: pin.payload.slice(1), bytes: 1024, sha256: 'x' })).toMatchObject({ ok: false });
    expect(WORKLOADS.sleep.validateOutput({ ms: 100, n: 1 }, { ms: 100, sleptMs: 50 })).toMatchObject({ ok: false, reason: expect.stringMatching(/sleptMs/) });
  });

  test('image-pipeline: a non-image that succeeded, a missing thumbnail, a photo without person', () => {
    const ip = WORKLOADS['image-pipeline'];
    expect(ip.validateOutput(ip.generateInput('non-image', 1), {})).toMatchObject({ ok: false, reason: expect.stringMatching(/must fail at verify-transform/) });
    const photo = ip.generateInput('photo', 1);
    expect(ip.validateOutput(photo, { metadata: { format: 'jpeg', width: 1, height: 1 } })).toMatchObject({ ok: false, reason: expect.stringMatching(/dimensions/) });
    expect(ip.validateFailure!(ip.generateInput('small', 1), { error: 'X', cause: 'y' })).toMatchObject({ ok: false, reason: expect.stringMatching(/must succeed/) });
    expect(ip.validateFailure!(ip.generateInput('webp', 1), { error: 'ImageTypeNotSupported', cause: 'somewhere' })).toMatchObject({ ok: false, reason: expect.stringMatching(/name the stage/) });
    expect(thumbnailBox(4032, 3024)).toEqual({ width: 250, height: 187.5 });
    expect(thumbnailBox(100, 50)).toEqual({ width: 100, height: 50 });
    expect(jpegSize(Buffer.from('not a jpeg'))).toBeNull();
  });

  test('anomaly-detection: a missed victim, a wrong victim, an update on clean traffic', () => {
    const ad = WORKLOADS['anomaly-detection'];
    const attacked = ad.generateInput('small', 2);
    const v = attacked.truth.victim!;
    const right = { attack: true, victim: v, routeUpdates: [{ match: { destination: `${v}/32` }, then: { redirect: '65000:666' } }] };
    expect(ad.validateOutput(attacked, right)).toEqual({ ok: true });
    expect(ad.validateOutput(attacked, { attack: false, routeUpdates: [] })).toMatchObject({ ok: false, reason: expect.stringMatching(/was injected/) });
    expect(ad.validateOutput(attacked, { ...right, victim: '192.0.2.250' })).toMatchObject({ ok: false, reason: expect.stringMatching(/identified/) });
    expect(ad.validateOutput(ad.generateInput('clean', 2), right)).toMatchObject({ ok: false });
  });

  test('face-recognition: different ids for the same people', () => {
    const fr = WORKLOADS['face-recognition'];
    const input = fr.generateInput('small', 0); // sample1.jpg: 3 faces, then itself at 0.6x
    const face = (id: string) => ({ box: [0, 0, 1, 1], score: 1, galleryId: id, distance: null, isNew: true });
    const out = (ids2: string[]) => ({
      gallery: { name: input.gallery, sizeBefore: 0, sizeAfter: 3, threshold: 0.6 },
      parallelism: input.parallelism,
      tiled: false,
      items: 2,
      images: [{ name: 'a', width: 1, height: 1, faces: ['p1', 'p2', 'p3'].map(face) }, { name: 'b', width: 1, height: 1, faces: ids2.map((id) => ({ ...face(id), isNew: false, distance: 0.1 })) }],
    });
    expect(fr.validateOutput(input, out(['p1', 'p2', 'p3']))).toEqual({ ok: true });
    expect(fr.validateOutput(input, out(['p1', 'p2', 'p4']))).toMatchObject({ ok: false, reason: expect.stringMatching(/different gallery ids/) });
    expect(fr.validateOutput(input, out(['p1', 'p2']))).toMatchObject({ ok: false, reason: expect.stringMatching(/2 faces found, the model finds 3/) });
  });
});

describe('the validate command core', () => {
  test('judge: a failure is wrong unless the workload expects it; stage times come from the records in run order', () => {
    expect(judge(WORKLOADS.noop, { n: 1 }, { status: 'FAILED', output: undefined, error: 'E', cause: 'c' })).toMatchObject({ ok: false, reason: expect.stringMatching(/FAILED: E/) });
    const rec = (fn: string, start: number, end: number) =>
      ({ state: fn.toUpperCase(), function: fn, temperature: 'warm', t: { handlerStart: start, handlerEnd: end }, coldStart: {}, outcome: { state: 'ok' } }) as never;
    expect(stageTimes([rec('b', 20, 25), rec('a', 10, 14)]).map((s) => [s.function, s.computeMs])).toEqual([
      ['a', 4],
      ['b', 5],
    ]);
  });
});

describe('spike schedules', () => {
  test('each rate schedule parses, says its scale and provenance, and has the documented shape', () => {
    for (const name of RATE_SCHEDULES) {
      const s = loadRateSchedule(name);
      expect(s.provenance.length).toBeGreaterThan(50);
      expect(s.scaleFactor).toBeGreaterThan(0);
    }
    const nfv = loadRateSchedule('nfv-spike');
    expect(Math.max(...nfv.rates)).toBe(1000 * nfv.scaleFactor);
    expect(nfv.rates.filter((r) => r === 50)).toHaveLength(120);
    expect(new Set(loadRateSchedule('befaas-spike').rates)).toEqual(new Set([3.5, 20]));
    expect(loadRateSchedule('cold-to-spike').rates.slice(0, 180).every((r) => r === 0)).toBe(true);
  });

  test('the Azure slice is in the 2019 per-minute format; a wrong header is refused', () => {
    const rows = loadAzureSlice();
    expect(rows.length).toBeGreaterThan(3);
    for (const r of rows) expect(r.counts).toHaveLength(60);
    expect(() => parseAzureTrace('a,b\n1,2\n')).toThrow(/HashOwner,HashApp,HashFunction,Trigger/);
  });
});

test('the tfjs loader is the same file in every function that carries a copy', () => {
  const copies = ['image-pipeline/functions/tag-objects', 'face-recognition/functions/detect-faces'].map((d) => readFileSync(join(repoRoot(), 'workloads', d, 'tfjs-bundle.mjs'), 'utf8'));
  expect(copies[1]).toBe(copies[0]);
});
