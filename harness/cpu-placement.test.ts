/**
 * CPU placement on this machine, with the real taskset: the plan splits the allowed CPUs, pinning this process
 * really changes its mask, and the last release gives the original mask back.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allowedCpus, onPlatformCpus, parseCpuList, pinLoader, planPlacement, releaseLoader } from './cpu-placement.js';

const hasTaskset = ['/usr/bin/taskset', '/bin/taskset'].some((p) => existsSync(p));

describe('cpu placement', () => {
  it('reads CPU lists as the kernel writes them', () => {
    expect(parseCpuList('0')).toEqual([0]);
    expect(parseCpuList('0-3,6,8-9')).toEqual([0, 1, 2, 3, 6, 8, 9]);
  });

  it('shared is unpinned, saying it was asked for, and runs the platform as given', () => {
    const p = planPlacement('shared');
    expect(p).toEqual({ pinned: false, reason: 'asked for (cpus: shared)' });
    expect(onPlatformCpus(p, ['node', 'x.js'])).toEqual(['node', 'x.js']);
  });

  it('auto pins as split does, unless the machine is oversubscribed, and then says so', () => {
    const cpus = allowedCpus()!;
    expect(planPlacement('auto', 0)).toEqual(planPlacement('split', 0));
    const busy = planPlacement('auto', cpus.length + 5);
    expect(busy.pinned).toBe(false);
    if (hasTaskset && cpus.length >= 2) expect(busy.pinned === false && busy.reason).toMatch(/^oversubscribed: load average [\d.]+ on \d+ CPUs/);
  });

  it('split gives the platform and the loader disjoint CPUs covering the allowed ones, or says why not', () => {
    const allowed = allowedCpus()!;
    const p = planPlacement('split');
    if (!hasTaskset || allowed.length < 2) {
      expect(p.pinned).toBe(false);
      expect(p.pinned === false && p.reason).toMatch(/taskset|CPU/);
      return;
    }
    if (!p.pinned) throw new Error(`expected a pinned plan, got ${p.reason}`);
    expect(p.loaderCpus).toHaveLength(1);
    expect([...p.platformCpus, ...p.loaderCpus].sort()).toEqual([...allowed].sort());
    expect(p.platformCpus).not.toContain(p.loaderCpus[0]);
    expect(onPlatformCpus(p, ['node', 'x.js'])).toEqual([expect.stringMatching(/taskset$/), '-c', p.platformCpus.join(','), 'node', 'x.js']);
  });

  it.runIf(hasTaskset && (allowedCpus()?.length ?? 0) >= 2)('pins this process while held and restores its mask on the last release', async () => {
    const before = allowedCpus();
    const p = planPlacement('split');
    const first = await pinLoader(p);
    expect(first).toEqual(p);
    expect(allowedCpus()).toEqual(p.pinned ? p.loaderCpus : before);
    // A second adapter meanwhile plans from the original mask, not from the pinned one.
    const second = await pinLoader(planPlacement('split'));
    expect(second).toEqual(p);
    await releaseLoader(second);
    expect(allowedCpus()).toEqual(p.pinned ? p.loaderCpus : before);
    await releaseLoader(first);
    expect(allowedCpus()).toEqual(before);
  });
});
