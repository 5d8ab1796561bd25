/**
 * Starts the MicroFunctions platform in this process: the HTTP frontend and the sandboxes it creates.
 * The CLI's `platform start`, `npm start` and the tests all come through here.
 */
export type { PlatformHandle } from './platform.js';
export { startPlatform } from './platform.js';
