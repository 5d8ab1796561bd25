/**
 * The sandbox side of hierarchical storage: the local tier (this sandbox's memory: fast, not durable) and the
 * routing of each operation across the local and global tiers, as docs/storage.md defines the options.
 */
import { MfError, toMfError } from '../errors.js';
import { checkOp, type StorageOp, type StorageReply, type StorageResult, type StoredValue } from './types.js';

/** Sends an operation to the global tier (through the frontend) and resolves with its reply. */
export type GlobalTier = (op: StorageOp) => Promise<StorageReply>;

export class SandboxStorage {
  private readonly local = new Map<string, StoredValue>();

  constructor(private readonly global: GlobalTier) {}

  /** Runs one operation; never rejects (errors are replies). */
  async handle(op: StorageOp): Promise<StorageReply> {
    try {
      checkOp(op);
      return { ok: true, value: await this.run(op) };
    } catch (err) {
      return { ok: false, error: toMfError(err).toJSON() };
    }
  }

  private async run(op: StorageOp): Promise<StorageResult> {
    switch (op.op) {
      case 'get': {
        // The local tier holds only what was written to it here, so a global value is never served stale from a
        // copy another sandbox has since overwritten.
        if (op.tier !== 'global') {
          const hit = this.local.get(op.key);
          if (hit !== undefined || op.tier === 'local') return hit ?? null;
        }
        return (await this.globally(op)) as StoredValue | null;
      }
      case 'put':
        if (op.mode === 'global') {
          await this.globally(op);
          this.local.delete(op.key); // a local copy written earlier would now shadow the newer global value
          return undefined;
        }
        this.local.set(op.key, op.value);
        if (op.mode === 'local-then-global') {
          this.globally(op).catch((err: unknown) => process.stderr.write(`mfbench storage: asynchronous global write of "${op.key}" failed: ${String(err)}\n`));
        }
        return undefined;
      case 'delete': {
        const local = op.tier === 'global' ? false : this.local.delete(op.key);
        const global = op.tier === 'local' ? false : ((await this.globally(op)) as boolean);
        return local || global;
      }
      case 'list':
        if (op.tier === 'local') return [...this.local.keys()].filter((k) => k.startsWith(op.prefix)).sort();
        return this.globally(op);
      case 'increment':
        this.local.delete(op.key);
        return this.globally(op);
    }
  }

  private async globally(op: StorageOp): Promise<StorageResult> {
    const reply = await this.global(op);
    if (!reply.ok) throw MfError.fromJSON(reply.error);
    return reply.value;
  }
}
