/** The CLI's tables: the testbed's one table formatter, in report/table.ts (the benchmark scripts use it too). */
export { formatNumber, formatTable, type Cell } from '../../report/table.js';
