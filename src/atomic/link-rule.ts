/**
 * The kernel's `fs.protected_symlinks` rule, applied by fdkeeper itself to the links it resolves in user
 * space (the kernel never sees those follows, so its own rule never applies to them), and the same
 * trust rule for the claims createExclusive finds in shared directories and for the links a log's
 * reopen meets (src/log/open-path.ts).
 *
 * @module
 */
import type { FileStat } from '../backend/backend.js';
import { atomicError } from './errors.js';

/** S_ISVTX | S_IWOTH: a sticky, world-writable directory (/tmp, /var/tmp, /dev/shm, a shared drop box). */
const STICKY_WORLD_WRITABLE = 0o1002;

/**
 * Whether an entry owned by `owner` in the directory `dir` is trusted by the user `uid`, by the rule of
 * Linux's `may_follow_link()` (fs.protected_symlinks = 1): yes when `uid` owns it, when the directory
 * is not both sticky and world-writable (then only those who may already rename or delete its entries
 * can plant one), or when the directory's owner owns it. A negative `uid` (no user ids: Windows)
 * trusts everything.
 */
export function ownerTrusted(owner: number, dir: FileStat, uid: number): boolean {
  if (uid < 0 || owner === uid) return true;
  if (!isStickyWorldWritable(dir)) return true;
  return owner === dir.uid;
}

/** Whether `dir` is sticky and world-writable: where the rule above can refuse anything. */
export function isStickyWorldWritable(dir: FileStat): boolean {
  return (dir.mode & STICKY_WORLD_WRITABLE) === STICKY_WORLD_WRITABLE;
}

/**
 * The error (for the write to `target`) for a link that the rule says not to follow: EACCES, as the kernel gives for open(2)
 * through such a link when fs.protected_symlinks is on.
 */
export function untrustedLinkError(
  target: string,
  link: string,
  st: FileStat,
  dirSt: FileStat,
  finalComponent: boolean,
): Error {
  const hint = finalComponent ? "; untrustedSymlink: 'replace' replaces the link itself instead" : '';
  return atomicError({
    code: 'EACCES',
    syscall: 'open',
    path: target,
    detail: `refusing to follow the symbolic link '${link}' (owner uid ${String(st.uid)}) in a sticky world-writable directory (owner uid ${String(dirSt.uid)}): as under the kernel's fs.protected_symlinks rule, only links owned by the caller or by the directory's owner are followed there${hint}; the target was not changed`,
  });
}
