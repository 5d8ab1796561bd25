/**
 * `mfbench doctor`: what this machine has, and what each thing enables. Always exits 0: it reports, it does not judge.
 * With `--platform <name>` (and its --url/--token or environment), it also checks that platform end to end before a
 * run: connect, deploy, call, storage, remove (harness/check.ts).
 * Docker is asked over its Unix socket (GET /_ping, then /version) with node:http, so no Docker client is needed.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, freemem, release, totalmem, type as osType } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Argv } from 'yargs';
import { checkPlatform, type PlatformCheckStep } from '../../harness/check.js';
import { ADAPTER_NAMES } from '../../harness/registry.js';
import { runtimeImageContent } from '../../platform/sandbox/docker/image.js';
import type { GlobalOptions } from '../lib/args.js';
import { defineCommand } from '../lib/command.js';
import { EXIT, out, outJson } from '../lib/output.js';

export interface Check {
  available: boolean;
  /** What was found (a version, a path) or why not. */
  detail: string;
  /** What it makes possible. */
  enables: string;
}

export interface DoctorReport {
  node: Check & { version: string };
  os: { type: string; release: string; arch: string };
  cpu: { count: number; model: string };
  memory: { totalBytes: number; freeBytes: number };
  docker: Check & { socket: string; version: string | null };
  /** The docker backend's runtime image for this host's node (`mfbench images build`). */
  dockerImage: Check & { tag: string | null };
  bwrap: Check & { path: string | null };
  chromium: Check & { path: string | null };
}

const MIN_NODE = [20, 19] as const;

export async function runDoctor(): Promise<DoctorReport> {
  const [docker, bwrap] = await Promise.all([checkDocker(), checkBwrap()]);
  const dockerImage = await checkDockerImage(docker);
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const nodeOk = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  const cpuList = cpus();
  return {
    node: {
      available: nodeOk,
      version: process.version,
      detail: `${process.version}${nodeOk ? '' : ` (need >= ${MIN_NODE.join('.')})`}`,
      enables: 'the platform with the process backend, the workloads, the tests',
    },
    os: { type: osType(), release: release(), arch: process.arch },
    cpu: { count: cpuList.length, model: cpuList[0]?.model.trim() ?? 'unknown' },
    memory: { totalBytes: totalmem(), freeBytes: freemem() },
    docker,
    dockerImage,
    bwrap,
    chromium: checkChromium(),
  };
}

function dockerSocket(): string {
  const host = process.env.DOCKER_HOST;
  return host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
}

function dockerGet(socketPath: string, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', timeout: timeoutMs, headers: { host: 'docker' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

async function checkDocker(): Promise<DoctorReport['docker']> {
  const socket = dockerSocket();
  const enables = 'the docker sandbox backend (one container per app) and the Docker tests';
  if (!existsSync(socket)) return { available: false, socket, version: null, detail: `no Docker socket at ${socket}`, enables };
  try {
    const ping = await dockerGet(socket, '/_ping', 2000);
    if (ping.status !== 200) return { available: false, socket, version: null, detail: `${socket}: /_ping answered HTTP ${ping.status}`, enables };
    let version: string | null = null;
    try {
      const v = await dockerGet(socket, '/version', 2000);
      version = (JSON.parse(v.body) as { Version?: string }).Version ?? null;
    } catch {
      version = null;
    }
    return { available: true, socket, version, detail: `Docker engine ${version ?? '(version unknown)'} at ${socket}`, enables };
  } catch (err) {
    return { available: false, socket, version: null, detail: `${socket}: ${(err as Error).message}`, enables };
  }
}

async function checkDockerImage(docker: DoctorReport['docker']): Promise<DoctorReport['dockerImage']> {
  const enables = 'sandboxes on the docker backend (`--backend docker`) and the Docker tests';
  let tag: string;
  try {
    tag = (await runtimeImageContent()).tag;
  } catch (err) {
    return { available: false, tag: null, detail: (err as Error).message, enables };
  }
  if (!docker.available) return { available: false, tag, detail: `${tag}: cannot tell, no engine answers`, enables };
  try {
    const r = await dockerGet(docker.socket, `/images/${encodeURIComponent(tag)}/json`, 2000);
    if (r.status === 200) return { available: true, tag, detail: `${tag} present`, enables };
    return { available: false, tag, detail: `${tag} missing: run \`mfbench images build\``, enables };
  } catch (err) {
    return { available: false, tag, detail: `${tag}: ${(err as Error).message}`, enables };
  }
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

async function checkBwrap(): Promise<DoctorReport['bwrap']> {
  const enables = 'the bwrap sandbox backend (Linux namespaces, no daemon)';
  const path = onPath('bwrap');
  if (path === null) return { available: false, path, detail: 'bwrap is not on PATH (apt-get install bubblewrap)', enables };
  const version = await new Promise<string>((resolve) => {
    execFile(path, ['--version'], { timeout: 2000 }, (err, stdout) => resolve(err ? 'version unknown' : stdout.trim()));
  });
  return { available: true, path, detail: `${version} at ${path}`, enables };
}

function checkChromium(): DoctorReport['chromium'] {
  const enables = 'the browser tests of the web console';
  const path = '/usr/bin/chromium';
  try {
    accessSync(path, constants.X_OK);
    return { available: true, path, detail: path, enables };
  } catch {
    return { available: false, path: null, detail: `no executable at ${path}`, enables };
  }
}

function line(name: string, c: Check): string {
  return `${c.available ? 'yes' : 'no '}  ${name.padEnd(9)} ${c.detail}\n       ${c.available ? 'enables' : 'needed for'}: ${c.enables}`;
}

export const doctorCommand = defineCommand({
  command: 'doctor',
  describe: 'what this machine has (Node, CPUs, memory, Docker, bwrap, Chromium) and what that enables',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .option('json', { type: 'boolean', default: false, describe: 'print only the report JSON on stdout' })
      .option('platform', { type: 'string', choices: ADAPTER_NAMES, describe: 'also check this platform end to end: connect, deploy, call, storage, remove (docs/platforms.md)' })
      .option('url', { type: 'string', describe: 'the platform\'s address (else its environment variable)' })
      .option('token', { type: 'string', describe: 'the platform\'s credentials (else its environment variables)' }),
  handler: async (argv) => {
    const machine = await runDoctor();
    const platform = argv.platform === undefined ? undefined : { name: argv.platform, steps: await checkPlatform(argv.platform, { ...(argv.url !== undefined ? { url: argv.url } : {}), ...(argv.token !== undefined ? { token: argv.token } : {}) }) };
    const r: DoctorReport & { platform?: { name: string; steps: PlatformCheckStep[] } } = platform === undefined ? machine : { ...machine, platform };
    if (argv.json) {
      outJson(r);
      return EXIT.ok;
    }
    const gib = (b: number): string => `${(b / 1024 ** 3).toFixed(1)} GiB`;
    out(`machine: ${r.os.type} ${r.os.release} ${r.os.arch}; ${r.cpu.count} CPU${r.cpu.count === 1 ? '' : 's'} (${r.cpu.model}); memory ${gib(r.memory.totalBytes)} (${gib(r.memory.freeBytes)} free)`);
    if (r.cpu.count <= 2) out('       note: with 2 CPUs or fewer, run timing-sensitive work alone (the test suite runs files serially)');
    out(line('node', r.node));
    out(line('docker', r.docker));
    out(line('image', r.dockerImage));
    out(line('bwrap', r.bwrap));
    out(line('chromium', r.chromium));
    if (platform !== undefined) {
      out(`platform ${platform.name}:`);
      for (const s of platform.steps) out(`${s.ok ? 'yes' : 'no '}  ${s.step.padEnd(9)} ${s.detail} (${Math.round(s.ms)} ms)`);
    }
    return EXIT.ok;
  },
});
