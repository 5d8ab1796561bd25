/**
 * Gathers the manifest of a run: everything needed to say where a number came from (commit, runtime, machine,
 * config). Written next to the raw samples of every benchmark and experiment run. Its shape, RunManifest, is in
 * report/types.ts, because the report reads it back.
 */
import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem, hostname } from 'node:os';
import type { RunManifest } from '../report/types.js';

export function runManifest(kind: string, config: Record<string, unknown>): RunManifest {
  const startedAt = new Date().toISOString();
  const cpu = cpus();
  return {
    runId: `${kind}-${startedAt.replace(/[:.]/g, '-')}`,
    kind,
    startedAt,
    git: gitState(),
    node: process.version,
    kernel: release(),
    cpu: { model: cpu[0]?.model ?? 'unknown', count: cpu.length },
    memoryBytes: totalmem(),
    host: hostname(),
    timer: 'performance.timeOrigin + performance.now() (platform/clock.ts), milliseconds',
    config,
  };
}

function gitState(): RunManifest['git'] {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: null, dirty: null };
  }
}
