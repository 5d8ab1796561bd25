// The sessions benchmark's functions (experiments/bench/sessions.ts). One handler, three roles by its event:
// "echo" answers every message to the client; "tx" moves N bytes to "rx" by a pipe or through context.storage
// and reports how long until rx acknowledged them; "rx" takes pipes and storage keys and acknowledges each.
// "produce"/"consume" are ordinary Tasks that pass N bytes as a workflow payload.
const clock = () => performance.timeOrigin + performance.now();

async function tx(context) {
  const s = context.session;
  const ack = async () => {
    const [m] = await s.getMessages({ count: 1, timeoutMs: 60_000 });
    if (!m || m.body.ack === undefined) throw new Error('no acknowledgement from rx');
    return m.body.ack;
  };
  for await (const m of s) {
    const { mode, bytes } = m.body;
    const data = Buffer.alloc(bytes, 1);
    const t0 = clock();
    if (mode === 'pipe') {
      const pipe = await context.pipe.open('rx');
      for (let off = 0; off < bytes; off += 1 << 20) {
        if (!pipe.write(data.subarray(off, Math.min(bytes, off + (1 << 20))))) await new Promise((r) => pipe.once('drain', r));
      }
      pipe.end();
    } else {
      const key = `bench-${t0}`;
      await context.storage.put(key, data);
      await s.send('rx', { key });
    }
    const got = await ack();
    const ms = clock() - t0;
    await s.send('client', { mode, bytes, got, ms });
  }
}

async function rx(context) {
  const s = context.session;
  const pipes = (async () => {
    while (s.isRunning()) {
      const pipe = await context.pipe.accept({ timeoutMs: 1000 });
      if (!pipe) continue;
      let n = 0;
      for await (const chunk of pipe) n += chunk.length;
      await s.send('tx', { ack: n });
    }
  })();
  for await (const m of s) {
    const value = await context.storage.get(m.body.key);
    await s.send('tx', { ack: value.length });
    await context.storage.delete(m.body.key);
  }
  await pipes;
}

export const handler = async (event, context) => {
  if (event.role === 'echo') {
    for await (const m of context.session) await context.session.send('client', m.body);
    return;
  }
  if (event.role === 'tx') return tx(context);
  if (event.role === 'rx') return rx(context);
  if (event.role === 'produce') return { role: 'consume', data: 'x'.repeat(event.bytes) };
  if (event.role === 'consume') return event.data.length;
  return event;
};
