/**
 * entropy-detector (stage 2, lightweight): the normalized Shannon entropy of the destination addresses per window
 * (H / log2(number of destinations)). A volumetric DDoS concentrates traffic on one destination, so the entropy of
 * destinations falls while that of sources (spoofed) rises. A window is suspect when its destination entropy is below
 * DROP x the first window's (the baseline: the first window of an interval is taken as normal).
 */
export const DROP = 0.8;

export function normalizedEntropy(counts) {
  const values = Object.values(counts);
  const total = values.reduce((a, b) => a + b, 0);
  if (values.length < 2 || total === 0) return 1;
  let h = 0;
  for (const v of values) if (v > 0) h -= (v / total) * Math.log2(v / total);
  return h / Math.log2(values.length);
}

export const handler = async (event) => {
  const stats = event?.stats;
  if (!stats || !Array.isArray(stats.windows) || stats.windows.length === 0) throw Object.assign(new Error('entropy-detector: the event has no window statistics'), { name: 'InvalidInput' });
  const windows = stats.windows.map((w) => ({ index: w.index, packets: w.packets, dstEntropy: normalizedEntropy(w.dst), srcEntropy: normalizedEntropy(w.src) }));
  const baseline = windows[0].dstEntropy;
  const suspect = windows.filter((w) => w.packets > 0 && w.dstEntropy < DROP * baseline).map((w) => w.index);
  return {
    suspected: suspect.length > 0,
    baseline: Math.round(baseline * 1e4) / 1e4,
    suspectWindows: suspect,
    windows: windows.map((w) => ({ ...w, dstEntropy: Math.round(w.dstEntropy * 1e4) / 1e4, srcEntropy: Math.round(w.srcEntropy * 1e4) / 1e4 })),
    reason: suspect.length > 0 ? `destination entropy fell below ${DROP} x baseline in ${suspect.length} window(s)` : 'destination entropy stayed near the baseline',
  };
};
