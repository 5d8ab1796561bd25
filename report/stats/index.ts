/** Statistics of the testbed: pure functions over numbers and stored records (docs/statistics.md). */
export * from './distributions.js';
export * from './intervals.js';
export * from './percentiles.js';
export * from './random.js';
export * from './summary.js';
export * from './windows.js';
