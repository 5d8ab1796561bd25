/**
 * The project's import graph, for test/architecture.test.ts: every project `.ts` file and the files it imports by
 * relative path. Specifiers are read from the TypeScript syntax tree (not by pattern), so an `import` in a comment,
 * a string or a template literal (e.g. the wrapper source an adapter generates) is not taken for one.
 *
 * An import through dist/ (tests import the compiled tree) counts as an import of the source file it was compiled
 * from, so the graph is the same before and after `npm run build`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** How a file names another: `import … from`, `export … from`, `import '…'`, `import('…')`, or `import('…').T` in a type. */
export type ImportKind = 'import' | 'export' | 'side-effect' | 'dynamic' | 'import-type';

export interface ImportRef {
  specifier: string;
  kind: ImportKind;
  /** `import type`, `export type`, or every named binding marked `type`: erased at run time. */
  typeOnly: boolean;
  /** 1-based line of the specifier. */
  line: number;
}

/** One relative import between two files, as repo-relative POSIX paths. */
export interface ImportEdge extends ImportRef {
  from: string;
  to: string;
}

export interface ImportGraph {
  /** Every project .ts file, repo-relative, sorted. */
  files: string[];
  /** Every relative import of those files (targets through dist/ mapped back to their source). */
  edges: ImportEdge[];
}

/** Folders that hold no project source: dependencies, build output, run results, git's own, run-time data (.mfbench/, where mfbench ab builds). */
const SKIP = new Set(['node_modules', 'dist', 'results', '.git', '.mfbench']);

const posix = (p: string): string => p.split(sep).join('/');

/** Every import/export specifier of a TypeScript source, relative or not, in source order. */
export function extractImports(source: string, fileName = 'inline.ts'): ImportRef[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: ImportRef[] = [];
  const add = (lit: ts.StringLiteral, kind: ImportKind, typeOnly: boolean): void => {
    out.push({ specifier: lit.text, kind, typeOnly, line: sf.getLineAndCharacterOfPosition(lit.getStart(sf)).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      if (clause === undefined) add(node.moduleSpecifier, 'side-effect', false);
      else {
        const bindings = clause.namedBindings;
        const allNamedAreTypes = clause.name === undefined && bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
        add(node.moduleSpecifier, 'import', clause.isTypeOnly || allNamedAreTypes);
      }
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.exportClause;
      const allNamedAreTypes = clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly);
      add(node.moduleSpecifier, 'export', node.isTypeOnly || allNamedAreTypes);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      add(node.moduleReference.expression, 'import', node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg !== undefined && ts.isStringLiteral(arg)) add(arg, 'dynamic', false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal, 'import-type', true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Every project .ts file under `root` (declaration files and the SKIP folders left out), repo-relative, sorted. */
export function projectFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (SKIP.has(name)) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) files.push(posix(relative(root, path)));
    }
  };
  walk(root);
  return files.sort();
}

/**
 * The repo-relative file a relative specifier of `from` names: `.js` is the compiled name of a `.ts` source
 * (NodeNext), and a path through dist/ stands for its source. Null when the specifier is not relative.
 */
export function resolveSpecifier(root: string, from: string, specifier: string): string | null {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return null;
  let target = posix(relative(root, resolve(root, dirname(from), specifier)));
  if (target.startsWith('dist/')) target = target.slice('dist/'.length);
  if (target.endsWith('.js')) {
    const source = `${target.slice(0, -'.js'.length)}.ts`;
    if (existsSync(join(root, source)) || !existsSync(join(root, target))) target = source;
  }
  return target;
}

/** Reads every project file and returns the graph of its relative imports. */
export function importGraph(root: string): ImportGraph {
  const files = projectFiles(root);
  const edges: ImportEdge[] = [];
  for (const from of files) {
    for (const ref of extractImports(readFileSync(join(root, from), 'utf8'), from)) {
      const to = resolveSpecifier(root, from, ref.specifier);
      if (to !== null) edges.push({ ...ref, from, to });
    }
  }
  return { files, edges };
}

/** The top-level folder of a repo-relative path ('.' for a file at the root). */
export function topFolder(path: string): string {
  const i = path.indexOf('/');
  return i < 0 ? '.' : path.slice(0, i);
}

/** Test code: anything under test/, and every *.test.ts beside its module. */
export function isTestFile(path: string): boolean {
  return topFolder(path) === 'test' || path.endsWith('.test.ts');
}

/**
 * The import cycles among files: one per strongly connected component of the graph (Tarjan), given as the
 * shortest cycle through the component's first file, `[a, b, …, a]`, plus every file of the component.
 */
export function findCycles(graph: ImportGraph): Array<{ cycle: string[]; component: string[] }> {
  const next = new Map<string, string[]>();
  for (const f of graph.files) next.set(f, []);
  for (const e of graph.edges) {
    const out = next.get(e.from);
    if (out !== undefined && next.has(e.to) && !out.includes(e.to)) out.push(e.to);
  }
  for (const out of next.values()) out.sort();

  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  // Iterative Tarjan: the graph is a few hundred files, but recursion depth should not depend on import chains.
  for (const start of graph.files) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; i: number }> = [{ node: start, i: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1] as { node: string; i: number };
      const succ = next.get(top.node) as string[];
      if (top.i < succ.length) {
        const w = succ[top.i++] as string;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ node: w, i: 0 });
        } else if (onStack.has(w)) low.set(top.node, Math.min(low.get(top.node) as number, index.get(w) as number));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node) as number, low.get(top.node) as number));
      if (low.get(top.node) === index.get(top.node)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop() as string;
          onStack.delete(w);
          component.push(w);
        } while (w !== top.node);
        const selfLoop = (next.get(top.node) as string[]).includes(top.node);
        if (component.length > 1 || selfLoop) components.push(component.sort());
      }
    }
  }

  return components.map((component) => {
    const members = new Set(component);
    const first = component[0] as string;
    // Breadth-first from `first` inside the component, back to `first`: the shortest cycle through it.
    const cameFrom = new Map<string, string>();
    const queue = [first];
    let closing: string | null = null;
    while (queue.length > 0 && closing === null) {
      const v = queue.shift() as string;
      for (const w of next.get(v) as string[]) {
        if (!members.has(w)) continue;
        if (w === first) {
          closing = v;
          break;
        }
        if (!cameFrom.has(w)) {
          cameFrom.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [first];
    for (let v = closing as string; v !== first; v = cameFrom.get(v) as string) path.splice(1, 0, v);
    path.push(first);
    return { cycle: path, component };
  });
}
