/**
 * Step 1 and 2 of the protocol: which file a write replaces (symlinks followed unless `replaceSymlink`),
 * and the mode and owner the new file must end with. One lstat(2) in the common case (no symlink).
 *
 * @module
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import type { FileStat } from '../backend/backend.js';
import { hasCode } from '../errors/fs-error.js';
import { atomicError } from './errors.js';
import { identityOf, type Identity } from './identity.js';
import type { Settings } from './settings.js';

/** The file a write replaces, and how the new one must look. */
export interface Target {
  /** The absolute path renamed over: the given path, or the end of its symlink chain. */
  readonly path: string;
  /** Its directory (the temp file's, and the one fsynced after the rename). */
  readonly dir: string;
  /** Whether a file is there now. */
  readonly exists: boolean;
  /** The permission bits the new file gets (fchmod). */
  readonly mode: number;
  /** The owner the new file gets (fchown), when it must be set. */
  readonly owner: { readonly uid: number; readonly gid: number } | undefined;
}

/** Symlinks followed before ELOOP, as Linux (MAXSYMLINKS). */
const MAX_LINKS = 40;

/**
 * The absolute path `path` names (path.resolve against the process's working directory). A trailing
 * separator names a directory: EISDIR, as open(2) says for O_CREAT.
 */
export function absoluteTarget(path: string): string {
  if (typeof path !== 'string' || path === '') throw new TypeError('the path must be a non-empty string');
  const abs = resolve(path);
  if (/[\\/]$/.test(path) && abs !== resolve('/')) throw atomicError('EISDIR', 'open', abs, 'a path ending in a separator names a directory');
  return abs;
}

/** A symlink's target, absolute: relative targets are relative to the link's directory. */
function follow(link: string, content: string): string {
  return isAbsolute(content) ? resolve(content) : resolve(dirname(link), content);
}

/**
 * What the final lstat of `path` says (`undefined`: nothing there): the target, or an error for something
 * that must not be replaced (EISDIR, EINVAL). `id` is who the process acts as (uid, gid, umask: the
 * default mode and whether the owner can be kept); the backend's unless given.
 */
export function planTarget(path: string, st: FileStat | undefined, s: Settings, id: Identity = identityOf(s.backend)): Target {
  const dir = dirname(path);
  if (st?.isDirectory() === true) throw atomicError('EISDIR', 'open', path, 'the target is a directory');
  const replacingLink = st?.isSymbolicLink() === true; // only with replaceSymlink
  if (st !== undefined && !st.isFile() && !replacingLink) throw atomicError('EINVAL', 'open', path, 'the target is not a regular file (a FIFO, socket or device is never replaced by a rename)');
  const existing = st !== undefined && !replacingLink ? st : undefined;
  const mode = s.mode ?? (existing !== undefined ? existing.mode & 0o7777 : 0o666 & ~id.umask);
  let owner: Target['owner'];
  if (s.chown !== undefined && s.chown !== false) owner = s.chown;
  else if (s.chown === undefined && existing !== undefined && id.uid === 0 && (existing.uid !== id.uid || existing.gid !== id.gid)) owner = { uid: existing.uid, gid: existing.gid };
  return { path, dir, exists: st !== undefined, mode, owner };
}

function tooManyLinks(path: string): never {
  throw atomicError('ELOOP', 'open', path, `more than ${MAX_LINKS} symbolic links`);
}

/** Synchronous form of {@link resolveTarget}. */
export function resolveTargetSync(abs: string, s: Settings): Target {
  let path = abs;
  for (let hops = 0; ; hops++) {
    let st: FileStat;
    try {
      st = s.backend.lstatSync(path);
    } catch (e) {
      if (hasCode(e, 'ENOENT')) return planTarget(path, undefined, s);
      throw e;
    }
    if (!st.isSymbolicLink() || s.replaceSymlink) return planTarget(path, st, s);
    if (hops >= MAX_LINKS) tooManyLinks(abs);
    path = follow(path, s.backend.readlinkSync(path));
  }
}

/**
 * Resolves the absolute path `abs`: lstat(2) it; a symlink is followed (readlink, relative to its
 * directory, ELOOP after 40) unless `replaceSymlink`; a directory is EISDIR; anything else that is not a
 * regular file EINVAL. A missing file is fine (and so, here, is a missing parent: the temp file's
 * create finds that out). Mode: `mode`, or the existing file's permission bits, or 0o666 less the umask.
 * Owner: `chown`, or, as root, the existing file's (only when it differs from root's own).
 *
 * `first`, when given, is what lstat(abs) already said (a FileStat, or undefined for ENOENT): the
 * resolution continues from there without asking again.
 */
export async function resolveTarget(abs: string, s: Settings, first?: { st: FileStat | undefined }): Promise<Target> {
  let path = abs;
  let known = first;
  for (let hops = 0; ; hops++) {
    let st: FileStat;
    if (known !== undefined) {
      if (known.st === undefined) return planTarget(path, undefined, s);
      st = known.st;
      known = undefined;
    } else {
      try {
        st = await s.backend.lstat(path);
      } catch (e) {
        if (hasCode(e, 'ENOENT')) return planTarget(path, undefined, s);
        throw e;
      }
    }
    if (!st.isSymbolicLink() || s.replaceSymlink) return planTarget(path, st, s);
    if (hops >= MAX_LINKS) tooManyLinks(abs);
    path = follow(path, await s.backend.readlink(path));
  }
}
