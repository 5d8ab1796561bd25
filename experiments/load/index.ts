/** Load generation: schedules, the open-loop runner, drift checks, trace replay and autocannon (docs/load.md). */
export * from './autocannon.js';
export * from './azure-trace.js';
export * from './drift.js';
export * from './open-loop.js';
export * from './schedule.js';
