import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { CpuMeter, descendants } from './proc-cpu.js';

/**
 * A child that, on each line it reads, spins until its OWN CPU time (process.cpuUsage) has grown by 100 ms, then says
 * so: whatever the machine's load, the meter must see at least that much CPU in the child between two readings.
 */
const SPINNER = `
process.stdout.write('ready\\n');
require('node:readline').createInterface({ input: process.stdin }).on('line', () => {
  const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
  const end = cpu() + 100;
  while (cpu() < end);
  process.stdout.write('spun\\n');
});`;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL');
});

async function line(c: ChildProcess): Promise<string> {
  const [chunk] = (await once(c.stdout!, 'data')) as [Buffer];
  return chunk.toString().trim();
}

describe('proc-cpu', () => {
  it('finds a child among the descendants and meters the CPU it spends, in ns', async () => {
    const child = spawn(process.execPath, ['-e', SPINNER], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(child);
    expect(await line(child)).toBe('ready');
    expect(descendants(process.pid)).toContain(child.pid);
    const meter = CpuMeter.open([child.pid!]);
    try {
      const before = meter.read();
      child.stdin!.write('go\n');
      expect(await line(child)).toBe('spun');
      const spentMs = (meter.read() - before) / 1e6;
      // At least the 100 ms the child counted itself; the scheduler's count is the finer of the two.
      expect(spentMs).toBeGreaterThanOrEqual(99);
      // ...and a count of that child alone, not of the machine: a second spin is counted as one more, not as the test's own CPU.
      const again = meter.read();
      child.stdin!.write('go\n');
      expect(await line(child)).toBe('spun');
      expect((meter.read() - again) / 1e6).toBeGreaterThanOrEqual(99);
    } finally {
      meter.close();
    }
  });

  it('counts a process that exited as 0 from then on, without throwing', async () => {
    const child = spawn(process.execPath, ['-e', SPINNER], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(child);
    expect(await line(child)).toBe('ready');
    const meter = CpuMeter.open([child.pid!, 2 ** 22 + 1]); // the second pid is past pid_max: never a process
    try {
      expect(meter.read()).toBeGreaterThan(0);
      child.kill('SIGKILL');
      await once(child, 'exit');
      expect(meter.read()).toBe(0);
    } finally {
      meter.close();
    }
  });
});
