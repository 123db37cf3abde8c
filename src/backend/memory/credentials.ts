import type { Inode } from './inode.js';

/** Permission bits asked for by {@link Credentials.can}: read, write, execute/search. */
export const R_OK = 4;
/** See {@link R_OK}. */
export const W_OK = 2;
/** See {@link R_OK}. */
export const X_OK = 1;

/** The set-user-id, set-group-id and sticky bits. */
export const S_ISUID = 0o4000;
/** See {@link S_ISUID}. */
export const S_ISGID = 0o2000;
/** See {@link S_ISUID}. */
export const S_ISVTX = 0o1000;

/**
 * Who a {@link MemoryBackend} acts as: a user id, one group id and a umask. Root (uid 0) passes every
 * permission check, as with CAP_DAC_OVERRIDE and CAP_FOWNER; any other uid has the owner, group or other
 * permission bits applied, chosen by the classic rule (owner if the uid matches, else group if the gid
 * matches, else other). Supplementary groups and ACLs are not modelled.
 */
export class Credentials {
  /** The effective user id. */
  uid: number;
  /** The effective (and only) group id. */
  gid: number;
  /** Bits cleared from the mode of every file and directory created. */
  umask: number;

  constructor(uid: number, gid: number, umask: number) {
    this.uid = uid;
    this.gid = gid;
    this.umask = umask;
  }

  /** Whether these credentials have every permission in `want` (`R_OK | W_OK | X_OK` bits) on `inode`. */
  can(inode: Inode, want: number): boolean {
    if (this.uid === 0) return true;
    const mode = inode.mode;
    const bits = inode.uid === this.uid ? mode >> 6 : inode.gid === this.gid ? mode >> 3 : mode;
    return (bits & want) === want;
  }

  /** Whether these credentials own `inode` (or are root): what chmod, chown and explicit utimes need. */
  owns(inode: Inode): boolean {
    return this.uid === 0 || inode.uid === this.uid;
  }

  /**
   * The sticky-directory rule: in a directory with `S_ISVTX` only the file's owner, the directory's owner
   * or root may remove or rename an entry.
   */
  mayRemoveFrom(dir: Inode, victim: Inode): boolean {
    return (dir.mode & S_ISVTX) === 0 || this.uid === 0 || victim.uid === this.uid || dir.uid === this.uid;
  }
}
