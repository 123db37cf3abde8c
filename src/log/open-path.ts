/**
 * How a log opens its path, at the first open and at every reopen: append, create, close-on-exec,
 * non-blocking; missing parents made with `mkdir`; symlinks followed only where the kernel's
 * `protected_symlinks` would follow them (see {@link SymlinkPolicy}); and only regular files (or
 * character devices such as `/dev/null`) accepted, so that a FIFO, socket or directory put at the path is
 * refused at once instead of stalling the writer. See docs/logs.md, "Symlinks" and "What the path may be".
 *
 * @module
 */
import { dirname } from 'node:path';
import type { Backend, FileStat } from '../backend/backend.js';
import { O } from '../backend/flags.js';
import { FsError, hasCode } from '../errors/fs-error.js';
import { isStickyWorldWritable, ownerTrusted } from '../atomic/link-rule.js';
import { makeParentsSync } from '../atomic/make-parents.js';
import type { OpenSite } from '../diagnostics/open-site.js';
import type { Descriptor } from '../table/descriptor.js';
import type { FileTable } from '../table/file-table.js';
import type { SymlinkPolicy } from './types.js';

/**
 * Read and write (the read side is for carry-over: the writer reads back what a deleted file held),
 * append, create, close-on-exec, and non-blocking so that a FIFO put at the path can never hang the
 * synchronous open (on regular files the flag does nothing).
 */
const OPEN_FLAGS = O.RDWR | O.APPEND | O.CREAT | O.CLOEXEC | O.NONBLOCK;
/** When the file may be written but not read (mode 0o222): no carry-over from it. */
const OPEN_FLAGS_WRITE_ONLY = O.WRONLY | O.APPEND | O.CREAT | O.CLOEXEC | O.NONBLOCK;

/** An opened log path. */
export interface OpenedPath {
  /** The descriptor, in the settings' table (`d.readable`: whether carry-over can read it back). */
  readonly d: Descriptor;
  /** fstat of `d` right after the open. */
  readonly st: FileStat;
}

/** What {@link openLogPath} needs. */
export interface OpenPathSettings {
  /** The table to open in. */
  readonly table: FileTable;
  /** `table.backend`, for the path calls (lstat, stat, mkdir). */
  readonly backend: Backend;
  readonly mode: number;
  readonly mkdir: boolean;
  readonly followSymlinks: SymlinkPolicy;
}

function lstatOrUndefined(backend: Backend, path: string): FileStat | undefined {
  try {
    return backend.lstatSync(path);
  } catch (e) {
    if (hasCode(e, 'ENOENT') || hasCode(e, 'ENOTDIR')) return undefined;
    throw e;
  }
}

/** What a non-regular file at the path is, for the error message. */
function kindOf(st: FileStat): string | undefined {
  if (st.isFile() || st.isCharacterDevice()) return undefined;
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * Whether to open `path` without following a final symlink (O_NOFOLLOW), or to refuse it: the link rule.
 * Throws the refusal; returns true when the open must add O_NOFOLLOW (the path was not a link a moment
 * ago, and a link that appears now must not be followed).
 */
function linkRule(s: OpenPathSettings, path: string): boolean {
  if (s.followSymlinks === 'always') return false;
  const link = lstatOrUndefined(s.backend, path);
  if (s.followSymlinks === 'never') {
    if (link?.isSymbolicLink() === true)
      throw new FsError({
        code: 'ELOOP',
        syscall: 'open',
        path,
        detail: "the log path is a symlink and followSymlinks is 'never'",
      });
    return true;
  }
  let dir: FileStat;
  try {
    dir = s.backend.statSync(dirname(path));
  } catch {
    return false; // the open itself reports a missing or unreadable directory
  }
  if (!isStickyWorldWritable(dir)) return false;
  if (link?.isSymbolicLink() !== true) return true;
  const me = process.geteuid?.() ?? -1;
  // The kernel's rule (fs.protected_symlinks), the one atomic writes apply: follow a link in a sticky
  // world-writable directory only if the follower owns it or the directory's owner does. Nobody else can
  // then swap it (the sticky bit).
  if (ownerTrusted(link.uid, dir, me)) return false;
  throw new FsError({
    code: 'EACCES',
    syscall: 'open',
    path,
    detail: `a symlink owned by uid ${link.uid} in a sticky world-writable directory (owned by uid ${dir.uid}) is not followed: only links owned by this process's user (${me}) or by the directory's owner are (the kernel's protected_symlinks rule; option followSymlinks)`,
  });
}

/**
 * Opens `path` for appending in `s.table`, creating it (and with `mkdir`, its parents), under the link
 * rule, and refuses anything but a regular file or a character device (the descriptor is closed again).
 * `site` is recorded as the descriptor's open site (the line that opened the log, for every reopen).
 * Throws an {@link FsError} (or the backend's error) when it cannot; EMFILE when the table's budget is full.
 */
export function openLogPath(s: OpenPathSettings, path: string, site: OpenSite | undefined): OpenedPath {
  const { table, backend, mode, mkdir } = s;
  const attempt = (flags: number): Descriptor => {
    try {
      return table.openDescriptorSync(path, flags, mode, undefined, site);
    } catch (e) {
      if (!(mkdir && hasCode(e, 'ENOENT'))) throw e;
      makeParentsSync(backend, dirname(path), 'none');
      return table.openDescriptorSync(path, flags, mode, undefined, site);
    }
  };
  let d: Descriptor | undefined;
  // A link may appear between the rule's lstat and an O_NOFOLLOW open (ELOOP): decide again, a few times.
  for (let round = 0; d === undefined; round++) {
    const noFollow = linkRule(s, path) ? O.NOFOLLOW : 0;
    try {
      try {
        d = attempt(OPEN_FLAGS | noFollow);
      } catch (e) {
        if (!hasCode(e, 'EACCES')) throw e;
        // Writable but not readable (mode 0o222 and not root): log without carry-over from this file.
        d = attempt(OPEN_FLAGS_WRITE_ONLY | noFollow);
      }
    } catch (e) {
      if (!(noFollow !== 0 && hasCode(e, 'ELOOP') && round < 3)) throw e;
    }
  }
  let st: FileStat;
  try {
    st = d.statSync();
  } catch (e) {
    d.closeSync();
    throw e;
  }
  const kind = kindOf(st);
  if (kind !== undefined) {
    d.closeSync();
    // A directory is EISDIR, as open(2) says on Linux; Windows opens one for appending, so this check is what refuses it there.
    throw new FsError({
      code: st.isDirectory() ? 'EISDIR' : 'EINVAL',
      syscall: 'open',
      path,
      detail: `the log path is ${kind}, not a regular file: refused (a log writes only to regular files and character devices)`,
    });
  }
  return { d, st };
}
