import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { bwrapArgs } from './bwrap-backend.js';

const spec = { sandboxId: 's1', app: 'a', dir: '/tmp/mf/run-x/sb/s1', socketPath: '/tmp/mf/run-x/sb/s1/bus.sock', readPaths: ['/tmp/mf/run-x/apps/a/f', '/tmp/mf/run-x/apps/a/f/lib', '/tmp/mf/run-x/apps/a/g'] };

/** The [source, target] pairs of each `flag` in bwrap's argument list. */
function pairs(args: string[], flag: string): Array<[string, string]> {
  return args.flatMap((a, i) => (a === flag ? [[args[i + 1]!, args[i + 2]!] as [string, string]] : []));
}

describe('bwrapArgs', () => {
  test('every namespace, no network unless allowed, and the sandbox dies with the platform', () => {
    const args = bwrapArgs(spec);
    expect(args).toEqual(expect.arrayContaining(['--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL']));
    expect(args).not.toContain('--share-net');
    expect(bwrapArgs({ ...spec, network: true })).toContain('--share-net');
  });

  test('the code is read-only, the sandbox folder the only writable bind, /tmp a private tmpfs before the binds under it', () => {
    const args = bwrapArgs(spec);
    const ro = pairs(args, '--ro-bind').map(([source]) => source);
    expect(ro).toEqual(expect.arrayContaining(['/tmp/mf/run-x/apps/a/f', '/tmp/mf/run-x/apps/a/g']));
    expect(ro).not.toContain('/tmp/mf/run-x/apps/a/f/lib'); // visible through its parent already
    expect(pairs(args, '--bind')).toEqual([[spec.dir, spec.dir]]);
    const tmpfs = args.indexOf('--tmpfs');
    expect(args[tmpfs + 1]).toBe('/tmp');
    expect(tmpfs).toBeLessThan(args.indexOf('--ro-bind', args.indexOf('/usr') + 1));
    expect(tmpfs).toBeLessThan(args.indexOf('--bind'));
    expect(ro).toContain(resolve(process.execPath, '..'));
  });

  test('name resolution and TLS roots only for a sandbox allowed the network', () => {
    const withNet = pairs(bwrapArgs({ ...spec, network: true }), '--ro-bind').map(([s]) => s);
    const without = pairs(bwrapArgs(spec), '--ro-bind').map(([s]) => s);
    expect(without.some((p) => p.startsWith('/etc'))).toBe(false);
    expect(withNet).toEqual(expect.arrayContaining(['/etc/resolv.conf', '/etc/hosts'].filter((f) => existsSync(f))));
  });
});
