/**
 * Path resolution for the {@link MemoryBackend}, as Linux's namei does it: component by component from
 * the root or the working directory, with search permission checked on every directory walked, `.` and
 * `..`, symlinks expanded (relative to the directory holding them) up to 40 times, mount points crossed,
 * and the last component resolved or left to the caller (to create, remove or rename it).
 *
 * It is the hot path of every path call, so it allocates little: no split, no regex, one substring per
 * component (the directory lookup key), and a single reused {@link Walk} result.
 *
 * @module
 */
import { FsError } from '../../errors/fs-error.js';
import { X_OK, type Credentials } from './credentials.js';
import type { Inode } from './inode.js';
import type { Device } from './memory-device.js';

/** Follow a symlink in the last component (stat, open, chmod…). */
export const FOLLOW = 0;
/** Do not follow a symlink in the last component, except that a trailing slash still does (lstat, readlink, link's
 * source, open with O_NOFOLLOW). */
export const NOFOLLOW = 1;
/** Resolve the parent and leave the last component as it is, trailing slash or not (unlink, rmdir, rename, mkdir,
 * symlink, link's target). */
export const PARENT = 2;

/** The last component is a name. */
export const LAST_NAME = 0;
/** The last component is `.`. */
export const LAST_DOT = 1;
/** The last component is `..`. */
export const LAST_DOTDOT = 2;
/** There is no last component: the path is `/` (or a symlink to it). */
export const LAST_ROOT = 3;

/** Linux's MAXSYMLINKS: the most symlinks one resolution follows before ELOOP. */
export const MAX_SYMLINKS = 40;
/** Linux's NAME_MAX: the longest component, in bytes. */
export const NAME_MAX = 255;
/** Linux's PATH_MAX: the longest path, in bytes, including the terminating NUL. */
export const PATH_MAX = 4096;

const SLASH = 47;

/** Where a path led. Reused by every walk, so valid only until the next one. */
export class Walk {
  /** The device holding `dir`. */
  dev!: Device;
  /** The directory holding the last component (for `.`, `..` and `/`: the directory named). */
  dir!: Inode;
  /** The last component (`''` for {@link LAST_ROOT}). */
  name = '';
  /** What the last component names, if it exists; a mount point's mounted root rather than the directory under it. */
  node: Inode | undefined;
  /** The device holding `node` (differs from `dev` at a mount point). */
  nodeDev!: Device;
  /** The path ended with a slash. */
  slash = false;
  /** {@link LAST_NAME}, {@link LAST_DOT}, {@link LAST_DOTDOT} or {@link LAST_ROOT}. */
  last = LAST_NAME;
}

/** Resolves paths against a root device, a working directory and credentials. */
export class PathWalker {
  /** The root of the namespace. */
  readonly root: Device;
  /** The working directory, an absolute path (relative paths are resolved against it). */
  cwd = '/';
  private readonly creds: Credentials;
  private readonly w = new Walk();
  /** The device of the directory {@link PathWalker.parentOf} last returned. */
  private upDev!: Device;

  constructor(root: Device, creds: Credentials) {
    this.root = root;
    this.creds = creds;
  }

  /**
   * Resolves `path` in `mode` ({@link FOLLOW}, {@link NOFOLLOW}, {@link PARENT}). A missing last
   * component is not an error here (`node` is undefined: the caller may create it); a missing or
   * non-directory intermediate component, a loop, a name too long or a directory without search
   * permission is, thrown as an {@link FsError} with `syscall`, `ePath` and `eDest`.
   *
   * In the two lookup modes a trailing slash follows a final symlink and requires a directory (ENOTDIR
   * otherwise), as Linux's lookup does.
   */
  walk(path: string, mode: number, syscall: string, ePath: string | undefined, eDest?: string): Walk {
    if (path.length === 0) throw new FsError({ code: 'ENOENT', syscall, path: ePath, dest: eDest });
    if (path.length >= PATH_MAX / 3 && Buffer.byteLength(path) >= PATH_MAX)
      throw new FsError({ code: 'ENAMETOOLONG', syscall, path: ePath, dest: eDest });
    if (path.includes('\u0000')) throw invalidPath(path);
    const root = this.root;
    const rootInode = root.state.inode(root.state.root);
    let s = path;
    if (s.charCodeAt(0) !== SLASH && this.cwd !== '/') s = this.cwd + '/' + s;
    let dev = root;
    let dir = rootInode;
    let i = 0;
    let hops = 0;
    const w = this.w;
    for (;;) {
      while (s.charCodeAt(i) === SLASH) i++;
      if (i >= s.length) {
        // Nothing (more) to resolve: the path names `dir` itself ("/", or a symlink to "/").
        w.dev = w.nodeDev = dev;
        w.dir = dir;
        w.node = dir;
        w.name = '';
        w.slash = true;
        w.last = LAST_ROOT;
        return w;
      }
      let j = s.indexOf('/', i);
      if (j === -1) j = s.length;
      let k = j;
      while (s.charCodeAt(k) === SLASH) k++;
      const isLast = k >= s.length;
      const slash = j < s.length;
      if (!this.creds.can(dir, X_OK)) throw new FsError({ code: 'EACCES', syscall, path: ePath, dest: eDest });
      let next: Inode;
      let nextDev = dev;
      let last = LAST_NAME;
      let name: string;
      const len = j - i;
      if (len === 1 && s.charCodeAt(i) === 46) {
        name = '.';
        next = dir;
        last = LAST_DOT;
      } else if (len === 2 && s.charCodeAt(i) === 46 && s.charCodeAt(i + 1) === 46) {
        name = '..';
        next = this.parentOf(dev, dir);
        nextDev = this.upDev;
        last = LAST_DOTDOT;
      } else {
        name = s.slice(i, j);
        if (len > NAME_MAX / 3 && Buffer.byteLength(name) > NAME_MAX)
          throw new FsError({ code: 'ENAMETOOLONG', syscall, path: ePath, dest: eDest });
        const ino = (dir.entries as Map<string, number>).get(name);
        if (ino === undefined) {
          if (!isLast) throw new FsError({ code: 'ENOENT', syscall, path: ePath, dest: eDest });
          w.dev = w.nodeDev = dev;
          w.dir = dir;
          w.name = name;
          w.node = undefined;
          w.slash = slash;
          w.last = LAST_NAME;
          return w;
        }
        next = dev.state.inode(ino);
        if (next.kind === 'symlink' && (!isLast || mode === FOLLOW || (slash && mode === NOFOLLOW))) {
          if (++hops > MAX_SYMLINKS) throw new FsError({ code: 'ELOOP', syscall, path: ePath, dest: eDest });
          // Continue with the target followed by what remained of the path, from the link's directory.
          s = next.target + (isLast ? (slash ? '/' : '') : s.slice(j));
          i = 0;
          if (s.charCodeAt(0) === SLASH) {
            dev = root;
            dir = rootInode;
          }
          continue;
        }
        if (next.kind === 'dir' && dev.mounts.size > 0) {
          const mounted = dev.mounts.get(next.ino);
          if (mounted !== undefined) {
            nextDev = mounted;
            next = mounted.state.inode(mounted.state.root);
          }
        }
      }
      if (isLast) {
        if (slash && mode !== PARENT && next.kind !== 'dir')
          throw new FsError({ code: 'ENOTDIR', syscall, path: ePath, dest: eDest });
        w.dev = dev;
        w.dir = dir;
        w.name = name;
        w.node = next;
        w.nodeDev = nextDev;
        w.slash = slash;
        w.last = last;
        return w;
      }
      if (next.kind !== 'dir') throw new FsError({ code: 'ENOTDIR', syscall, path: ePath, dest: eDest });
      dev = nextDev;
      dir = next;
      i = k;
    }
  }

  /**
   * The parent of directory `dir` on `dev` (setting {@link PathWalker.upDev}): its `..`. The root of the
   * namespace is its own parent; the root of a mounted device leads to the mount point's parent.
   */
  parentOf(dev: Device, dir: Inode): Inode {
    if (dir.ino === dev.state.root) {
      const on = dev.mountedOn;
      if (dev === this.root || on === undefined) {
        this.upDev = dev;
        return dir;
      }
      return this.parentOf(on.device, on.device.state.inode(on.ino));
    }
    this.upDev = dev;
    return dev.state.inode(dir.parent);
  }
}

/** What node:fs throws for a path with a NUL byte (a programming error, not a file-system condition). */
function invalidPath(path: string): TypeError {
  const e = new TypeError(
    `The argument 'path' must be a string without null bytes. Received ${JSON.stringify(path)}`,
  ) as TypeError & { code: string };
  e.code = 'ERR_INVALID_ARG_VALUE';
  return e;
}
