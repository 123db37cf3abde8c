import type { AccessMode } from './open-flags.js';
import type { SocketInfo } from './sockets.js';

/**
 * What a descriptor refers to: a regular `file`, a `dir`, a `pipe` (anonymous or a named FIFO), a
 * `socket`, an `anon_inode` (eventfd, eventpoll, timerfd, signalfd, inotify, pidfd, io_uring…), a
 * `device` (character or block: /dev/null, a terminal), a `memfd` (memfd_create: an anonymous file
 * in memory), or `other` (namespaces and anything else the kernel names without a path).
 */
export type FdKind = 'file' | 'dir' | 'pipe' | 'socket' | 'anon_inode' | 'device' | 'memfd' | 'other';

/** Every {@link FdKind}, in the order summaries list them. */
export const FD_KINDS: readonly FdKind[] = ['file', 'dir', 'pipe', 'socket', 'anon_inode', 'device', 'memfd', 'other'];

/** One open descriptor of an inspected process (the `fds[]` items of `fdkeeper inspect --json`). */
export interface FdEntry {
  /** The descriptor number. */
  readonly fd: number;
  readonly kind: FdKind;
  /** What /proc/PID/fd/N links to, verbatim (`/var/log/app.log (deleted)`, `pipe:[1234]`, `anon_inode:[eventfd]`). */
  readonly target: string;
  /** The file's path for file, dir, device and named-pipe descriptors (without " (deleted)"); otherwise null. */
  readonly path: string | null;
  /** The file was unlinked while open: its name is gone, its space is not freed until the last close. */
  readonly deleted: boolean;
  /**
   * The name it was opened by was unlinked, but the file lives on under other hard links (the kernel
   * still says " (deleted)"): not deleted, its space not held by this descriptor alone, and `path`
   * names no file. /proc does not say which other names it has.
   */
  readonly unlinkedName: boolean;
  /** The file's hard link count (stat through the descriptor); null when stat failed. */
  readonly links: number | null;
  /** Size in bytes of a regular file (deleted or not); null for anything else. */
  readonly size: number | null;
  /** Device and inode numbers, which identify the file whatever its name (null when stat failed). */
  readonly dev: number | null;
  readonly inode: number | null;
  /** The file offset from fdinfo (`pos:`); null when fdinfo could not be read. */
  readonly pos: number | null;
  /** The open flags from fdinfo, in octal as the kernel prints them (`"02100001"`); null when unread. */
  readonly flags: string | null;
  /** The flags decoded (`["O_WRONLY", "O_APPEND", "O_CLOEXEC"]`); empty when unread. */
  readonly flagNames: readonly string[];
  /** The access mode from the flags; null when unread. */
  readonly access: AccessMode | null;
  /** A short description: the anon inode's type (`eventfd`), a socket's addresses and state; else null. */
  readonly detail: string | null;
  /** For a TCP, UDP or unix socket found in the kernel's tables: its addresses and state; else null. */
  readonly socket: SocketInfo | null;
}
