/**
 * The embedded platform in a process of its own (harness/microfunctions/platform-process.ts, docs/load.md): the
 * adapter's platform is a child process, pinned apart from this one where the machine allows, the manifest's
 * description says where each ran, a failed start is the platform's own typed error, and the child never outlives
 * the process that started it, however that process ends.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { MicroFunctionsAdapter } from '../dist/harness/microfunctions/index.js';
import { allowedCpus, parseCpuList } from '../dist/harness/cpu-placement.js';
import { descendants } from '../dist/harness/proc.js';
import { getWorkload } from '../dist/workloads/index.js';
import { alive } from './helpers/platform.js';

function cpusOf(pid: number): number[] {
  return parseCpuList(/^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))![1]!);
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

describe('the embedded platform runs in a process of its own', () => {
  it('serves executions from a child process placed apart from this one, and is gone after close', async () => {
    const mine = allowedCpus()!;
    const adapter = await MicroFunctionsAdapter.create({ cpus: 'split' });
    let platformPid = 0;
    try {
      const placement = adapter.description.placement!;
      expect(placement.platformProcess).toBe('separate');
      const d = await adapter.deploy(getWorkload('noop-chain'), { length: 2 }, { name: 'apart' });
      const call = await adapter.execute(d, { n: 1 });
      expect(call.outcome).toEqual({ state: 'ok' });
      const metrics = await adapter.collectMetrics();
      const frontend = metrics.processes.find((p) => p.role === 'frontend')!;
      platformPid = frontend.pid;
      expect(platformPid).not.toBe(process.pid);
      expect(descendants(process.pid)).toContain(platformPid);
      // The workers that ran the execution are the platform's, not this process's children.
      const workers = call.platform!.records.map((r) => r.workerPid);
      for (const w of workers) expect(descendants(platformPid)).toContain(w);
      if (placement.cpus.pinned) {
        expect(cpusOf(platformPid)).toEqual(placement.cpus.platformCpus);
        for (const w of workers) expect(cpusOf(w)).toEqual(placement.cpus.platformCpus); // the whole tree inherits the mask
        expect(allowedCpus()).toEqual(placement.cpus.loaderCpus);
        expect(placement.cpus.loaderCpus.some((c) => placement.cpus.pinned && placement.cpus.platformCpus.includes(c))).toBe(false);
      } else {
        expect(placement.cpus.reason.length).toBeGreaterThan(0);
      }
    } finally {
      await adapter.close();
    }
    expect(alive(platformPid)).toBe(false);
    expect(allowedCpus()).toEqual(mine); // this process has its CPUs back
  });

  it('by default (auto) pins unless the machine is oversubscribed, and the description says which', async () => {
    const adapter = await MicroFunctionsAdapter.create({});
    try {
      const { cpus } = adapter.description.placement!;
      if (!cpus.pinned) expect(cpus.reason).toMatch(/oversubscribed|taskset|CPU/);
      else expect(allowedCpus()).toEqual(cpus.loaderCpus);
    } finally {
      await adapter.close();
    }
  });

  it('cpus: shared leaves both to the scheduler and says so', async () => {
    const mine = allowedCpus()!;
    const adapter = await MicroFunctionsAdapter.create({ cpus: 'shared' });
    try {
      expect(adapter.description.placement).toEqual({ platformProcess: 'separate', cpus: { pinned: false, reason: 'asked for (cpus: shared)' } });
      expect(allowedCpus()).toEqual(mine);
    } finally {
      await adapter.close();
    }
  });

  it('a start the platform refuses is its own typed error, and leaves no process behind', async () => {
    const before = new Set(descendants(process.pid));
    const mine = allowedCpus()!;
    await expect(MicroFunctionsAdapter.create({ platformConfig: { maxBodyBytes: -1 } })).rejects.toMatchObject({
      name: 'MfError',
      code: 'MF_CONFIG_INVALID',
      details: { option: 'maxBodyBytes' },
    });
    await expect(MicroFunctionsAdapter.create({ platformConfig: { broker: 'nats://127.0.0.1:1' } })).rejects.toMatchObject({
      code: 'MF_BROKER_UNREACHABLE',
      details: { broker: 'nats://127.0.0.1:1' },
    });
    expect(descendants(process.pid).filter((p) => !before.has(p) && alive(p))).toEqual([]);
    expect(allowedCpus()).toEqual(mine);
  });

  it('refuses cpus for a remote platform and an unknown cpus value', async () => {
    await expect(MicroFunctionsAdapter.create({ url: 'http://127.0.0.1:1', cpus: 'split' })).rejects.toMatchObject({ code: 'MF_CONFIG_INVALID', details: { option: 'cpus' } });
    await expect(MicroFunctionsAdapter.create({ cpus: 'half' as never })).rejects.toMatchObject({ code: 'MF_CONFIG_INVALID', details: { option: 'cpus' } });
  });

  it('never outlives the process that started it, even one killed with SIGKILL', async () => {
    const adapterUrl = new URL('../dist/harness/microfunctions/index.js', import.meta.url).href;
    const workloadsUrl = new URL('../dist/workloads/index.js', import.meta.url).href;
    const script = `
      const { MicroFunctionsAdapter } = await import(${JSON.stringify(adapterUrl)});
      const { getWorkload } = await import(${JSON.stringify(workloadsUrl)});
      const a = await MicroFunctionsAdapter.create({});
      const d = await a.deploy(getWorkload('noop-chain'), { length: 1 }, { name: 'orphan' });
      const call = await a.execute(d, { n: 1 });
      const m = await a.collectMetrics();
      console.log(JSON.stringify({ platform: m.processes.find((p) => p.role === 'frontend').pid, worker: call.platform.records[0].workerPid }));
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: parent.stdout }).once('line', resolve);
        parent.once('exit', (code) => reject(new Error(`the parent exited (${String(code)}) before starting its platform`)));
      });
      const { platform, worker } = JSON.parse(line) as { platform: number; worker: number };
      expect(alive(platform) && alive(worker)).toBe(true);
      process.kill(parent.pid!, 'SIGKILL'); // no exit hook runs: only the closed pipe tells the platform
      expect(await until(() => !alive(platform) && !alive(worker), 30_000)).toBe(true);
    } finally {
      if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
    }
  });
});
