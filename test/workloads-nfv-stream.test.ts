/**
 * nfv-stream end to end on a real platform (process backend): the collector session function streams window
 * statistics to the detector through a data pipe, the detector's verdict escalates to the heavy stages as Tasks, and
 * the victim of an injected DDoS is identified from the streamed traffic (nothing is emitted on clean traffic). The
 * session leaves records of the pipe and the messages, and no process behind; a malformed sample fails the session
 * with a typed error naming the record, and the next input is served.
 */
import { describe, expect, test } from 'vitest';
import { validateDeployed } from '../dist/cli/commands/validate.js';
import { isMfError } from '../dist/platform/errors.js';
import { WORKLOADS } from '../dist/workloads/index.js';
import type { WorkloadClient } from '../dist/workloads/types.js';
import { alive } from './helpers/platform.js';
import { useSuitePlatform } from './helpers/workload.js';

const APP = 'nfv-stream';

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}

describe('nfv-stream on the process backend', () => {
  const w = WORKLOADS['nfv-stream'];
  const suite = useSuitePlatform({ deploy: () => w.app() });

  /** The real client, noting every session the driver starts (its state names the instances' worker pids). */
  function watched(): { client: WorkloadClient; started: Array<{ sessionId: string; pids: number[] }> } {
    const c = suite.client;
    const started: Array<{ sessionId: string; pids: number[] }> = [];
    const client: WorkloadClient = {
      execute: c.execute.bind(c) as WorkloadClient['execute'],
      sendToSession: c.sendToSession.bind(c),
      receiveFromSession: c.receiveFromSession.bind(c),
      getSession: c.getSession.bind(c),
      stopSession: c.stopSession.bind(c),
      startSession: async (app, request) => {
        const s = await c.startSession(app, request);
        started.push({ sessionId: s.sessionId, pids: s.instances.map((i) => i.pid).filter((p): p is number => p !== null) });
        return s;
      },
    };
    return { client, started };
  }

  test.each([1, 2, 3])('seed %i: the victim is identified from the streamed traffic; clean traffic emits nothing', async (seed) => {
    const r = await validateDeployed(suite.client, w, { sizes: ['small', 'clean'], seed, workflow: 'main', runs: 1, app: APP });
    for (const input of r.inputs) expect(input.runs[0]!.verdict, `${input.size} seed ${seed}`).toEqual({ ok: true });
    // Escalation ran as Tasks only when the streamed entropy raised the alarm.
    expect(r.inputs[0]!.runs[0]!.stages.map((s) => s.function)).toEqual(['heavy-detector', 'identify-victim', 'mitigate']);
    expect(r.inputs[1]!.runs[0]!.stages).toEqual([]);
  });

  test('the windows cross a pipe worker to worker; records say so; the session completes with no process left', async () => {
    const { client, started } = watched();
    const input = w.generateInput('small', 4);
    const e = await w.drive!(client, APP, input);
    expect(w.validateOutput(input, e.output)).toEqual({ ok: true });
    expect(started).toHaveLength(1);
    const { sessionId, pids } = started[0]!;
    expect(pids).toHaveLength(2);
    expect(await eventually(async () => (await suite.client.getSession(APP, sessionId)).status === 'COMPLETED')).toBe(true);
    const state = await suite.client.getSession(APP, sessionId);
    expect(state.instances.map((i) => [i.alias, i.status])).toEqual([
      ['detector', 'exited'],
      ['collector', 'exited'],
    ]);
    expect(await eventually(() => pids.every((pid) => !alive(pid)))).toBe(true);

    let records = await suite.client.sessionRecords(APP, sessionId);
    await eventually(async () => (records = await suite.client.sessionRecords(APP, sessionId)).filter((r) => r.kind === 'pipe').length === 2, 5000);
    const pipes = records.filter((r) => r.kind === 'pipe');
    expect(pipes.map((p) => p.side).sort()).toEqual(['acceptor', 'opener']);
    const opener = pipes.find((p) => p.side === 'opener')!;
    const acceptor = pipes.find((p) => p.side === 'acceptor')!;
    expect(opener).toMatchObject({ instance: 'collector.0', outcome: 'ok' });
    expect(acceptor).toMatchObject({ instance: 'detector.0', outcome: 'ok' });
    expect(opener.bytesOut).toBeGreaterThan(10_000); // 12 windows of per-address counts
    expect(acceptor.bytesIn).toBe(opener.bytesOut);
    const messages = records.filter((r) => r.kind === 'message');
    // 2,000 samples in 4 messages of 500, the end mark, and the verdict to the client.
    expect(messages.filter((m) => m.from === 'client' && m.to === 'collector.0')).toHaveLength(5);
    expect(messages.filter((m) => m.from === 'detector.0' && m.to === 'client')).toHaveLength(1);
  });

  test('a malformed flow sample fails the session with a typed error naming it; no process is left; the next input is served', async () => {
    const { client, started } = watched();
    const bad = w.generateInput('small', 5);
    bad.samples[777] = { ...bad.samples[777]!, dst: '192.0.2.300' };
    const err = await w.drive!(client, APP, bad).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isMfError(err, 'MF_SESSION_ENDED'), String(err)).toBe(true);
    const { sessionId, pids } = started[0]!;
    const state = await suite.client.getSession(APP, sessionId);
    expect(state.status).toBe('FAILED');
    expect(state.reason).toMatch(/collector: flow record 777 is malformed: "dst" must be a dotted IPv4 address/);
    expect(await eventually(() => pids.every((pid) => !alive(pid)))).toBe(true);

    const good = w.generateInput('small', 5);
    const e = await w.drive!(client, APP, good);
    expect(w.validateOutput(good, e.output)).toEqual({ ok: true });
  });
});
