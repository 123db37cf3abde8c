/**
 * The syscall boundary. Everything above `src/backend/` reaches files only through a {@link Backend}, so
 * the same table, io stack and features run on the real OS (`OsBackend` in `fdkeeper/testing`), on an in-memory file
 * system, or behind a fault-injecting wrapper.
 *
 * Conventions, the same as node:fs so the OS backend is a thin map:
 * - every call has a synchronous form (`xxxSync`) and a promise form (`xxx`);
 * - descriptors are plain numbers *at this layer only*; ownership lives in the table above;
 * - `position: null` means "at the descriptor's current offset"; a number means pread/pwrite and must be
 *   a non-negative integer (EINVAL otherwise);
 * - a zero-length read or write may return 0 without looking at the descriptor (node:fs does not call
 *   read(2) for it); the memory backend checks the descriptor as Linux does;
 * - every failure is an {@link FsError} with `code`, `syscall` and `path` and/or `fd`.
 *
 * @module
 */

/** File metadata, the subset of `fs.Stats` fdkeeper relies on. Node's `fs.Stats` satisfies it. */
export interface FileStat {
  /** The device the file lives on (with `ino`, the file's identity). */
  readonly dev: number;
  /** The inode number. */
  readonly ino: number;
  /** File type and permission bits (`S_IFMT` | permissions). */
  readonly mode: number;
  /** How many directory entries (hard links) name the file; 0 once unlinked while open. */
  readonly nlink: number;
  /** Owner user id. */
  readonly uid: number;
  /** Owner group id. */
  readonly gid: number;
  /** The device a device file stands for. */
  readonly rdev: number;
  /** Size in bytes. */
  readonly size: number;
  /** Preferred I/O block size. */
  readonly blksize: number;
  /** 512-byte blocks allocated (less than `size` suggests for sparse files). */
  readonly blocks: number;
  /** Last access, ms since the epoch. */
  readonly atimeMs: number;
  /** Last data change, ms since the epoch. */
  readonly mtimeMs: number;
  /** Last status change, ms since the epoch. */
  readonly ctimeMs: number;
  /** Creation time, ms since the epoch, where the file system records it. */
  readonly birthtimeMs: number;
  /** A regular file. */
  isFile(): boolean;
  /** A directory. */
  isDirectory(): boolean;
  /** A symbolic link (only from `lstat`). */
  isSymbolicLink(): boolean;
  /** A FIFO (named or anonymous pipe). */
  isFIFO(): boolean;
  /** A socket. */
  isSocket(): boolean;
  /** A character device (a terminal, `/dev/null`). */
  isCharacterDevice(): boolean;
  /** A block device. */
  isBlockDevice(): boolean;
}

/** See {@link Backend.fdInfoSync}. */
export interface FdInfo {
  /** The status flags (`O_*` bits: access mode, `O_APPEND`, …), if known. */
  readonly flags: number | undefined;
  /** The kernel's file offset, if known. */
  readonly offset: number | undefined;
}

/** A time for {@link Backend.utimes}: a `Date`, or seconds since the epoch as node:fs takes them. */
export type TimeLike = Date | number;

/** Bytes a backend reads into or writes from. */
export type Bytes = Uint8Array;

/**
 * One interface for every syscall the upper layers use. Implementations: `OsBackend` (genuine OS
 * descriptors through node:fs), the in-memory backend, and the fault-injecting wrapper.
 */
export interface Backend {
  /** A short name for messages and reports, e.g. `'os'`, `'memory'`. */
  readonly name: string;

  /** open(2): returns a new descriptor. `flags` are `O_*` bits (`O` in `fdkeeper/testing`); `mode` applies on create. */
  openSync(path: string, flags: number, mode?: number): number;
  /** Promise form of {@link Backend.openSync}. */
  open(path: string, flags: number, mode?: number): Promise<number>;
  /** close(2). Never retried: after EINTR the number may already belong to another open. */
  closeSync(fd: number): void;
  /** Promise form of {@link Backend.closeSync}. */
  close(fd: number): Promise<void>;

  /** read(2) when `position` is null, pread(2) otherwise. Returns bytes read; 0 at end of file. */
  readSync(fd: number, buffer: Bytes, offset: number, length: number, position: number | null): number;
  /** Promise form of {@link Backend.readSync}. */
  read(fd: number, buffer: Bytes, offset: number, length: number, position: number | null): Promise<number>;
  /** write(2) when `position` is null, pwrite(2) otherwise. May write fewer bytes than asked. */
  writeSync(fd: number, buffer: Bytes, offset: number, length: number, position: number | null): number;
  /** Promise form of {@link Backend.writeSync}. */
  write(fd: number, buffer: Bytes, offset: number, length: number, position: number | null): Promise<number>;

  /** fstat(2). */
  fstatSync(fd: number): FileStat;
  /** Promise form of {@link Backend.fstatSync}. */
  fstat(fd: number): Promise<FileStat>;
  /** stat(2), following symlinks. */
  statSync(path: string): FileStat;
  /** Promise form of {@link Backend.statSync}. */
  stat(path: string): Promise<FileStat>;
  /** lstat(2), not following a final symlink. */
  lstatSync(path: string): FileStat;
  /** Promise form of {@link Backend.lstatSync}. */
  lstat(path: string): Promise<FileStat>;

  /** ftruncate(2). */
  ftruncateSync(fd: number, length: number): void;
  /** Promise form of {@link Backend.ftruncateSync}. */
  ftruncate(fd: number, length: number): Promise<void>;
  /** fsync(2): data and metadata durable. */
  fsyncSync(fd: number): void;
  /** Promise form of {@link Backend.fsyncSync}. */
  fsync(fd: number): Promise<void>;
  /** fdatasync(2): data (and the metadata needed to read it) durable. */
  fdatasyncSync(fd: number): void;
  /** Promise form of {@link Backend.fdatasyncSync}. */
  fdatasync(fd: number): Promise<void>;

  /** rename(2): atomically replaces `newPath` if it exists. */
  renameSync(oldPath: string, newPath: string): void;
  /** Promise form of {@link Backend.renameSync}. */
  rename(oldPath: string, newPath: string): Promise<void>;
  /** unlink(2). */
  unlinkSync(path: string): void;
  /** Promise form of {@link Backend.unlinkSync}. */
  unlink(path: string): Promise<void>;
  /** link(2): a new hard link `newPath` to `existingPath`. */
  linkSync(existingPath: string, newPath: string): void;
  /** Promise form of {@link Backend.linkSync}. */
  link(existingPath: string, newPath: string): Promise<void>;
  /** symlink(2): `path` becomes a symlink whose content is `target`. */
  symlinkSync(target: string, path: string): void;
  /** Promise form of {@link Backend.symlinkSync}. */
  symlink(target: string, path: string): Promise<void>;
  /** readlink(2). */
  readlinkSync(path: string): string;
  /** Promise form of {@link Backend.readlinkSync}. */
  readlink(path: string): Promise<string>;
  /** mkdir(2), one level (EEXIST if present, ENOENT if the parent is missing). */
  mkdirSync(path: string, mode?: number): void;
  /** Promise form of {@link Backend.mkdirSync}. */
  mkdir(path: string, mode?: number): Promise<void>;
  /** rmdir(2). */
  rmdirSync(path: string): void;
  /** Promise form of {@link Backend.rmdirSync}. */
  rmdir(path: string): Promise<void>;
  /** The names in a directory, without `.` and `..`, in no particular order. */
  readdirSync(path: string): string[];
  /** Promise form of {@link Backend.readdirSync}. */
  readdir(path: string): Promise<string[]>;
  /** chmod(2). */
  chmodSync(path: string, mode: number): void;
  /** Promise form of {@link Backend.chmodSync}. */
  chmod(path: string, mode: number): Promise<void>;
  /** fchmod(2). */
  fchmodSync(fd: number, mode: number): void;
  /** Promise form of {@link Backend.fchmodSync}. */
  fchmod(fd: number, mode: number): Promise<void>;
  /** fchown(2). */
  fchownSync(fd: number, uid: number, gid: number): void;
  /** Promise form of {@link Backend.fchownSync}. */
  fchown(fd: number, uid: number, gid: number): Promise<void>;
  /** utimes(2). Numbers are seconds since the epoch, as in node:fs. */
  utimesSync(path: string, atime: TimeLike, mtime: TimeLike): void;
  /** Promise form of {@link Backend.utimesSync}. */
  utimes(path: string, atime: TimeLike, mtime: TimeLike): Promise<void>;

  // ---- descriptor-table support: what the table needs to emulate dup(2) without it ----

  /**
   * A new descriptor number, allocated by the same rule as open(2) (lowest free), that names the same
   * file as `fd` but refuses I/O (on Linux an `O_PATH` descriptor). The table uses it to reserve the
   * number of a duplicate so that no other open can be given that number. Released with `closeSync`.
   * EBADF when `fd` is not open.
   */
  reserveSync(fd: number): number;
  /**
   * Makes the number `target` a reservation (see {@link Backend.reserveSync}) naming `fd`'s file.
   * `target` must be free, or, with `replace`, be a descriptor the caller owns, which is closed
   * first. Returns true on success. Throws, changing nothing, when `target` is held by an open outside
   * the caller's control (EBUSY) or resources run out. Returns false in the one case that cannot be
   * undone: `target` was closed for the swap and in that instant another thread's open took the number
   * (Linux's dup2 fails with EBUSY in the same race); the caller must then treat `target` as closed.
   */
  reserveAtSync(target: number, fd: number, replace: boolean): boolean;
  /**
   * A new, independent descriptor on the file `fd` names (even if unlinked), opened with `flags`
   * (access mode, `O_APPEND`, `O_NONBLOCK`). Used to move an open file description to another number.
   */
  reopenSync(fd: number, flags: number): number;
  /** A pipe: `[readEnd, writeEnd]`, both blocking and close-on-exec. */
  pipeSync(): [number, number];
  /**
   * What the kernel knows of `fd`, opened elsewhere, where the platform exposes it (Linux
   * `/proc/self/fdinfo`): its status flags and current offset. Fields are `undefined` when unknown;
   * EBADF when `fd` is not open. The flags may include bits such as `O_CLOEXEC` or `O_LARGEFILE`: mask
   * what you need.
   */
  fdInfoSync(fd: number): FdInfo;
}

/** A {@link Backend} method that has a synchronous twin, by its promise name (`'open'`, `'read'`…). */
export type TwinMethod = { [K in keyof Backend]: `${K}Sync` extends keyof Backend ? K : never }[keyof Backend];

/** Every twinned method, as an object so that the compiler checks the list is complete. */
const TWINS: Record<TwinMethod, true> = {
  open: true,
  close: true,
  read: true,
  write: true,
  fstat: true,
  stat: true,
  lstat: true,
  ftruncate: true,
  fsync: true,
  fdatasync: true,
  rename: true,
  unlink: true,
  link: true,
  symlink: true,
  readlink: true,
  mkdir: true,
  rmdir: true,
  readdir: true,
  chmod: true,
  fchmod: true,
  fchown: true,
  utimes: true,
};

/**
 * The {@link Backend} methods that come in a synchronous and a promise form (`open` and `openSync`…),
 * by their promise name. Backends that derive one form from the other (`SyncBackend`, the
 * fault-injecting wrapper) install them from this list; it follows {@link Backend} by construction.
 */
export const TWIN_METHODS = Object.keys(TWINS) as readonly TwinMethod[];

/** The synchronous twin of a {@link TwinMethod} (`'openSync'`, `'readSync'`…). */
export type TwinSyncMethod = `${TwinMethod}Sync`;

/** The promise forms of a {@link Backend}. */
export type BackendPromiseForms = Pick<Backend, TwinMethod>;

/** Everything of a {@link Backend} but its promise forms: what a `SyncBackend` writes itself. */
export type BackendSyncForms = Omit<Backend, TwinMethod>;
