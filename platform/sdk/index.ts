/** The TypeScript SDK of the MicroFunctions HTTP API (docs/api.md). */
export { MicroFunctionsClient, errorFromResponse, type ClientOptions, type ExecuteOptions, type LogsOptions } from './client.js';
export { checkManifestSize, filesFromDir, inlineCode, inlineManifest, manifestBodySize } from './code.js';
export type * from './types.js';
