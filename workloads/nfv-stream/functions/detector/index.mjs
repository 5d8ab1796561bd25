/**
 * detector (session function): the lightweight entropy detector, fed by the collector's pipe. It judges each window
 * as it arrives: the normalized Shannon entropy of its destinations (H / log2(number of destinations)); a window is
 * suspect when that falls below DROP x the first window's (the baseline). When the collector closes the stream, it
 * sends the verdict to the client, which escalates to the heavy stages as ordinary Tasks (the app's `main` workflow).
 */
export const DROP = 0.8;

function normalizedEntropy(counts) {
  const values = Object.values(counts);
  const total = values.reduce((a, b) => a + b, 0);
  if (values.length < 2 || total === 0) return 1;
  let h = 0;
  for (const v of values) if (v > 0) h -= (v / total) * Math.log2(v / total);
  return h / Math.log2(values.length);
}

const round = (x) => Math.round(x * 1e4) / 1e4;

export const handler = async (event, context) => {
  const pipe = await context.pipe.accept({ timeoutMs: event?.acceptTimeoutMs ?? 120_000 });
  if (!pipe) throw Object.assign(new Error('detector: the collector never opened its pipe'), { name: 'NoStream' });
  const windows = [];
  let done = null;
  let rest = '';
  pipe.setEncoding('utf8');
  for await (const chunk of pipe) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    for (const line of lines) {
      const m = JSON.parse(line);
      if (m.done) done = m.done;
      else windows.push({ index: m.window.index, packets: m.window.packets, dstEntropy: normalizedEntropy(m.window.dst), srcEntropy: normalizedEntropy(m.window.src) });
    }
  }
  if (!done || windows.length === 0) throw Object.assign(new Error('detector: the stream ended before the collector closed it'), { name: 'NoStream' });
  const baseline = windows[0].dstEntropy;
  const suspect = windows.filter((w) => w.packets > 0 && w.dstEntropy < DROP * baseline).map((w) => w.index);
  const entropy = {
    suspected: suspect.length > 0,
    baseline: round(baseline),
    suspectWindows: suspect,
    windows: windows.map((w) => ({ ...w, dstEntropy: round(w.dstEntropy), srcEntropy: round(w.srcEntropy) })),
    reason: suspect.length > 0 ? `destination entropy fell below ${DROP} x baseline in ${suspect.length} window(s)` : 'destination entropy stayed near the baseline',
  };
  await context.session.send('client', { stats: done, entropy });
};
