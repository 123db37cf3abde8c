import { S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG } from '../file-type.js';

/** What an inode is. */
export type InodeKind = 'file' | 'dir' | 'symlink' | 'fifo';

/** The attributes an inode is created with. */
export interface InodeAttrs {
  /** Permission bits only (`0o7777`); the type bits come from the kind. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly atimeMs: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly birthtimeMs: number;
}

/** The `S_IF*` bits of a kind. */
export function typeBits(kind: InodeKind): number {
  switch (kind) {
    case 'file':
      return S_IFREG;
    case 'dir':
      return S_IFDIR;
    case 'symlink':
      return S_IFLNK;
    case 'fifo':
      return S_IFIFO;
  }
}

/** Size of one data chunk. Files are stored as sparse arrays of chunks: holes cost nothing. */
export const CHUNK = 64 * 1024;

/**
 * One chunk of file data, with the id of the {@link FsState} that may write it in place. `bytes` may be
 * shorter than {@link CHUNK} (chunks grow as they are written); bytes past its end read as zeros.
 */
export interface Chunk {
  readonly owner: number;
  readonly bytes: Uint8Array;
}

/**
 * An inode: the file itself, independent of the names (directory entries) it has. Data lives in
 * {@link CHUNK}-sized chunks; a chunk not present is a hole and reads as zeros.
 */
export class Inode {
  readonly ino: number;
  readonly kind: InodeKind;
  mode: number;
  uid: number;
  gid: number;
  /** Directory entries naming this inode (for a directory: its entry in the parent, plus `.`, plus each subdirectory's `..`). */
  nlink: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
  /** File size in bytes (a symlink: the length of its target; a directory: 4096, as ext4 reports). */
  size = 0;
  /** File data, by chunk index. */
  chunks: (Chunk | undefined)[] = [];
  /** A directory's entries, name → inode number (without `.` and `..`). */
  entries: Map<string, number> | undefined;
  /** A directory's parent (for `..`). The root is its own parent. */
  parent = 0;
  /** A symlink's target. */
  target = '';
  /**
   * How many descriptors of the live backend hold this inode (an unlinked inode lives while this is
   * non-zero). Bookkeeping of the backend, not file-system state: not copied by {@link Inode.clone}.
   */
  opens = 0;

  constructor(ino: number, kind: InodeKind, attrs: InodeAttrs) {
    this.ino = ino;
    this.kind = kind;
    this.mode = attrs.mode & 0o7777;
    this.uid = attrs.uid;
    this.gid = attrs.gid;
    this.atimeMs = attrs.atimeMs;
    this.mtimeMs = attrs.mtimeMs;
    this.ctimeMs = attrs.ctimeMs;
    this.birthtimeMs = attrs.birthtimeMs;
    this.nlink = 0;
    if (kind === 'dir') {
      this.entries = new Map();
      this.size = 4096;
    }
  }

  /** A copy sharing the data chunks (they are copied on the next write by the new owner). */
  clone(): Inode {
    const c = new Inode(this.ino, this.kind, this);
    c.nlink = this.nlink;
    c.size = this.size;
    c.chunks = this.chunks.slice();
    c.entries = this.entries === undefined ? undefined : new Map(this.entries);
    c.parent = this.parent;
    c.target = this.target;
    return c;
  }

  /** Bytes of data actually stored: the file's size, less its holes (whole chunks never written). */
  stored(): number {
    let n = 0;
    for (let i = 0; i < this.chunks.length; i++) {
      if (this.chunks[i] !== undefined) n += Math.max(0, Math.min(CHUNK, this.size - i * CHUNK));
    }
    return n;
  }
}
