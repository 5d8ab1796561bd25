/**
 * The two sides of an A/B comparison as built trees: each commit is exported (`git archive`) into a folder under
 * this checkout's .mfbench/, gets this checkout's node_modules as hard links (`cp -al`: no install, no network,
 * seconds), and is built with `npm run build`. An export rather than `git worktree add`: the repository's own .git is shared with
 * other checkouts, and an export leaves nothing in it to prune if a comparison is killed halfway.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MfError } from '../../platform/errors.js';

export interface BuiltCommit {
  commit: string;
  /** The exported tree; its dist/ is what the trials import. */
  dir: string;
}

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, keeping its output (for the error when it fails). */
function run(command: string, args: string[], cwd: string): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function failed(step: string, ref: string, e: Exit | Error): MfError {
  const why = e instanceof Error ? e.message : (e.stderr.trim() || e.stdout.trim()).split('\n').slice(-5).join('\n');
  return new MfError('MF_AB_FAILED', `${step} failed for "${ref}": ${why}`, { step, ref });
}

/** The full commit id a ref names in `repo`; an unknown ref is MF_CONFIG_INVALID. */
export async function resolveCommit(repo: string, ref: string): Promise<string> {
  const e = await run('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], repo);
  if (e.code !== 0) throw new MfError('MF_CONFIG_INVALID', `"${ref}" names no commit in ${repo}`, { option: 'ref', value: ref });
  return e.stdout.trim();
}

/** Exports `commit` of `repo` to `dir`, links `repo`'s node_modules into it and builds it. */
export async function buildCommit(repo: string, commit: string, dir: string): Promise<BuiltCommit> {
  await mkdir(dir, { recursive: true });
  const steps: Array<[string, string, string[], string]> = [
    ['git archive', 'bash', ['-o', 'pipefail', '-c', `git archive --format=tar ${commit} | tar -x -C "${dir}"`], repo],
    ['linking node_modules', 'cp', ['-al', join(repo, 'node_modules'), join(dir, 'node_modules')], repo],
    ['npm run build', 'npm', ['run', 'build'], dir],
  ];
  for (const [step, command, args, cwd] of steps) {
    let e: Exit;
    try {
      e = await run(command, args, cwd);
    } catch (err) {
      throw failed(step, commit, err as Error);
    }
    if (e.code !== 0) throw failed(step, commit, e);
  }
  return { commit, dir };
}
