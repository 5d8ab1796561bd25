/**
 * mitigate (stage 5, traffic manipulation): emits the route update that redirects the victim's attack traffic to a
 * scrubbing centre: a BGP FlowSpec rule (RFC 8955) matching destination = victim/32 and the attack's protocol and
 * port, with the redirect-to-VRF action (route target SCRUBBING_RT). The update is stored in context.storage (where a
 * route controller would pick it up) and returned.
 */
export const SCRUBBING_RT = '65000:666';

export const handler = async (event, context) => {
  const v = event.victim;
  if (!v?.victim) throw Object.assign(new Error('mitigate: no victim identified'), { name: 'InvalidInput' });
  const update = {
    type: 'bgp-flowspec',
    afi: 'ipv4',
    match: { destination: `${v.victim}/32`, protocol: v.protocol, destinationPort: v.port },
    then: { redirect: SCRUBBING_RT },
    reason: `DDoS on ${v.victim}: ${v.packetsPerSecond} pkt/s from ${v.sources} sources (${v.protocol}/${v.port})`,
  };
  const key = `anomaly-detection/route-updates/${event.stats.id}`;
  await context.storage.put(key, update);
  await context.storage.delete(event.stats.key);
  return { attack: true, victim: v.victim, routeUpdates: [update], routeUpdateKey: key, detection: { entropy: event.entropy.reason, heavyHitters: event.heavy.heavyHitters } };
};
