/** Plain-text tables for the terminal: columns padded with spaces, numbers right-aligned. No colours. */

export type Cell = string | number | null | undefined;

/** Formats rows under a header; numeric cells are right-aligned. */
export function formatTable(header: string[], rows: Cell[][]): string {
  const text = (c: Cell): string => (c === null || c === undefined ? '-' : typeof c === 'number' ? formatNumber(c) : c);
  const all = [header, ...rows.map((r) => r.map(text))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === null || r[i] === undefined));
  const line = (r: string[]): string =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...all.slice(1).map(line)].join('\n');
}

/** Integers as they are, other numbers with 3 significant decimals at most. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(1) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(3);
}
