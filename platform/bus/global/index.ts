/** The global bus: the interface (types.ts) and its embedded durable implementation (JournalBus). See docs/bus.md. */
export * from './types.js';
export { JournalBus, type JournalBusOptions } from './journal-bus.js';
