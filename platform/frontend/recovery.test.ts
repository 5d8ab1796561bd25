/**
 * What a restarted frontend reads back (recovery.ts) on a real JournalBus: the executions it accepted and that did
 * not finish, with their newest checkpoint; with several frontends on one broker, those the reader picks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { JournalBus } from '../bus/global/index.js';
import { readInterrupted, TOPIC_CHECKPOINTS, TOPIC_EXECUTIONS, type ExecutionEvent } from './recovery.js';

let bus: JournalBus | null = null;
let dir = '';

afterEach(async () => {
  await bus?.close();
  bus = null;
  await rm(dir, { recursive: true, force: true });
});

const accepted = (frontend?: string): ExecutionEvent => ({ t: 'accepted', app: 'a', workflow: 'w', input: { n: 1 }, received: 1, startTime: 'then', ...(frontend ? { frontend } : {}) });

describe('readInterrupted', () => {
  test('unfinished executions with their newest checkpoint; finished ones and ones with results on disk are not', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mf-recovery-'));
    bus = new JournalBus(dir);
    for (const id of ['open', 'done', 'on-disk']) await bus.publish(TOPIC_EXECUTIONS, id, accepted());
    await bus.publish(TOPIC_EXECUTIONS, 'done', { t: 'finished' });
    await bus.publish(TOPIC_CHECKPOINTS, 'open', { state: 'S2', input: 1 });
    await bus.publish(TOPIC_CHECKPOINTS, 'open', { state: 'S3', input: 2 });
    const open = await readInterrupted(bus, new Set(['on-disk']));
    expect(open.map((e) => [e.id, e.checkpoint])).toEqual([['open', { state: 'S3', input: 2 }]]);
  });

  test('the reader picks which accepted executions are its own: a single platform those no frontend accepted', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mf-recovery-'));
    bus = new JournalBus(dir);
    await bus.publish(TOPIC_EXECUTIONS, 'mine', accepted('f1'));
    await bus.publish(TOPIC_EXECUTIONS, 'theirs', accepted('f2'));
    await bus.publish(TOPIC_EXECUTIONS, 'single', accepted());
    expect((await readInterrupted(bus, new Set(), (e) => e.frontend === 'f1')).map((e) => e.id)).toEqual(['mine']);
    expect((await readInterrupted(bus, new Set(), (e) => e.frontend !== undefined)).map((e) => e.id)).toEqual(['mine', 'theirs']);
    expect((await readInterrupted(bus, new Set())).map((e) => e.id)).toEqual(['single']);
  });
});
