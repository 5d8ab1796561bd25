/**
 * A two-function app whose functions talk only through context.storage (test/fixtures/storage-app): `put` stores a
 * value and a local-tier marker, `get` reads them back. Workflow `main` is the plain chain put -> get.
 */
import { join } from 'node:path';
import type { CallResult, Deployment, PlatformAdapter } from '../../dist/harness/types.js';
import type { AnyWorkload } from '../../dist/workloads/index.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'storage-app');

export interface StorageAppInput {
  key: string;
  value: unknown;
  /** The count of puts get must see (unchecked when absent). */
  puts?: number | null;
}

export interface StorageAppOutput {
  value: unknown;
  local: unknown;
  puts: number;
}

export function storageAppWorkload(): AnyWorkload {
  return {
    name: 'storage-app',
    description: 'test: two functions passing data through context.storage',
    sizes: {},
    params: {},
    workflow: 'main',
    app: () => ({
      name: 'storage-app',
      functions: [
        { name: 'put', handler: 'index.handler', code: { dir: join(DIR, 'put') } },
        { name: 'get', handler: 'index.handler', code: { dir: join(DIR, 'get') } },
      ],
      workflows: { main: { StartAt: 'Put', States: { Put: { Type: 'Task', Resource: 'put', Next: 'Get' }, Get: { Type: 'Task', Resource: 'get', End: true } } } },
    }),
    generateInput: (_size: string, seed: number) => ({ key: `k${seed}`, value: { seed } }),
    // What get must read: the value (null: none stored), never put's local marker, and the count when given.
    validateOutput: (input: StorageAppInput, output: unknown) => {
      const o = (output ?? {}) as Partial<StorageAppOutput>;
      const want = { value: input.value ?? null, local: null, ...(input.puts !== undefined ? { puts: input.puts } : {}) };
      const got = { value: o.value ?? null, local: o.local ?? null, ...(input.puts !== undefined ? { puts: o.puts ?? null } : {}) };
      return JSON.stringify(got) === JSON.stringify(want) ? { ok: true as const } : { ok: false as const, reason: `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}` };
    },
  };
}

/** Executes put -> get once per seed (key `k<seed>`, value `{seed}`), each checked by the validator: the count of puts so far included. */
export async function putThenGet(adapter: PlatformAdapter, d: Deployment, seeds: readonly number[] = [1, 2]): Promise<CallResult[]> {
  const results: CallResult[] = [];
  for (const seed of seeds) results.push(await adapter.execute(d, { key: `k${seed}`, value: { seed }, puts: seed }));
  return results;
}

/** Deploys the storage app under `name`, runs putThenGet once, and removes it (the live tests' round trip). */
export async function storageAppRoundTrip(adapter: PlatformAdapter, name: string): Promise<CallResult> {
  const d = await adapter.deploy(storageAppWorkload(), {}, { name });
  try {
    return (await putThenGet(adapter, d, [1]))[0] as CallResult;
  } finally {
    await adapter.remove(d);
  }
}
