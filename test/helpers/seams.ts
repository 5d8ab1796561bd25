/**
 * Real parts for the seam tests (placement, transport, composition): one app prepared from inline code, with its
 * sandboxes on the process backend, an execution store and the embedded global bus, wired as start.ts wires them.
 * Everything comes from the compiled dist/ because sandboxes run from there.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, type ResolvedConfig, type UserConfig } from '../../dist/platform/config.js';
import { MfError } from '../../dist/platform/errors.js';
import { JournalBus } from '../../dist/platform/bus/global/index.js';
import type { Checkpoint } from '../../dist/platform/protocol.js';
import { ProcessBackend } from '../../dist/platform/sandbox/process-backend.js';
import { AppRegistry, DeployedApp } from '../../dist/platform/frontend/apps.js';
import { prepareApp } from '../../dist/platform/frontend/deploy.js';
import { ExecutionStore } from '../../dist/platform/frontend/executions.js';
import { AppSandboxes } from '../../dist/platform/frontend/sandboxes.js';

/** `double` doubles `n`; `slow` waits 150 ms (so the agent flushes a checkpoint meanwhile) and adds one; `fail` throws. */
const SOURCES = {
  double: 'export const handler = async (e) => { console.log("doubling", e.n); return { n: e.n * 2 }; };',
  slow: 'export const handler = async (e) => { await new Promise((r) => setTimeout(r, 150)); return { n: e.n + 1 }; };',
  fail: 'export const handler = async () => { throw new Error("no luck"); };',
};

export const CHAIN = { StartAt: 'S1', States: { S1: { Type: 'Task', Resource: 'double', Next: 'S2' }, S2: { Type: 'Task', Resource: 'slow', End: true } } };
export const FAILING = { StartAt: 'F', States: { F: { Type: 'Task', Resource: 'fail', End: true } } };

export interface Parts {
  config: ResolvedConfig;
  apps: AppRegistry;
  executions: ExecutionStore;
  bus: JournalBus;
  app: DeployedApp;
  /** Where the sandboxes send checkpoints (set by the test to its placement's). */
  onCheckpoints: (items: Checkpoint[]) => void;
  close(): Promise<void>;
}

export async function makeParts(user: UserConfig, workflowsInSandbox: boolean): Promise<Parts> {
  const runDir = await mkdtemp(join(tmpdir(), 'mfseam-'));
  const config = resolveConfig({ dataDir: runDir, poolSize: 0, ...user });
  const backend = new ProcessBackend();
  const manifest = {
    name: 'seams',
    functions: Object.entries(SOURCES).map(([name, source]) => ({ name, handler: 'index.handler', code: { files: { 'index.mjs': Buffer.from(source).toString('base64') } } })),
    workflows: { chain: CHAIN, failing: FAILING },
  };
  const prepared = await prepareApp(manifest, config, join(runDir, 'apps'));
  const apps = new AppRegistry();
  const executions = new ExecutionStore({ maxCount: 100, maxBytes: 1024 * 1024 }, join(runDir, 'executions'));
  const bus = new JournalBus(join(runDir, 'bus'));
  const parts: Parts = {
    config,
    apps,
    executions,
    bus,
    app: null as unknown as DeployedApp,
    onCheckpoints: () => undefined,
    async close() {
      await parts.app.sandboxes.destroyAll({ close: true });
      await backend.close();
      await bus.close();
      await rm(runDir, { recursive: true, force: true });
    },
  };
  const sandboxes = new AppSandboxes(prepared, {
    config,
    backend,
    runDir,
    workflowsInSandbox,
    storage: async () => ({ ok: false, error: new MfError('MF_INTERNAL', 'no storage in this test').toJSON() }),
    checkpoints: (items) => parts.onCheckpoints(items),
    output: () => undefined,
    sessionEnded: () => undefined,
    pipeBroker: async () => ({ ok: false, error: new MfError('MF_INTERNAL', 'no sessions in this test').toJSON() }),
    sessionTask: async () => ({ ok: false as const, error: new MfError('MF_INTERNAL', 'no sessions in this test').toJSON() }),
  });
  parts.app = new DeployedApp(prepared, sandboxes, 1000);
  apps.add(parts.app);
  return parts;
}
