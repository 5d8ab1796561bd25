/**
 * Plain-text tables for the terminal: columns padded with spaces, numbers right-aligned. No colours.
 * The testbed's one table formatter: the CLI (through cli/lib/table.ts) and the benchmark scripts (experiments/bench)
 * both print with it. It only lays out values computed before (docs/conventions.md#6: nothing here measures or computes).
 */

export type Cell = string | number | null | undefined;

export interface TableOptions {
  /** Alignment per column; by default a column of numbers (or empty cells) is right-aligned and any other left-aligned. */
  align?: ReadonlyArray<'left' | 'right'>;
}

/**
 * Formats rows under a header and a rule; numeric cells are right-aligned. With `header` null, the rows alone (a
 * list of labelled values); the number of columns is then that of the longest row.
 */
export function formatTable(header: readonly string[] | null, rows: readonly (readonly Cell[])[], options: TableOptions = {}): string {
  const text = (c: Cell): string => (c === null || c === undefined ? '-' : typeof c === 'number' ? formatNumber(c) : c);
  const body = rows.map((r) => r.map(text));
  const all = header === null ? body : [header, ...body];
  const columns = header?.length ?? Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const right = widths.map((_, i) => {
    const align = options.align?.[i];
    if (align !== undefined) return align === 'right';
    return rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === null || r[i] === undefined);
  });
  const line = (r: readonly string[]): string =>
    r.map((c, i) => (right[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  const head = header === null ? [] : [line(header), line(widths.map((w) => '-'.repeat(w)))];
  return [...head, ...body.map(line)].join('\n');
}

/** Integers as they are, other numbers with 3 significant decimals at most. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(1) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(3);
}
