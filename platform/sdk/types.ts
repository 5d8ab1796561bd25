/** The answers of the HTTP API, as the SDK returns them: one declaration, shared with the frontend (platform/api.ts). */
export type * from '../api.js';
