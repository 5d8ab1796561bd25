/**
 * A broker bucket (KV or object store) opened on first use and shared by every later call. A failed open is not
 * remembered: the next call tries again (the broker may have been out of reach for a moment). `what` names the
 * bucket in the typed error.
 */
import { MfError } from '../../errors.js';

export function lazyBucket<T>(what: string, open: () => Promise<T>): () => Promise<T> {
  let opening: Promise<T> | null = null;
  return () =>
    (opening ??= open().catch((err: unknown) => {
      opening = null;
      throw new MfError('MF_STORAGE_FAILED', `the broker could not open ${what}: ${(err as Error).message}`);
    }));
}
