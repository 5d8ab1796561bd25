/**
 * What every benchmark script does once it has measured: write the raw samples and the manifest to a run folder
 * (before any statistics), then print the human table on stderr and one JSON object as the last stdout line.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { now } from '../../platform/clock.js';
import type { RunManifest } from '../../report/types.js';
import type { KeepAliveClient } from './http-client.js';

export const REPO = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * A new data folder under .mfbench/ for one platform of a bench. A platform owns its data folder (it locks it, and
 * restores the apps and executions it finds there), so platforms that run side by side each need their own, and a
 * fresh one never brings back what an interrupted bench left.
 */
export async function freshDataDir(label: string): Promise<string> {
  await mkdir(join(REPO, '.mfbench'), { recursive: true });
  return mkdtemp(join(REPO, '.mfbench', `${label}-`));
}

/** Removes the data folders of a bench's platforms, once they are closed. */
export async function removeDataDirs(dirs: string[]): Promise<void> {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}

/**
 * Once a benchmark has measured, in this order: writes the manifest and the raw samples to the run folder (`out`, or
 * results/runs/<run id>), computes the summary from the samples, and only then formats and prints it.
 */
export async function recordAndReport<S, Summary extends object>(
  manifest: RunManifest,
  samples: S,
  out: string | undefined,
  summarize: (samples: S) => Summary,
  table: (summary: Summary) => string,
): Promise<void> {
  const runDir = out ?? join(REPO, 'results', 'runs', manifest.runId);
  await mkdir(runDir, { recursive: true });
  await writeFile(join(runDir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  await writeFile(join(runDir, 'samples.json'), JSON.stringify(samples));
  const summary = summarize(samples);
  process.stderr.write(`\n${table(summary)}\n\nraw samples and manifest: ${runDir}\n`);
  process.stdout.write(JSON.stringify({ ...summary, run: runDir }) + '\n');
}

/** Runs `main` when `moduleUrl` is the script node was started with. */
export function runIfMain(moduleUrl: string, label: string, main: () => Promise<void>): void {
  if (!process.argv[1] || fileURLToPath(moduleUrl) !== process.argv[1]) return;
  main().catch((err: unknown) => {
    process.stderr.write(`${label} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** An ASL chain of Task states over the given functions, S1 -> S2 -> ... */
export function chainDefinition(fns: string[]) {
  const States: Record<string, unknown> = {};
  fns.forEach((fn, i) => {
    States[`S${i + 1}`] = i === fns.length - 1 ? { Type: 'Task', Resource: fn, End: true } : { Type: 'Task', Resource: fn, Next: `S${i + 2}` };
  });
  return { StartAt: 'S1', States };
}

/** Client-side latency of one POST, checked for success. */
export async function timedPost(client: KeepAliveClient, path: string, body: unknown): Promise<{ ms: number; answer: any }> {
  const t0 = now();
  const answer = await client.post(path, body);
  const ms = now() - t0;
  if (answer.status !== 200 || answer.body.status !== 'SUCCEEDED') {
    throw new Error(`bench request ${path} failed: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
  }
  return { ms, answer: answer.body };
}
