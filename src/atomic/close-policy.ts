/**
 * Which calls of the promise form run synchronously: on a local file system, the few that take no
 * journal handle and write nothing — the close of a descriptor whose data is already durable (the temp
 * file after its fsync, a directory after its fsync), the open of a directory a rename has just gone
 * into (its dentry and inode are in memory) and the lstat of the target (a path walk; it can wait for a
 * disk read only when the target's inode is not cached, the first write to a file after its metadata
 * left the cache). Everything else, and everything elsewhere, goes through the thread pool.
 *
 * Why: such a call takes a microsecond or two, while a thread-pool job costs tens of microseconds of
 * wall time (~55–70 µs on the 2-core VM of docs/benchmarks.md) and a turn of the event loop. Not the
 * create, write, fchmod or rename: they take journal handles and were measured stalling the event loop
 * for milliseconds while fsyncs committed. On a network or FUSE file system even a close may talk to a
 * server (NFS close-to-open, a FUSE daemon's flush), so there nothing is synchronous. The file system is learnt once
 * per directory with statfs(2) (one
 * thread-pool job), and only for the OS backend; until then, and for every other backend, closes are
 * asynchronous. A stale answer (a directory remounted elsewhere) costs speed, never correctness.
 *
 * @module
 */
import * as fs from 'node:fs';
import type { Backend } from '../backend/backend.js';
import { isOnOs } from '../backend/on-os.js';

/** statfs(2) `f_type` values of local disk and memory file systems (linux/magic.h). */
const LOCAL_TYPES = new Set([
  0xef53, // ext2, ext3, ext4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0xf2f52010, // f2fs
  0x2fc12fc1, // zfs
  0x794c7630, // overlayfs (containers; its layers are local)
]);

/** Directories whose file system is known (true: local), at most this many remembered. */
const known = new Map<string, boolean>();
const MAX_KNOWN = 1024;
const asking = new Set<string>();

/** Starts learning `dir`'s file system type, in the background; the answer serves later closes. */
function learn(dir: string): void {
  if (asking.has(dir) || process.platform !== 'linux') return;
  asking.add(dir);
  fs.statfs(dir, (err, st) => {
    asking.delete(dir);
    if (err !== null) return; // asked again next time
    if (known.size >= MAX_KNOWN) known.clear();
    known.set(dir, LOCAL_TYPES.has(st.type));
  });
}

/**
 * Whether the quick calls (see the module) about `dir` may be synchronous: the OS backend on Linux, and `dir`
 * known to be on a local file system. Starts finding out when it is not known yet.
 */
export function quickCallsSyncIn(backend: Backend, dir: string): boolean {
  if (!isOnOs(backend)) return false;
  const local = known.get(dir);
  if (local === undefined) learn(dir);
  return local === true;
}

/** What is known of `dir`'s file system: true local, false not, undefined not known (yet). */
export function isLocalDir(dir: string): boolean | undefined {
  return known.get(dir);
}

/** Forgets what was learnt (tests). */
export function forgetFileSystems(): void {
  known.clear();
}
