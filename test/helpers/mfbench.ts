/**
 * Real `mfbench` processes for the multi-process tests (docs/distributed.md): host agents and remote frontends
 * spawned from the compiled CLI, each read from its first stdout line, and stopped by pid. Every process spawned
 * here is remembered so that `stopAll()` (in afterAll) ends each one by its own pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { alive } from './platform.js';
import { childrenOf } from './processes.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');

export type Endpoint = { url: string; token: string };

const children: ChildProcess[] = [];
const dirs: string[] = [];

export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Spawns `mfbench <args>` and resolves with its first stdout line as JSON (rejects with its stderr if it exits first). */
export async function spawnMfbench<T>(args: string[]): Promise<{ child: ChildProcess; first: T; stderr: () => string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  // A process that fails on its own (not killed by a test) says why in the test output.
  child.once('exit', (code, signal) => {
    if (signal === null && code !== 0) console.log(`mfbench ${args.slice(0, 2).join(' ')} exited (${code}):\n${stderr}`);
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`mfbench ${args.slice(0, 2).join(' ')} exited (${code}):\n${stderr}`)));
  });
  return { child, first: JSON.parse(line) as T, stderr: () => stderr };
}

export function startHost(broker: string, hostId: string, dataDir: string, options: { capacity?: number; extra?: string[] } = {}) {
  const { capacity = 3, extra = [] } = options;
  return spawnMfbench<{ hostId: string; pid: number }>(['host', 'start', '--broker', broker, '--host-id', hostId, '--capacity', String(capacity), '--backend', 'process', '--data-dir', dataDir, '--allow-local-code', ...extra]);
}

export function startFrontend(broker: string, dataDir: string) {
  return spawnMfbench<Endpoint>(['platform', 'start', '--hosts', 'remote', '--broker', broker, '--port', '0', '--data-dir', dataDir, '--backend', 'process']);
}

/** Runs `mfbench <args>` to its exit: the exit code and everything it printed. */
export async function runMfbench(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, out };
}

/** Sends `signal` to the child by its pid and waits for it to exit. */
export async function killByPid(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid!, signal);
  await exited;
}

/** SIGTERMs every process spawned here (each by its pid) and removes the temporary folders. */
export async function stopAll(): Promise<void> {
  for (const child of children.splice(0)) await killByPid(child, 'SIGTERM');
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

/** Every process under `pid` (a host agent's sandboxes and their workers): to be stopped by pid once it is killed. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  for (let level = childrenOf([pid]); level.length > 0; level = childrenOf(level)) out.push(...level);
  return out;
}

/** SIGKILLs each process still alive, by pid (what a killed host agent left). */
export function killLeftovers(pids: Iterable<number>): void {
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
}
