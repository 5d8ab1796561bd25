/**
 * heavy-detector (stage 3, heavyweight; runs only when the entropy detector suspects an attack): a count sketch
 * (Charikar et al., 5 rows x 1024 counters, seeded hashes) over the destination addresses of the samples in the
 * suspect windows, read back from context.storage, and the same over the baseline window. A destination is a heavy
 * hitter when its estimated share of the suspect packets is at least SHARE and its rate grew at least GROWTH times
 * over the baseline. The attack is confirmed when there is one.
 */
import { createHash } from 'node:crypto';

export const SHARE = 0.2;
export const GROWTH = 5;
const ROWS = 5;
const WIDTH = 1024;

function hashes(key) {
  const d = createHash('sha256').update(key).digest();
  const out = [];
  for (let r = 0; r < ROWS; r++) out.push({ bucket: d.readUInt32BE(r * 4) % WIDTH, sign: d[20 + r] & 1 ? 1 : -1 });
  return out;
}

class CountSketch {
  constructor() {
    this.table = Array.from({ length: ROWS }, () => new Float64Array(WIDTH));
  }
  add(key, n) {
    hashes(key).forEach((h, r) => (this.table[r][h.bucket] += h.sign * n));
  }
  estimate(key) {
    const est = hashes(key).map((h, r) => h.sign * this.table[r][h.bucket]).sort((a, b) => a - b);
    return est[Math.floor(ROWS / 2)];
  }
}

export const handler = async (event, context) => {
  const samples = await context.storage.get(event.stats.key);
  if (!Array.isArray(samples)) throw Object.assign(new Error(`heavy-detector: no samples under ${event.stats.key}`), { name: 'InvalidInput' });
  const windowMs = event.stats.windowMs;
  const suspect = new Set(event.entropy.suspectWindows);
  const attackSketch = new CountSketch();
  const baseSketch = new CountSketch();
  const candidates = new Set();
  let attackPackets = 0;
  let baseMs = windowMs;
  for (const s of samples) {
    const w = Math.floor(s.t / windowMs);
    const p = s.pkts * s.rate;
    if (suspect.has(w)) {
      attackSketch.add(s.dst, p);
      attackPackets += p;
      candidates.add(s.dst);
    } else if (w === 0) {
      baseSketch.add(s.dst, p);
    }
  }
  const attackMs = suspect.size * windowMs;
  const heavy = [];
  for (const dst of candidates) {
    const est = attackSketch.estimate(dst);
    const share = est / attackPackets;
    if (share < SHARE) continue;
    const rate = est / attackMs;
    const baseRate = Math.max(baseSketch.estimate(dst), 1) / baseMs;
    const growth = rate / baseRate;
    if (growth >= GROWTH) heavy.push({ dst, estimatedPackets: Math.round(est), share: Math.round(share * 1e4) / 1e4, growth: Math.round(growth * 10) / 10 });
  }
  heavy.sort((a, b) => b.estimatedPackets - a.estimatedPackets);
  return { confirmed: heavy.length > 0, heavyHitters: heavy, sketch: { rows: ROWS, width: WIDTH }, suspectPackets: attackPackets };
};
