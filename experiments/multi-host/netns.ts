/**
 * A private network for the multi-host experiment's host agents (docs/experiments.md#multi-host): one Linux network
 * namespace per host, each with one veth pair to a bridge made for this run, and nothing else (no route out, no NAT).
 * The broker listens on the bridge's address, so every message between a frontend and a host crosses a veth pair and
 * the host's own network stack. Every name carries a random run id (parallel runs do not collide), and `close()`
 * removes all of it; so does the process's exit, if a run dies before it could close.
 *
 * Frames between two namespaces cross the bridge; where iptables filters bridged frames (docker's FORWARD policy
 * DROP with br_netfilter), one rule accepts forwarding from this bridge to itself while the network lives.
 *
 * Needs root and `ip netns`; where they are missing, `hostNetwork('auto', …)` falls back to loopback (hosts are plain
 * processes, the broker listens on 127.0.0.1) and says why.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import { MfError } from '../../platform/errors.js';

const run = promisify(execFile);

export type NetworkMode = 'netns' | 'loopback';

export interface HostNetwork {
  readonly mode: NetworkMode;
  /** Why the loopback fallback was taken (null when `mode` is what was asked). */
  readonly fallbackReason: string | null;
  /** Where the broker listens: the bridge's address, or 127.0.0.1. */
  readonly brokerAddress: string;
  /** Per host slot: its address and the argv prefix that runs a command in its namespace (empty on loopback). */
  readonly hosts: ReadonlyArray<{ address: string; prefix: readonly string[] }>;
  /** Removes the namespaces, veth pairs and bridge; idempotent. */
  close(): Promise<void>;
}

/**
 * A network for `count` hosts. `netns` fails with MF_CONFIG_INVALID when namespaces cannot be made; `auto` falls back
 * to loopback then.
 */
export async function hostNetwork(mode: 'auto' | NetworkMode, count: number): Promise<HostNetwork> {
  if (mode === 'loopback') return loopback(count, null);
  const why = await whyNoNamespaces();
  if (why === null) {
    try {
      return await namespaces(count);
    } catch (err) {
      if (mode === 'netns') throw err;
      return loopback(count, err instanceof Error ? err.message : String(err));
    }
  }
  if (mode === 'netns') throw new MfError('MF_CONFIG_INVALID', `network namespaces are not available here: ${why}; use --network loopback`, { option: 'network' });
  return loopback(count, why);
}

function loopback(count: number, fallbackReason: string | null): HostNetwork {
  return {
    mode: 'loopback',
    fallbackReason,
    brokerAddress: '127.0.0.1',
    hosts: Array.from({ length: count }, () => ({ address: '127.0.0.1', prefix: [] })),
    close: async () => undefined,
  };
}

async function whyNoNamespaces(): Promise<string | null> {
  if (process.platform !== 'linux') return `${process.platform} has no network namespaces`;
  if (process.getuid?.() !== 0) return 'not root';
  try {
    await run('ip', ['netns', 'list']);
    return null;
  } catch (err) {
    return `\`ip netns\` does not work (${err instanceof Error ? err.message : String(err)})`;
  }
}

/** A /24 in 10.200.0.0-10.254.255.255 that no address or route of this machine touches (tried a few times): the bridge can then reach nothing but the namespaces made here. */
async function freeSubnet(): Promise<string> {
  const { stdout } = await run('ip', ['-4', '-o', 'addr', 'show']);
  const { stdout: routes } = await run('ip', ['-4', 'route', 'show']);
  for (let i = 0; i < 20; i++) {
    const prefix = `10.${randomInt(200, 255)}.${randomInt(0, 256)}`;
    if (!stdout.includes(` ${prefix}.`) && !routes.includes(`${prefix}.`)) return prefix;
  }
  throw new MfError('MF_CONFIG_INVALID', 'found no free /24 in 10.200.0.0-10.254.255.255 for the hosts\' bridge');
}

async function namespaces(count: number): Promise<HostNetwork> {
  const id = randomBytes(3).toString('hex'); // names stay within IFNAMSIZ (15): mfb + 6 + 2
  const bridge = `mfb${id}br`;
  const netnsOf = (i: number): string => `mfbench-${id}-h${i}`;
  const subnet = await freeSubnet();
  const made: { bridge: boolean; netns: string[]; veths: string[]; forward: boolean } = { bridge: false, netns: [], veths: [], forward: false };
  let closed = false;
  const forwardRule = ['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT', '-m', 'comment', '--comment', `mfbench-${id}`];
  // Each veth pair is deleted from its end on the bridge first, which removes both ends before `ip link delete`
  // returns; a namespace's deletion would remove them too, but later, in the kernel's own time (a busy machine then
  // still lists the bridge's end after close()).
  const teardownArgs = (): Array<[string, string[]]> => [
    ...(made.forward ? [['iptables', ['-D', ...forwardRule]] as [string, string[]]] : []),
    ...made.veths.map((veth): [string, string[]] => ['ip', ['link', 'delete', veth]]),
    ...made.netns.map((ns): [string, string[]] => ['ip', ['netns', 'delete', ns]]),
    ...(made.bridge ? [['ip', ['link', 'delete', bridge]] as [string, string[]]] : []),
  ];
  const onExit = (): void => {
    for (const [cmd, args] of teardownArgs()) spawnSync(cmd, args, { stdio: 'ignore' });
  };
  process.once('exit', onExit);
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    process.removeListener('exit', onExit);
    for (const [cmd, args] of teardownArgs()) await run(cmd, args).catch(() => undefined);
  };
  try {
    await run('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
    made.bridge = true;
    await run('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', bridge]);
    await run('ip', ['link', 'set', bridge, 'up']);
    // Host to host (a pipe between sessions on two hosts) is forwarded across the bridge. Where bridged frames pass
    // iptables (br_netfilter, as docker sets up, with FORWARD's policy DROP) they would be dropped: accept what goes
    // from this bridge to itself, and nothing else. No iptables: nothing filters bridged frames there.
    made.forward = await run('iptables', ['-I', ...forwardRule]).then(
      () => true,
      () => false,
    );
    const hosts: Array<{ address: string; prefix: string[] }> = [];
    for (let i = 0; i < count; i++) {
      const ns = netnsOf(i);
      const outside = `mfb${id}v${i}`;
      const inside = `mfb${id}e${i}`;
      const address = `${subnet}.${10 + i}`;
      await run('ip', ['netns', 'add', ns]);
      made.netns.push(ns);
      await run('ip', ['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside, 'netns', ns]);
      made.veths.push(outside);
      await run('ip', ['link', 'set', outside, 'master', bridge]);
      await run('ip', ['link', 'set', outside, 'up']);
      await run('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', inside]);
      await run('ip', ['-n', ns, 'link', 'set', inside, 'up']);
      await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      // `ip netns exec` execs the command, so the pid a spawn returns is the command's own (killed by pid).
      hosts.push({ address, prefix: ['ip', 'netns', 'exec', ns] });
    }
    return { mode: 'netns', fallbackReason: null, brokerAddress: `${subnet}.1`, hosts, close };
  } catch (err) {
    await close();
    const message = err instanceof Error ? err.message : String(err);
    throw new MfError('MF_CONFIG_INVALID', `could not make the hosts' network namespaces: ${message}`, { option: 'network' });
  }
}
