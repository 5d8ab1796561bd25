/**
 * A group's sole subscriber (SubscribeOptions.sole, docs/distributed.md "Faults"): a host agent killed with work in
 * flight and started again with its id gets that work back at once, not after the ack wait (which for host work is
 * minutes), and the work it held no longer blocks maxInFlight. On a real nats-server: the first subscriber's
 * connection is closed without acknowledging, as a SIGKILLed process leaves it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBroker } from '../dist/platform/broker.js';
import { JetStreamBus } from '../dist/platform/bus/global/jetstream.js';
import { JournalBus } from '../dist/platform/bus/global/index.js';
import { RUN_NATS_TESTS, noteNatsSkipped, startNatsServer, type NatsServer } from './helpers/nats.js';
import { until } from './helpers/platform.js';

noteNatsSkipped('the sole subscriber test');

describe.runIf(RUN_NATS_TESTS)('a sole subscriber takes over what a dead one of its group held', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer();
  }, 60_000);
  afterAll(() => server?.stop());

  it('the dead subscriber\'s unacknowledged messages come again at once, then the rest; acknowledged ones before them do not', async () => {
    const options = { maxInFlight: 2, ackTimeoutMs: 600_000, sole: true };
    const dying = await connectBroker(server.url);
    const first = await JetStreamBus.open(dying);
    const got: string[] = [];
    await first.subscribe<string>('work', 'host', async (m) => {
      got.push(m.payload);
      if (m.payload !== 'a') await new Promise(() => undefined); // b and c never finish: the process dies on them
    }, options);
    for (const p of ['a', 'b', 'c']) await first.publish('work', p, p);
    await until('the first subscriber to hold b and c', async () => (got.length === 3 ? true : null), 30_000);
    await dying.close(); // no ack, no nak: what a SIGKILL leaves

    const nc = await connectBroker(server.url);
    try {
      const bus = await JetStreamBus.open(nc);
      await bus.publish('work', 'd', 'd');
      const again: string[] = [];
      await bus.subscribe<string>('work', 'host', (m) => void again.push(m.payload), options);
      // Within the bound, far below the 10-minute ack wait: b and c again (a was acknowledged), then d.
      await until('b, c and d to be delivered', async () => (again.length >= 3 ? true : null), 30_000);
      expect(again.slice(0, 3)).toEqual(['b', 'c', 'd']);
      await bus.close();
    } finally {
      await nc.close();
    }
  }, 90_000);
});

describe('sole on the embedded journal', () => {
  it('is a boolean option it accepts (one process owns the journal: nothing of an earlier one is in flight)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mf-sole-'));
    const bus = new JournalBus(dir);
    try {
      const got: string[] = [];
      await bus.subscribe<string>('work', 'host', (m) => void got.push(m.payload), { sole: true });
      await bus.publish('work', 'k', 'x');
      await until('the message', async () => (got.length === 1 ? true : null), 10_000);
      await expect(bus.subscribe('work', 'other', () => undefined, { sole: 'yes' as unknown as boolean })).rejects.toMatchObject({ code: 'MF_BAD_REQUEST' });
    } finally {
      await bus.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
