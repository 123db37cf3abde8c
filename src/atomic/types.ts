import type { Backend } from '../backend/backend.js';
import type { FileTable } from '../table/file-table.js';

/**
 * How durable a write is when its promise resolves:
 * - `'full'` (default): the new content survives a power loss — the file is fsynced before the rename,
 *   and the directory after it;
 * - `'file'`: the file is fsynced before the rename, the directory is not (a crash may bring back the old
 *   content, but never a torn or empty file);
 * - `'none'`: no fsync at all (atomic against readers and process crashes, not against power loss).
 */
export type Durability = 'full' | 'file' | 'none';

/** Data an atomic write accepts: bytes, a string, or chunks of either, synchronous or asynchronous (a stream). */
export type AtomicData = string | Uint8Array | Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>;

/** Data the synchronous forms accept. */
export type AtomicDataSync = string | Uint8Array | Iterable<string | Uint8Array>;

/** Options common to every atomic operation. */
export interface AtomicOptions {
  /** See {@link Durability}. Default `'full'`. */
  durability?: Durability;
  /**
   * Permission bits of the file once in place. Default: the existing file's bits when it is replaced,
   * otherwise `0o666` less the process umask (what a plain create would give).
   */
  mode?: number;
  /**
   * Owner of the file once in place. Default: the existing file's owner is kept when running as root
   * (others cannot chown); `false` never changes the owner.
   */
  chown?: { uid: number; gid: number } | false;
  /** Encoding of string data. Default `'utf8'`. */
  encoding?: BufferEncoding;
  /** Create missing parent directories (each made durable with its parent, for `'full'`). Default false. */
  mkdir?: boolean;
  /** Cancels the operation: the temp file is removed, the target left as it was; rejects with FsError ECANCELED. */
  signal?: AbortSignal;
  /**
   * When the path is a symlink: false (default) writes through to the file it points to (the link
   * stays); true replaces the link itself with a regular file.
   */
  replaceSymlink?: boolean;
  /**
   * A symlink fdkeeper would follow (`replaceSymlink` false) that sits in a sticky world-writable
   * directory (/tmp…) and is owned neither by the caller nor by the directory's owner, where the kernel's
   * fs.protected_symlinks rule would not follow it either (another user may have planted it):
   * `'refuse'` (default) fails with EACCES and changes nothing; `'replace'` replaces that link itself
   * with a regular file (as `replaceSymlink` does; the sticky bit lets only root or the directory's owner
   * do that). Such a link inside the directory part of a path is always refused. See docs/security.md.
   */
  untrustedSymlink?: 'refuse' | 'replace';
  /**
   * The descriptor table temp files are opened through: their descriptors count against its budget
   * (`maxOpen`: a burst of promise-form writes queues for it instead of failing with EMFILE), and an
   * uncommitted `PendingFile` shows in its `openHandles()` and leak reports. Default: a table over
   * `backend` when that is given, else the process table (`fdtable`).
   */
  table?: FileTable;
  /**
   * Where the files are, for an operation not given a `table` (then one table per backend is used).
   * With `table`, it must be that table's backend or left out. Default: the operating system.
   */
  backend?: Backend;
}

/** Options of {@link atomicWrite} and {@link atomicWriteSync}. */
export type AtomicWriteOptions = AtomicOptions;

/** Options of {@link atomicCreate}. */
export type AtomicCreateOptions = AtomicOptions;

/** Options of {@link createExclusive}. */
export interface CreateExclusiveOptions extends Omit<AtomicOptions, 'replaceSymlink'> {
  /**
   * When another producer is already producing the file: false (default) returns at once with
   * `{ created: false, reason: 'in-progress' }`; true (or limits) waits until the file appears (or the
   * other producer dies or gives up, in which case this call produces it).
   */
  wait?: boolean | { timeoutMs?: number; pollMs?: number };
}

/** What {@link createExclusive} did. */
export type ExclusiveResult =
  | { readonly created: true; readonly path: string }
  | { readonly created: false; readonly path: string; readonly reason: 'exists' | 'in-progress' };

/** Options of {@link cleanupTemps}. */
export interface CleanupOptions {
  /**
   * A temp file whose writer cannot be shown dead (another host, a reused pid) is removed only once it
   * is this old (by mtime). Default one hour.
   */
  olderThanMs?: number;
  /** Report what would be removed without removing it. Default false. */
  dryRun?: boolean;
  /**
   * Whether a writer whose pid is dead on this host makes its temp files (and claims) removable at
   * once. Default true. Set it to false for a directory shared with other hosts (NFS…), where a pid in a
   * temp name says nothing about this host's processes: then only {@link CleanupOptions.olderThanMs}
   * decides.
   */
  checkPids?: boolean;
  /** Where the files are. Default: the operating system. */
  backend?: Backend;
}
