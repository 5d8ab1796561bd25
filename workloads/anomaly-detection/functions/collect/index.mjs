/**
 * collect (stage 1, the statistics collector): checks every sFlow-like flow sample, stores the samples in
 * context.storage (the later stages read them from there, not from the payload), and computes per-window statistics:
 * packets, and the distributions of destination and source addresses.
 *
 * A sample: {t: ms since the interval's start, src, dst: dotted IPv4, sp, dp: ports, proto: 6|17|1, bytes, pkts,
 * rate: the sampling rate (1 in N)}.
 */
const STAGE = 'collect';
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function malformed(i, why) {
  return Object.assign(new Error(`${STAGE}: flow record ${i} is malformed: ${why}`), { name: 'MalformedFlowRecord' });
}

export function checkSample(s, i) {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw malformed(i, 'not an object');
  if (!Number.isFinite(s.t) || s.t < 0) throw malformed(i, `"t" must be a non-negative number, got ${JSON.stringify(s.t)}`);
  for (const k of ['src', 'dst']) if (typeof s[k] !== 'string' || !IPV4.test(s[k])) throw malformed(i, `"${k}" must be a dotted IPv4 address, got ${JSON.stringify(s[k])}`);
  for (const k of ['sp', 'dp']) if (!Number.isInteger(s[k]) || s[k] < 0 || s[k] > 65535) throw malformed(i, `"${k}" must be a port number, got ${JSON.stringify(s[k])}`);
  if (![1, 6, 17].includes(s.proto)) throw malformed(i, `"proto" must be 1, 6 or 17, got ${JSON.stringify(s.proto)}`);
  for (const k of ['bytes', 'pkts', 'rate']) if (!Number.isInteger(s[k]) || s[k] < 1) throw malformed(i, `"${k}" must be a positive integer, got ${JSON.stringify(s[k])}`);
}

export const handler = async (event, context) => {
  const samples = event?.samples;
  if (!Array.isArray(samples) || samples.length === 0) throw Object.assign(new Error(`${STAGE}: the event needs a non-empty "samples" list`), { name: 'MalformedFlowRecord' });
  samples.forEach(checkSample);
  const windowMs = event.windowMs ?? 5000;
  const id = context.executionId ?? context.awsRequestId;
  const key = `anomaly-detection/${id}/samples`;
  await context.storage.put(key, samples);
  const end = Math.max(...samples.map((s) => s.t));
  const windows = Array.from({ length: Math.floor(end / windowMs) + 1 }, (_, w) => ({ index: w, start: w * windowMs, packets: 0, dst: {}, src: {} }));
  for (const s of samples) {
    const w = windows[Math.floor(s.t / windowMs)];
    const p = s.pkts * s.rate; // scaled up by the sampling rate, as an sFlow collector estimates
    w.packets += p;
    w.dst[s.dst] = (w.dst[s.dst] ?? 0) + p;
    w.src[s.src] = (w.src[s.src] ?? 0) + p;
  }
  return { stats: { id, key, samples: samples.length, windowMs, windows } };
};
