/** The regression gate and the history of a metric across runs (docs/statistics.md). */
export * from './bootstrap.js';
export * from './compare.js';
export * from './history.js';
export * from './stream.js';
