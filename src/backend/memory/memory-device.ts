import type { FsOp } from './fs-op.js';
import type { FsState } from './fs-state.js';
import type { Inode } from './inode.js';
import type { Journal } from './journal.js';

let nextDev = 1;

/** A device number no other {@link Device} created without an explicit number has had. */
export function allocateDev(): number {
  return nextDev++;
}

/**
 * One mounted file system: an {@link FsState}, the journal its changes are reported to, its device
 * number, its capacity, and which of its inodes descriptors hold open. A {@link MemoryBackend} has one;
 * `mount()` makes another backend's device appear at a directory, so both backends share the Device
 * (and the open counts on its inodes) when they reach it.
 *
 * `apply` is the one way the backend changes the file system: the state applies the operation, then the
 * journal records it.
 */
export class Device {
  /** The device number (`FileStat.dev`). */
  readonly dev: number;
  /** The live file system. */
  readonly state: FsState;
  /** Where every applied operation and barrier is reported. */
  readonly journal: Journal;
  /** Whether the journal keeps operations (so a write's data must be copied, not viewed). */
  readonly keepsData: boolean;
  /** Bytes of file data allowed (ENOSPC past it). */
  readonly capacity: number;
  /** Bytes of file data stored now (holes excluded), kept up to date by the backend. */
  used: number;
  /** Other devices mounted on this one's directories: mount-point inode number → device. */
  readonly mounts = new Map<number, Device>();
  /** Where this device is mounted, if it is: the host device and the mount-point directory. */
  mountedOn: { readonly device: Device; readonly ino: number } | undefined;
  constructor(dev: number, state: FsState, journal: Journal, keepsData: boolean, capacity: number) {
    this.dev = dev;
    this.state = state;
    this.journal = journal;
    this.keepsData = keepsData;
    this.capacity = capacity;
    this.used = state.bytesUsed();
  }

  /** Applies `op` to the live state and records it in the journal. The caller has validated it. */
  apply(op: FsOp): void {
    this.state.apply(op);
    this.journal.record(op);
  }

  /** A descriptor now holds `inode`. */
  hold(inode: Inode): void {
    inode.opens++;
  }

  /** A descriptor no longer holds `inode`; drops it if that was the last thing keeping it. */
  release(inode: Inode): void {
    if (--inode.opens <= 0 && inode.nlink <= 0) this.reap(inode.ino);
  }

  /** Drops inode `ino`, and frees its data, if no entry names it and no descriptor holds it. */
  reap(ino: number): void {
    const inode = this.state.inodes.get(ino);
    if (inode === undefined || inode.opens > 0) return;
    const gone = this.state.drop(ino);
    if (gone !== undefined && gone.kind === 'file') this.used -= gone.stored();
  }
}
