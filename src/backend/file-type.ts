/**
 * File types as the `S_IFMT` bits of a mode (`fs.Stats.mode`), and the `is*()` predicates that
 * `fs.Stats` and `fs.Dirent` derive from them.
 *
 * @module
 */

/** The mask of the file-type bits. */
export const S_IFMT = 0o170000;
/** A regular file. */
export const S_IFREG = 0o100000;
/** A directory. */
export const S_IFDIR = 0o040000;
/** A symbolic link. */
export const S_IFLNK = 0o120000;
/** A FIFO (pipe). */
export const S_IFIFO = 0o010000;
/** A socket. */
export const S_IFSOCK = 0o140000;
/** A character device. */
export const S_IFCHR = 0o020000;
/** A block device. */
export const S_IFBLK = 0o060000;

/** The `is*()` predicates of a stat or directory entry, from the `S_IFMT` bits of {@link TypedByMode.typeMode}. */
export abstract class TypedByMode {
  /** A mode whose `S_IFMT` bits give the file type (permission bits may be present too). */
  protected abstract typeMode(): number;

  /** A regular file. */
  isFile(): boolean {
    return (this.typeMode() & S_IFMT) === S_IFREG;
  }
  /** A directory. */
  isDirectory(): boolean {
    return (this.typeMode() & S_IFMT) === S_IFDIR;
  }
  /** A symbolic link (only from `lstat`, or a directory entry). */
  isSymbolicLink(): boolean {
    return (this.typeMode() & S_IFMT) === S_IFLNK;
  }
  /** A FIFO (named or anonymous pipe). */
  isFIFO(): boolean {
    return (this.typeMode() & S_IFMT) === S_IFIFO;
  }
  /** A socket. */
  isSocket(): boolean {
    return (this.typeMode() & S_IFMT) === S_IFSOCK;
  }
  /** A character device (a terminal, `/dev/null`). */
  isCharacterDevice(): boolean {
    return (this.typeMode() & S_IFMT) === S_IFCHR;
  }
  /** A block device. */
  isBlockDevice(): boolean {
    return (this.typeMode() & S_IFMT) === S_IFBLK;
  }
}
