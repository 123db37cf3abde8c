import type { FsOp } from './fs-op.js';

/** What makes earlier changes durable: fsync(2) or fdatasync(2) on an inode (a file or a directory). */
export type BarrierKind = 'fsync' | 'fdatasync';

/**
 * Where a {@link MemoryBackend} reports every change it applies and every durability barrier, in order.
 * The crash model ({@link CrashJournal}) implements it; {@link NullJournal} ignores everything (a
 * backend created with `crashModel: false`, which then cannot `crash()`).
 */
export interface Journal {
  /** `op` was just applied to the live state. */
  record(op: FsOp): void;
  /**
   * fsync(2)/fdatasync(2) on inode `ino` just succeeded. For a file: fdatasync makes its data durable,
   * fsync its data and attributes. For a directory (`isDir`): fsync makes its entries durable.
   */
  barrier(kind: BarrierKind, ino: number, isDir: boolean): void;
  /** sync(2): everything so far is durable. */
  syncAll(): void;
}

/** A journal that keeps nothing: no crash model, no memory cost. */
export class NullJournal implements Journal {
  record(): void {
    // nothing kept
  }
  barrier(): void {
    // nothing kept
  }
  syncAll(): void {
    // nothing kept
  }
}
