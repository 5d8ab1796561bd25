/**
 * Bundles the sandbox agent with esbuild, next to tsc's output in dist/platform/sandbox/agent/: `agent.bundle.js`
 * (the agent and everything it imports from the platform: the ASL engine, sessions, storage, the local bus) and
 * `runtime-boot.bundle.js`, sharing one chunk (`bundle-<hash>.js`) so that both see one MfError class. Every sandbox
 * loads the agent as it starts, on the cold path: one file read and compiled instead of about a hundred modules
 * resolved and read one by one roughly halves that load (docs/architecture.md#cold-path). Packages stay external
 * (the agent requires jsonata and asl-validator lazily, from node_modules), and the output stays in the agent's own
 * folder, so paths made from import.meta.url (the worker and session entries) resolve as they do unbundled.
 * main.ts loads the bundle when it exists, else tsc's modules. Run by `npm run build` after tsc.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const AGENT_DIR = fileURLToPath(new URL('./', import.meta.url));

// Chunks of an earlier build have other hashes: remove them, so the folder holds this build's only.
for (const f of readdirSync(AGENT_DIR)) if (/^bundle-.*\.js(\.map)?$/.test(f) || /\.bundle\.js(\.map)?$/.test(f)) rmSync(join(AGENT_DIR, f));
await build({
  entryPoints: [join(AGENT_DIR, 'agent.js'), join(AGENT_DIR, 'runtime-boot.js')],
  outdir: AGENT_DIR,
  entryNames: '[name].bundle',
  chunkNames: 'bundle-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  // Stack traces point into the bundle; its map leads back to tsc's output (and that one's to the sources).
  sourcemap: 'linked',
  logLevel: 'warning',
});
