/**
 * collector (session function): the statistics collector of the NFV chain, running for as long as traffic flows.
 * It reads batches of sFlow-like flow samples as session messages ({samples: [...]}, in time order, as an sFlow agent
 * exports them), and each time a window of the interval closes it writes that window's statistics (packets, and the
 * packets per destination and per source, scaled up by the sampling rate) to the detector through a data pipe, one
 * JSON line per window. On {end: true} it flushes the last window, stores the samples in context.storage for the
 * heavy stages, writes a closing line naming them, ends the pipe and exits.
 */
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function malformed(i, why) {
  return Object.assign(new Error(`collector: flow record ${i} is malformed: ${why}`), { name: 'MalformedFlowRecord' });
}

function checkSample(s, i) {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw malformed(i, 'not an object');
  if (!Number.isFinite(s.t) || s.t < 0) throw malformed(i, `"t" must be a non-negative number, got ${JSON.stringify(s.t)}`);
  for (const k of ['src', 'dst']) if (typeof s[k] !== 'string' || !IPV4.test(s[k])) throw malformed(i, `"${k}" must be a dotted IPv4 address, got ${JSON.stringify(s[k])}`);
  for (const k of ['pkts', 'rate']) if (!Number.isInteger(s[k]) || s[k] < 1) throw malformed(i, `"${k}" must be a positive integer, got ${JSON.stringify(s[k])}`);
}

/** Writes one line, waiting for the pipe to drain when the detector reads slower than we produce (backpressure). */
async function writeLine(pipe, value) {
  if (!pipe.write(`${JSON.stringify(value)}\n`)) await new Promise((resolve) => pipe.once('drain', resolve));
}

export const handler = async (event, context) => {
  const s = context.session;
  const windowMs = event?.windowMs ?? 5000;
  // Opened at the first message, not at start: the detector starts beside us and may not run yet; the session's
  // start answers only once both run, so a client's first message comes after that.
  let pipe = null;
  const samples = [];
  let window = { index: 0, start: 0, packets: 0, dst: {}, src: {} };
  let late = 0;
  for await (const m of s) {
    pipe ??= await context.pipe.open(event?.detector ?? 'detector');
    if (m.body?.end === true) break;
    const batch = m.body?.samples;
    if (!Array.isArray(batch)) throw malformed(samples.length, 'a message must be {samples: [...]} or {end: true}');
    for (const sample of batch) {
      checkSample(sample, samples.length);
      samples.push(sample);
      const index = Math.floor(sample.t / windowMs);
      if (index < window.index) {
        late++; // a window already sent is not reopened
        continue;
      }
      while (index > window.index) {
        await writeLine(pipe, { window });
        window = { index: window.index + 1, start: (window.index + 1) * windowMs, packets: 0, dst: {}, src: {} };
      }
      const p = sample.pkts * sample.rate; // scaled up by the sampling rate, as an sFlow collector estimates
      window.packets += p;
      window.dst[sample.dst] = (window.dst[sample.dst] ?? 0) + p;
      window.src[sample.src] = (window.src[sample.src] ?? 0) + p;
    }
  }
  pipe ??= await context.pipe.open(event?.detector ?? 'detector');
  await writeLine(pipe, { window });
  const key = `nfv-stream/${s.id}/samples`;
  await context.storage.put(key, samples);
  await writeLine(pipe, { done: { id: s.id, key, samples: samples.length, late, windowMs } });
  await new Promise((resolve, reject) => pipe.end((err) => (err ? reject(err) : resolve())));
};
