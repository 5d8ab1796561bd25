/**
 * identify-victim (stage 4): the victim is the heaviest confirmed destination; this stage characterizes the attack
 * on it from the samples: sources, protocol and destination port (the amplification service), packet rate.
 */
export const handler = async (event, context) => {
  const top = event.heavy?.heavyHitters?.[0];
  if (!top) throw Object.assign(new Error('identify-victim: no confirmed heavy hitter'), { name: 'InvalidInput' });
  const samples = await context.storage.get(event.stats.key);
  const windowMs = event.stats.windowMs;
  const suspect = new Set(event.entropy.suspectWindows);
  const sources = new Set();
  const byProtoPort = new Map();
  let packets = 0;
  for (const s of samples) {
    if (s.dst !== top.dst || !suspect.has(Math.floor(s.t / windowMs))) continue;
    const p = s.pkts * s.rate;
    packets += p;
    sources.add(s.src);
    const k = `${s.proto}/${s.dp}`;
    byProtoPort.set(k, (byProtoPort.get(k) ?? 0) + p);
  }
  const [vector] = [...byProtoPort].sort((a, b) => b[1] - a[1]);
  const [proto, port] = (vector?.[0] ?? '0/0').split('/').map(Number);
  return {
    victim: top.dst,
    sources: sources.size,
    protocol: proto === 17 ? 'udp' : proto === 6 ? 'tcp' : 'icmp',
    port,
    packetsPerSecond: Math.round(packets / ((suspect.size * windowMs) / 1000)),
  };
};
