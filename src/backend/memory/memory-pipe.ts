import type { Inode } from './inode.js';
import { copyBytes } from './small-bytes.js';

/**
 * An anonymous pipe: a byte queue with a capacity, and counts of the descriptors open on each end.
 * It lives outside every file system (its inode, for fstat, is in no {@link FsState} and is not
 * crash-modelled).
 *
 * A single-threaded emulation cannot block, so where a real pipe would make the caller wait the
 * backend fails with EAGAIN instead (as a pipe opened `O_NONBLOCK` does): a read of an empty pipe whose
 * write end is still open, or a write to a full pipe. A write that fits only in part writes what fits.
 */
export class MemoryPipe {
  /** The pipe's inode (kind `'fifo'`), for fstat. */
  readonly inode: Inode;
  /** How many bytes the pipe holds before a write would block. */
  readonly capacity: number;
  /** Descriptors open for reading. */
  readers = 0;
  /** Descriptors open for writing. */
  writers = 0;
  /** Bytes queued. */
  size = 0;
  private readonly queue: Uint8Array[] = [];
  /** How much of `queue[0]` has been read already. */
  private head = 0;

  constructor(inode: Inode, capacity: number) {
    this.inode = inode;
    this.capacity = capacity;
  }

  /** Queues up to `length` bytes of `src` from `offset` (a copy); returns how many fitted. */
  write(src: Uint8Array, offset: number, length: number): number {
    const n = Math.min(length, this.capacity - this.size);
    if (n <= 0) return 0;
    this.queue.push(copyBytes(src, offset, n));
    this.size += n;
    return n;
  }

  /** Takes up to `length` bytes into `dst` at `offset`; returns how many (0 when empty). */
  read(dst: Uint8Array, offset: number, length: number): number {
    let done = 0;
    while (done < length && this.queue.length > 0) {
      const first = this.queue[0] as Uint8Array;
      const take = Math.min(length - done, first.length - this.head);
      dst.set(first.subarray(this.head, this.head + take), offset + done);
      done += take;
      this.head += take;
      if (this.head === first.length) {
        this.queue.shift();
        this.head = 0;
      }
    }
    this.size -= done;
    return done;
  }
}
