import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMfError } from '../platform/errors.js';
import { NAME_PATTERN, type AppManifest } from '../platform/manifest.js';
import { getWorkload, loadWorkloadFromPath, WORKLOAD_NAMES, WORKLOADS } from './index.js';
import { noopChain } from './noop-chain/workload.js';
import { repoRoot } from './paths.js';

/** The handler file a Lambda-style "file.export" handler points to, if it exists in the code folder. */
function handlerFile(dir: string, handler: string): string | undefined {
  const file = handler.slice(0, handler.lastIndexOf('.'));
  return ['.mjs', '.js', '.cjs'].map((ext) => join(dir, file + ext)).find((p) => existsSync(p));
}

function codeDir(m: AppManifest, i: number): string {
  const code = m.functions[i]?.code;
  if (code === undefined || !('dir' in code)) throw new Error('expected code.dir');
  return code.dir;
}

describe.each(WORKLOAD_NAMES)('workload %s', (name) => {
  const w = getWorkload(name);

  it('describes itself', () => {
    expect(w.name).toBe(name);
    expect(w.description.length).toBeGreaterThan(10);
    expect(Object.keys(w.sizes).length).toBeGreaterThan(0);
    expect(w.workflow).toBe('main');
  });

  it('generateInput is deterministic in the seed, and seeds differ', () => {
    for (const size of Object.keys(w.sizes)) {
      expect(w.generateInput(size, 42)).toEqual(w.generateInput(size, 42));
      expect(JSON.stringify(w.generateInput(size, 42))).not.toBe(JSON.stringify(w.generateInput(size, 43)));
    }
  });

  it('generateInput rejects an unknown size, naming the known ones', () => {
    expect(() => w.generateInput('enormous', 1)).toThrow(/no size "enormous".*small/);
  });

  it("app() gives a manifest whose handler files exist in the source tree, and whose workflow names its functions", async () => {
    const m = w.app();
    expect(m.name).toBe(name);
    expect(m.functions.length).toBeGreaterThan(0);
    for (const [i, f] of m.functions.entries()) {
      expect(f.name).toMatch(NAME_PATTERN);
      const dir = codeDir(m, i);
      expect(relative(repoRoot(), dir).startsWith(join('workloads', name))).toBe(true);
      const file = handlerFile(dir, f.handler);
      expect(file, `${f.name}: ${f.handler} in ${dir}`).toBeDefined();
      const mod = (await import(file as string)) as { handler?: unknown };
      expect(typeof mod.handler).toBe('function');
    }
    const def = m.workflows[w.workflow] as { StartAt: string; States: Record<string, { Type: string; Resource?: string }> };
    expect(def.States[def.StartAt]).toBeDefined();
    const fnNames = new Set(m.functions.map((f) => f.name));
    for (const s of Object.values(def.States)) if (s.Type === 'Task') expect(fnNames.has(s.Resource ?? '')).toBe(true);
  });
});

describe('hello', () => {
  const w = WORKLOADS.hello;
  it('validateOutput accepts the right greeting and rejects wrong ones', async () => {
    const input = w.generateInput('small', 7);
    expect(input.name).toHaveLength(8);
    // The real handler, called the way the platform calls it.
    const { handler } = (await import(handlerFile(codeDir(w.app(), 0), 'index.handler') as string)) as {
      handler: (e: unknown, c: unknown) => Promise<unknown>;
    };
    const output = await handler(input, { functionName: 'hello', awsRequestId: 'r-1' });
    expect(w.validateOutput(input, output)).toEqual({ ok: true });
    expect(w.validateOutput(input, { greeting: 'hello someone-else', function: 'hello', requestId: 'r' })).toMatchObject({ ok: false });
    expect(w.validateOutput(input, { greeting: `hello ${input.name}`, function: 'other', requestId: 'r' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/functionName/),
    });
    expect(w.validateOutput(input, null)).toMatchObject({ ok: false });
    expect(w.validateOutput(input, 'hello')).toMatchObject({ ok: false });
  });
  it('takes no parameters', () => {
    expect(() => w.app({ length: 3 })).toThrow(/no parameter "length"/);
  });
});

describe('noop-chain', () => {
  it('builds a chain of N Tasks, one function per step, all sharing one code folder', () => {
    const m = noopChain.app({ length: '3' });
    expect(m.functions.map((f) => f.name)).toEqual(['step1', 'step2', 'step3']);
    expect(new Set(m.functions.map((_, i) => codeDir(m, i))).size).toBe(1);
    expect(m.workflows.main).toEqual({
      Comment: 'noop-chain: 3 Task states',
      StartAt: 'Step1',
      States: {
        Step1: { Type: 'Task', Resource: 'step1', Next: 'Step2' },
        Step2: { Type: 'Task', Resource: 'step2', Next: 'Step3' },
        Step3: { Type: 'Task', Resource: 'step3', End: true },
      },
    });
    expect(noopChain.app().functions).toHaveLength(5);
    expect(noopChain.app({ length: 100 }).functions).toHaveLength(100);
  });

  it.each([0, 101, '2.5', 'x', ''])('rejects length=%j with MF_BAD_REQUEST', (length) => {
    let caught: unknown;
    try {
      noopChain.app({ length });
    } catch (err) {
      caught = err;
    }
    expect(isMfError(caught, 'MF_BAD_REQUEST')).toBe(true);
    expect((caught as Error).message).toMatch(/"length" must be an integer from 1 to 100/);
  });

  it('validateOutput accepts the input itself and rejects any change', () => {
    const input = noopChain.generateInput('small', 3);
    expect(input.payload).toHaveLength(64);
    expect(noopChain.validateOutput(input, structuredClone(input))).toEqual({ ok: true });
    expect(noopChain.validateOutput(input, { ...input, n: input.n + 1 })).toMatchObject({ ok: false, reason: expect.stringMatching(/^\$\.n:/) });
    expect(noopChain.validateOutput(input, { n: input.n })).toMatchObject({ ok: false, reason: '$.payload: missing' });
    expect(noopChain.validateOutput(input, { ...input, extra: 1 })).toMatchObject({ ok: false, reason: '$.extra: unexpected' });
    expect(noopChain.validateOutput({ n: 1 }, [1])).toMatchObject({ ok: false });
    expect(noopChain.generateInput('tiny', 3)).toEqual({ n: noopChain.generateInput('tiny', 3).n });
  });
});

describe('loadWorkloadFromPath', () => {
  it('maps a registered workload folder, relative or absolute, and a bare name', () => {
    const rel = loadWorkloadFromPath('workloads/noop-chain', repoRoot());
    expect(rel.kind).toBe('workload');
    expect(rel.kind === 'workload' && rel.workload.name).toBe('noop-chain');
    const abs = loadWorkloadFromPath(join(repoRoot(), 'workloads', 'hello'), '/');
    expect(abs.kind === 'workload' && abs.workload.name).toBe('hello');
    const bare = loadWorkloadFromPath('hello', tmpdir());
    expect(bare.kind === 'workload' && bare.workload.name).toBe('hello');
    expect(rel.manifest({ length: 2 }).functions).toHaveLength(2);
  });

  it('deploys any other folder from its app.json, code dirs relative to the folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mf-appjson-'));
    mkdirSync(join(dir, 'functions', 'echo'), { recursive: true });
    writeFileSync(join(dir, 'functions', 'echo', 'index.mjs'), 'export const handler = async (e) => e;\n');
    writeFileSync(
      join(dir, 'app.json'),
      JSON.stringify({
        name: 'echo-app',
        functions: [{ name: 'echo', handler: 'index.handler' }, { name: 'echo2', handler: 'index.handler', code: { dir: 'functions/echo' } }],
        workflows: { main: { StartAt: 'A', States: { A: { Type: 'Task', Resource: 'echo', End: true } } } },
      }),
    );
    const loaded = loadWorkloadFromPath(dir);
    expect(loaded.kind).toBe('app-json');
    const m = loaded.manifest();
    expect(m.name).toBe('echo-app');
    expect(m.functions.map((f) => f.code)).toEqual([{ dir: join(dir, 'functions', 'echo') }, { dir: join(dir, 'functions', 'echo') }]);
    expect(() => loaded.manifest({ x: 1 })).toThrow(/takes no parameters/);
  });

  it('rejects a folder that is neither, and a path that does not exist', () => {
    const empty = mkdtempSync(join(tmpdir(), 'mf-empty-'));
    expect(() => loadWorkloadFromPath(empty)).toThrow(/neither a registered workload/);
    expect(() => loadWorkloadFromPath(join(empty, 'nope'))).toThrow(/no such folder/);
    try {
      loadWorkloadFromPath(empty);
    } catch (err) {
      expect(isMfError(err, 'MF_WORKLOAD_NOT_FOUND')).toBe(true);
    }
  });

  it('rejects an app.json that is not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mf-badjson-'));
    writeFileSync(join(dir, 'app.json'), '{ nope');
    expect(() => loadWorkloadFromPath(dir)).toThrow(/is not valid JSON/);
  });
});
