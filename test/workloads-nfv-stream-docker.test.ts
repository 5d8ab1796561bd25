/**
 * nfv-stream on the docker backend under both presets: the collector and the detector run as session functions in a
 * container, their pipe between them, and the heavy stages as Tasks; the victim is identified from the streamed
 * traffic and the session completes. Skipped only when no Docker engine answers and MFBENCH_REQUIRE_DOCKER is not '1'.
 */
import { describe, expect, test } from 'vitest';
import { validateDeployed } from '../dist/cli/commands/validate.js';
import { PRESET_NAMES } from '../dist/platform/config.js';
import { WORKLOADS } from '../dist/workloads/index.js';
import { dockerWithRuntimeImage, noteDockerSkipped, RUN_DOCKER_TESTS } from './helpers/docker.js';
import { useSuitePlatform } from './helpers/workload.js';

noteDockerSkipped('docker nfv-stream tests');

describe.runIf(RUN_DOCKER_TESTS).each(PRESET_NAMES)('nfv-stream on the docker backend, preset %s', (preset) => {
  const w = WORKLOADS['nfv-stream'];
  const suite = useSuitePlatform({ before: dockerWithRuntimeImage, config: { backend: 'docker', preset }, deploy: () => w.app(), timeoutMs: 180_000 });

  test('attacked and clean traffic pass the validator; the sessions ran in containers and completed with their pipe recorded', async () => {
    const r = await validateDeployed(suite.client, w, { sizes: ['small', 'clean'], seed: 3, workflow: 'main', runs: 1, app: 'nfv-stream' });
    for (const input of r.inputs) expect(input.runs[0]!.verdict, input.size).toEqual({ ok: true });
    expect(r.inputs[0]!.runs[0]!.stages.map((s) => s.function)).toEqual(['heavy-detector', 'identify-victim', 'mitigate']);
    const app = await suite.client.getApp('nfv-stream');
    for (const s of app.sandboxes) {
      expect(s.backend).toBe('docker');
      expect((s as { containerId?: string }).containerId).toMatch(/^[0-9a-f]{64}$/);
    }
    // The detector ends just after its verdict, so the last session may complete a moment after validation returns.
    const end = Date.now() + 30_000;
    let sessions = await suite.client.listSessions('nfv-stream');
    while (sessions.some((s) => s.status === 'RUNNING') && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      sessions = await suite.client.listSessions('nfv-stream');
    }
    const summary = JSON.stringify(sessions.map((s) => [s.status, s.reason, s.instances.map((i) => [i.id, i.status, i.restarts])]));
    // One session per input, completed by itself with its pipe recorded; nothing left running.
    const completed = sessions.filter((s) => s.status === 'COMPLETED');
    expect(sessions, summary).toHaveLength(2);
    expect(completed, summary).toHaveLength(2);
    expect(sessions.filter((s) => s.status === 'RUNNING'), summary).toEqual([]);
    for (const s of completed) {
      const pipes = (await suite.client.sessionRecords('nfv-stream', s.sessionId)).filter((x) => x.kind === 'pipe');
      expect(pipes.map((p) => [p.side, p.outcome]).sort()).toEqual([
        ['acceptor', 'ok'],
        ['opener', 'ok'],
      ]);
    }
  }, 240_000);
});
