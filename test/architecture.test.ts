/**
 * The top-level folders are the architecture, and imports may only go down it (docs/architecture.md#layout):
 *
 *   platform      the platform under test             imports nothing of ours outside platform/
 *   workloads     the workloads                        → platform
 *   harness       the harness's view of any platform   → platform, workloads
 *   report        statistics, charts, HTML: a library  → platform, harness
 *   experiments   the experiments and their runner     → platform, workloads, harness, report
 *   cli           the command line                     → any of them
 *
 * Tests (test/, and every *.test.ts beside its module) may import anything. No file may take part in an import
 * cycle, tests included. Type-only imports count: they couple the files as much as any other.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { extractImports, findCycles, importGraph, isTestFile, topFolder, type ImportEdge } from './helpers/imports.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Which other top-level folders a non-test file of each folder may import. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  platform: [],
  workloads: ['platform'],
  harness: ['platform', 'workloads'],
  report: ['platform', 'harness'],
  experiments: ['platform', 'workloads', 'harness', 'report'],
  cli: ['platform', 'workloads', 'harness', 'report', 'experiments'],
};

const graph = importGraph(ROOT);
const where = (e: ImportEdge): string => `${e.from}:${e.line} ${e.kind === 'dynamic' ? `import('${e.specifier}')` : `'${e.specifier}'`}`;

describe('the import graph is read completely', () => {
  it('extracts every form of import and nothing from comments, strings or templates', () => {
    const source = [
      "import { a, type B } from './a.js';",
      "import type { C } from '../c.js';",
      "import { type D } from './d.js';",
      "import * as e from './e.js';",
      "import './side-effect.js';",
      "export { f } from './f.js';",
      "export type { G } from './g.js';",
      "export * from './h.js';",
      "import ts from 'typescript';",
      'const lazy = async () => (await import(\'./lazy.js\')).x;',
      "type T = import('./t.js').T;",
      "import cjs = require('./cjs.js');",
      "// import { no } from './comment.js';",
      "/* export * from './block-comment.js'; */",
      "const s = \"import x from './in-a-string.js'\";",
      'const w = `const m = await import(\'./in-a-template.js\'); import y from "./also.js";`;',
      'const dynamic = (p: string) => import(p);',
    ].join('\n');
    expect(extractImports(source).map((r) => [r.specifier, r.kind, r.typeOnly, r.line])).toEqual([
      ['./a.js', 'import', false, 1],
      ['../c.js', 'import', true, 2],
      ['./d.js', 'import', true, 3],
      ['./e.js', 'import', false, 4],
      ['./side-effect.js', 'side-effect', false, 5],
      ['./f.js', 'export', false, 6],
      ['./g.js', 'export', true, 7],
      ['./h.js', 'export', false, 8],
      ['typescript', 'import', false, 9],
      ['./lazy.js', 'dynamic', false, 10],
      ['./t.js', 'import-type', true, 11],
      ['./cjs.js', 'import', false, 12],
    ]);
  });

  it('finds the whole repository: hundreds of files and edges, including imports known to exist', () => {
    expect(graph.files.length).toBeGreaterThan(200);
    expect(graph.edges.length).toBeGreaterThan(500);
    const has = (from: string, to: string) => graph.edges.some((e) => e.from === from && e.to === to);
    expect(has('harness/types.ts', 'workloads/index.ts')).toBe(true); // static
    expect(has('report/process.ts', 'report/run-dir.ts')).toBe(true);
    expect(has('experiments/runner/run-dir.ts', 'report/run-dir.ts')).toBe(true);
    expect(has('harness/registry.ts', 'harness/openwhisk/index.ts')).toBe(true); // dynamic import()
    expect(has('cli/commands/report.ts', 'report/process.ts')).toBe(true); // dynamic import()
    expect(has('test/helpers/harness.ts', 'report/process.ts')).toBe(true); // through dist/
    expect(has('experiments/runner/runner.ts', 'harness/registry.ts')).toBe(true);
  });

  it('knows every top-level folder that holds source', () => {
    const folders = new Set(graph.files.filter((f) => !isTestFile(f)).map(topFolder));
    const unknown = [...folders].filter((f) => f !== '.' && !Object.hasOwn(ALLOWED, f));
    expect(unknown, `top-level folders with source that the architecture table in test/architecture.test.ts does not list: ${unknown.join(', ')}. Add each to ALLOWED with the folders it may import (and to docs/architecture.md).`).toEqual([]);
  });
});

describe('architecture', () => {
  it('has no import cycle among files', () => {
    const cycles = findCycles(graph);
    const text = cycles.map(({ cycle, component }) => {
      const steps = cycle.slice(0, -1).map((from, i) => {
        const to = cycle[i + 1] as string;
        const e = graph.edges.find((x) => x.from === from && x.to === to) as ImportEdge;
        return `    ${where(e)} -> ${to}`;
      });
      const more = component.length > cycle.length - 1 ? `\n    (the cycle is part of a tangle of ${component.length} files: ${component.join(', ')})` : '';
      return `  ${cycle.join(' -> ')}\n${steps.join('\n')}${more}`;
    });
    expect(
      cycles.map((c) => c.cycle),
      `${cycles.length} import cycle(s). Break each by removing one of its imports, e.g. move what both files need into a module that imports neither:\n${text.join('\n')}\n`,
    ).toEqual([]);
  });

  it('imports only go down the layers: each folder imports only the folders below it', () => {
    const offending = graph.edges.filter((e) => {
      if (isTestFile(e.from)) return false;
      const from = topFolder(e.from);
      const to = topFolder(e.to);
      if (from === to) return false;
      return !(ALLOWED[from] ?? []).includes(to);
    });
    const lines = offending.map((e) => {
      const from = topFolder(e.from);
      const may = ALLOWED[from];
      const rule = may === undefined ? `${from}/ is not in the architecture table` : may.length === 0 ? `${from}/ may import nothing outside itself` : `${from}/ may import only ${may.join(', ')}`;
      return `  ${e.from} -> ${e.to}   (${where(e)}; ${rule})`;
    });
    expect(
      offending.map((e) => `${e.from} -> ${e.to}`),
      `${offending.length} import(s) against the layers (test/architecture.test.ts ALLOWED). Move the imported code down into a folder the importer may import, or the importing code up:\n${lines.join('\n')}\n`,
    ).toEqual([]);
  });
});
