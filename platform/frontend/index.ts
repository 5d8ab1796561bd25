/**
 * Starts the MicroFunctions platform in this process: the HTTP frontend and the sandboxes it creates.
 * The CLI's `platform start`, `npm start` and the tests all come through here.
 */
export { startPlatform, type PlatformHandle } from './start.js';
export type { Platform } from './platform.js';
