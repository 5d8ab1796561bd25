import { expect, test } from 'vitest';
import { formatOwner, isOrphan, LABEL, parseOwner, processStartTicks, type Liveness } from './owner.js';

test('owner labels round-trip, and malformed ones are not owners', () => {
  expect(parseOwner(formatOwner({ host: 'vm', pid: 42 }))).toEqual({ host: 'vm', pid: 42 });
  expect(parseOwner('a.b-c:7')).toEqual({ host: 'a.b-c', pid: 7 });
  for (const bad of [undefined, '', 'vm', ':12', 'vm:', 'vm:0', 'vm:-3', 'vm:1.5', 'vm:x']) expect(parseOwner(bad)).toBeNull();
});

test('the orphan rule: only containers of gone owners on this host', () => {
  // pid 10 alive (started at tick 500), pid 11 gone.
  const live: Liveness = { host: 'vm', startTicks: (pid) => (pid === 10 ? '500' : null) };
  const labels = (owner: string, started?: string) => ({ [LABEL.testbed]: '1', [LABEL.owner]: owner, ...(started !== undefined ? { [LABEL.ownerStarted]: started } : {}) });
  const cases: Array<[Record<string, string> | undefined, boolean, string]> = [
    [labels('vm:11'), true, 'owner pid gone'],
    [labels('vm:11', '500'), true, 'owner pid gone, start recorded'],
    [labels('vm:10'), false, 'owner alive, no start recorded'],
    [labels('vm:10', '500'), false, 'owner alive, same start'],
    [labels('vm:10', '499'), true, 'pid reused by a later process'],
    [labels('vm:10', ''), false, 'start unknown: trust the pid'],
    [labels('other:11'), false, 'another host: cannot tell, never remove'],
    [{ [LABEL.testbed]: '1' }, false, 'no owner label'],
    [undefined, false, 'no labels'],
  ];
  for (const [l, expected, why] of cases) expect(isOrphan(l, live), why).toBe(expected);
});

test('processStartTicks reads this process, and null for a pid that does not exist', () => {
  expect(processStartTicks(process.pid)).toMatch(/^\d+$/);
  expect(processStartTicks(2 ** 22 + 12345)).toBeNull();
});
