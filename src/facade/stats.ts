/**
 * node:fs's `Stats` and `Dirent`, built from a backend's {@link FileStat} and directory entries.
 *
 * @module
 */
import type { FileStat } from '../backend/backend.js';
import { S_IFMT, TypedByMode } from '../backend/file-type.js';

/**
 * File metadata, shaped like node:fs's `Stats`: the numeric fields, the four times as `Date`s and in
 * milliseconds, and the `isFile()`… predicates (from the `S_IFMT` bits of `mode`).
 */
export class Stats extends TypedByMode implements FileStat {
  /** The device the file lives on. */
  readonly dev: number;
  /** The inode number. */
  readonly ino: number;
  /** File type and permission bits. */
  readonly mode: number;
  /** Number of hard links. */
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
  /** 512-byte blocks allocated. */
  readonly blocks: number;
  /** Last access, ms since the epoch. */
  readonly atimeMs: number;
  /** Last data change, ms since the epoch. */
  readonly mtimeMs: number;
  /** Last status change, ms since the epoch. */
  readonly ctimeMs: number;
  /** Creation time, ms since the epoch. */
  readonly birthtimeMs: number;

  constructor(s: FileStat) {
    super();
    this.dev = s.dev;
    this.ino = s.ino;
    this.mode = s.mode;
    this.nlink = s.nlink;
    this.uid = s.uid;
    this.gid = s.gid;
    this.rdev = s.rdev;
    this.size = s.size;
    this.blksize = s.blksize;
    this.blocks = s.blocks;
    this.atimeMs = s.atimeMs;
    this.mtimeMs = s.mtimeMs;
    this.ctimeMs = s.ctimeMs;
    this.birthtimeMs = s.birthtimeMs;
  }

  /** Last access. */
  get atime(): Date {
    return new Date(this.atimeMs);
  }
  /** Last data change. */
  get mtime(): Date {
    return new Date(this.mtimeMs);
  }
  /** Last status change. */
  get ctime(): Date {
    return new Date(this.ctimeMs);
  }
  /** Creation time. */
  get birthtime(): Date {
    return new Date(this.birthtimeMs);
  }

  /** The file's type and permission bits. */
  protected typeMode(): number {
    return this.mode;
  }
}

/**
 * A directory entry, shaped like node:fs's `Dirent` (`readdir` with `withFileTypes: true`), and like
 * it generic in its name's type: a string, or a Buffer with `encoding: 'buffer'`.
 */
export class Dirent<Name extends string | Buffer = string> extends TypedByMode {
  /** The entry's name (a Buffer with `encoding: 'buffer'`). */
  readonly name: Name;
  /** The directory the entry is in. */
  readonly parentPath: string;
  /** The same as {@link Dirent.parentPath} (node:fs's older name for it). */
  readonly path: string;
  /** The `S_IFMT` bits of the entry's type. */
  private readonly type: number;

  constructor(name: Name, parentPath: string, mode: number) {
    super();
    this.name = name;
    this.parentPath = parentPath;
    this.path = parentPath;
    this.type = mode & S_IFMT;
  }

  /** The entry's type bits. */
  protected typeMode(): number {
    return this.type;
  }
}
