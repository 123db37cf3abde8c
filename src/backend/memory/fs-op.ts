/**
 * The changes a {@link MemoryBackend} makes to its file system, as records. Every mutation the backend
 * performs is one of these, applied to its live {@link FsState} and handed to the crash model's journal,
 * which can replay any subset of them on a durable snapshot to build the states a crash could leave.
 *
 * Two families, because real file systems persist them differently:
 * - **metadata** operations (`create`, `link`, `unlink`, `rename`, `setattr`) go through the journal,
 *   in order;
 * - **data** operations (`write`, `truncate`) belong to one inode each and reach the disk on that
 *   inode's writeback, independently of the journal.
 *
 * @module
 */
import type { InodeAttrs, InodeKind } from './inode.js';

/** A new inode and its first directory entry: a file, directory, symlink or FIFO. */
export interface CreateOp {
  readonly type: 'create';
  readonly dir: number;
  readonly name: string;
  readonly ino: number;
  readonly kind: InodeKind;
  readonly attrs: InodeAttrs;
  /** A symlink's content. */
  readonly target?: string;
}

/** A further directory entry (hard link) for an existing inode. */
export interface LinkOp {
  readonly type: 'link';
  readonly dir: number;
  readonly name: string;
  readonly ino: number;
  readonly ctimeMs: number;
}

/** Removes a directory entry (unlink, or rmdir of an empty directory). */
export interface UnlinkOp {
  readonly type: 'unlink';
  readonly dir: number;
  readonly name: string;
  readonly ctimeMs: number;
}

/** Moves an entry, replacing whatever `toName` named (rename(2)). */
export interface RenameOp {
  readonly type: 'rename';
  readonly fromDir: number;
  readonly fromName: string;
  readonly toDir: number;
  readonly toName: string;
  readonly ctimeMs: number;
}

/** Changes an inode's attributes (chmod, chown, utimes, and the times other calls touch). */
export interface SetattrOp {
  readonly type: 'setattr';
  readonly ino: number;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly atimeMs?: number;
  readonly mtimeMs?: number;
  readonly ctimeMs?: number;
}

/** Writes bytes into a file at an offset (extending it, with a hole of zeros if past the end). */
export interface WriteOp {
  readonly type: 'write';
  readonly ino: number;
  readonly offset: number;
  readonly data: Uint8Array;
  readonly mtimeMs: number;
  /**
   * `data` is a private copy that nobody will ever change: a state applying the op may keep references
   * into it (as copy-on-write chunks) instead of copying it.
   */
  readonly frozen?: boolean;
}

/** Sets a file's size, dropping bytes past it or adding a hole of zeros. */
export interface TruncateOp {
  readonly type: 'truncate';
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

/** A metadata operation: journaled, persisted in order. */
export type MetaOp = CreateOp | LinkOp | UnlinkOp | RenameOp | SetattrOp;
/** A data operation: persisted with its inode's data, independently of the journal. */
export type DataOp = WriteOp | TruncateOp;
/** Any change to the file system. */
export type FsOp = MetaOp | DataOp;

/** Whether `op` is a data operation (write, truncate). */
export function isDataOp(op: FsOp): op is DataOp {
  return op.type === 'write' || op.type === 'truncate';
}

/** The directories whose entries `op` changes (empty for attribute and data operations). */
export function dirsOf(op: FsOp): number[] {
  switch (op.type) {
    case 'create':
    case 'link':
    case 'unlink':
      return [op.dir];
    case 'rename':
      return op.fromDir === op.toDir ? [op.fromDir] : [op.fromDir, op.toDir];
    default:
      return [];
  }
}
