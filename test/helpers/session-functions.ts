/** Session functions the session tests deploy (test/sessions*.test.ts): each obeys commands sent as messages. */

/** Answers commands from its messages until told to exit, throw or crash; heartbeats as it goes. */
export const ECHO = `export const handler = async (event, context) => {
  const s = context.session;
  s.heartbeat();
  for await (const m of s) {
    s.heartbeat();
    const b = m.body ?? {};
    if (b.cmd === 'echo') await s.send(b.to ?? 'client', { echo: b.value, by: s.instance, alias: s.alias, from: m.from });
    else if (b.cmd === 'relay') await s.send(b.target, { cmd: 'echo', value: b.value });
    else if (b.cmd === 'exit') { s.exit(); return 'bye'; }
    else if (b.cmd === 'throw') throw new Error('asked to throw');
    else if (b.cmd === 'crash') process.exit(3);
    else if (b.cmd === 'alias') s.setAlias(b.alias);
    else if (b.cmd === 'big') { try { await s.send('client', 'x'.repeat(b.bytes)); } catch (e) { await s.send('client', { refused: e.code ?? e.name }); } }
    else if (b.cmd === 'silent') return new Promise(() => {});
    else if (b.cmd === 'pid') await s.send('client', { pid: process.pid });
  }
  return 'stopped';
};`;

/** Opens a pipe to its target on request and streams a known number of bytes through it, then reports. */
export const SENDER = `export const handler = async (event, context) => {
  const s = context.session;
  for await (const m of s) {
    const b = m.body;
    if (b.cmd !== 'stream') continue;
    try {
      const pipe = await context.pipe.open(b.target);
      const chunk = Buffer.alloc(64 * 1024, 7);
      let written = 0;
      while (written < b.bytes) {
        const n = Math.min(chunk.length, b.bytes - written);
        if (!pipe.write(chunk.subarray(0, n))) await new Promise((r) => pipe.once('drain', r));
        written += n;
      }
      if (b.end !== false) pipe.end();
      await s.send('client', { streamed: written });
      if (b.end === false) { await new Promise((r) => pipe.once('error', r).once('close', r)); }
    } catch (e) {
      await s.send('client', { error: e.code ?? e.name, message: e.message });
    }
  }
};`;

/** Accepts pipes, counts their bytes, and says how each ended. */
export const RECEIVER = `export const handler = async (event, context) => {
  const s = context.session;
  while (s.isRunning()) {
    const pipe = await context.pipe.accept({ timeoutMs: 500 });
    if (!pipe) continue;
    let bytes = 0;
    const slow = event.slow === true;
    try {
      for await (const chunk of pipe) {
        bytes += chunk.length;
        if (slow) await new Promise((r) => setTimeout(r, 1));
      }
      await s.send('client', { received: bytes, peer: pipe.peer, ended: 'ok' });
    } catch (e) {
      await s.send('client', { received: bytes, ended: e.code ?? e.name });
    }
  }
};`;

export const HOG = `export const handler = async (event, context) => {
  const keep = [];
  while (context.session.isRunning()) { keep.push(Buffer.alloc(16 * 1024 * 1024, 1)); await new Promise((r) => setTimeout(r, 5)); }
};`;
