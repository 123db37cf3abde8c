/**
 * Does the path still name the file a log has open? The one question rotation detection asks, answered
 * with two syscalls: fstat(2) of the descriptor, then stat(2) of the path, comparing (dev, ino), with the
 * descriptor's link count telling a rename (the file lives on under another name) from a delete or a
 * replace (no name left: its lines are reachable only through the descriptor).
 *
 * @module
 */
import type { Backend, FileStat } from '../backend/backend.js';
import { hasCode } from '../errors/fs-error.js';
import type { Descriptor } from '../table/descriptor.js';
import type { ReopenReason } from './types.js';

/** What an identity check found. */
export type IdentityVerdict =
  /** The path names the open file; `size` is its size at the check (fstat taken before the stat). */
  | { readonly kind: 'same'; readonly size: number; readonly regular: boolean }
  /**
   * The path no longer names the open file. `unlinked`: the open file has no name left (nlink 0), so
   * what it holds is lost unless carried over; `size` is its size now; `vacant`: nothing is at the path
   * (a rotator that renamed the file may be about to create the next one there).
   */
  | {
      readonly kind: 'moved';
      readonly reason: ReopenReason;
      readonly unlinked: boolean;
      readonly size: number;
      readonly vacant: boolean;
    }
  /** The check itself failed in a way that says nothing (EACCES on a parent, EIO…): do nothing now. */
  | { readonly kind: 'unknown'; readonly error: unknown };

/** Whether `st` names the same file as `other`. */
export function sameFile(st: FileStat, other: FileStat): boolean {
  return st.ino === other.ino && st.dev === other.dev;
}

/**
 * Compares `path` (stat through `backend`) with what `d` has open. Order matters: fstat first, so every byte counted in
 * `size` was in the file before the stat confirmed the path still named it.
 */
export function checkIdentity(backend: Backend, path: string, d: Descriptor): IdentityVerdict {
  let open: FileStat;
  try {
    open = d.statSync();
  } catch (e) {
    return { kind: 'unknown', error: e };
  }
  let named: FileStat | undefined;
  try {
    named = backend.statSync(path);
  } catch (e) {
    // Nothing at the path (or a parent is gone or is no longer a directory). A dangling symlink is ENOENT too.
    if (!(hasCode(e, 'ENOENT') || hasCode(e, 'ENOTDIR'))) {
      // A symlink loop at the path cannot be written through: treat it like a directory.
      if (hasCode(e, 'ELOOP')) return moved(d, open, 'not-a-file');
      return { kind: 'unknown', error: e };
    }
  }
  if (named !== undefined && sameFile(open, named)) return { kind: 'same', size: open.size, regular: open.isFile() };
  if (named === undefined) return moved(d, open, undefined, true);
  if (!named.isFile() && !named.isCharacterDevice()) return moved(d, open, 'not-a-file');
  return moved(d, open, 'replaced');
}

/**
 * A mismatch: the link count is read again, since the file may have been unlinked between the first
 * fstat and the stat (a rename seen with the old count would lose the lines carry-over would save).
 */
function moved(d: Descriptor, first: FileStat, kind: ReopenReason | undefined, vacant = false): IdentityVerdict {
  let now = first;
  try {
    now = d.statSync();
  } catch {
    // keep the first answer
  }
  const unlinked = now.nlink === 0;
  // With no name left the file was deleted (nothing at the path) or replaced (something else is there);
  // with a name left it was renamed away, whatever took the path since.
  const reason: ReopenReason =
    kind === 'not-a-file' ? kind : unlinked ? (kind === undefined ? 'deleted' : 'replaced') : 'renamed';
  return { kind: 'moved', reason, unlinked, size: now.size, vacant };
}
