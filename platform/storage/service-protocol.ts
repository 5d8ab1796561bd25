/** What the storage service (service.ts) and its clients inside functions (remote.ts) agree on. */

/** `POST` here, one StorageOp as the JSON body, `Authorization: Bearer <token>`; the answer is a StorageReply. */
export const STORAGE_PATH = '/v1/storage';

/** What a function needs to reach its app's storage. */
export interface StorageGrant {
  url: string;
  token: string;
}
