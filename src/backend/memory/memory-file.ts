import { O, O_PATH } from '../flags.js';
import type { Inode } from './inode.js';
import type { Device } from './memory-device.js';
import type { MemoryPipe } from './memory-pipe.js';

/**
 * An open file description of a {@link MemoryBackend}: what one descriptor number names. It holds the
 * file offset and the status flags, and keeps its inode alive (even once unlinked) until it is closed.
 *
 * The backend never shares one between two numbers: `reserveSync` and `reopenSync` make new ones, and
 * the descriptor table above emulates dup(2) itself.
 */
export class MemoryFile {
  /** The device the inode lives on; undefined for a pipe end. */
  readonly device: Device | undefined;
  /** The file itself. */
  readonly inode: Inode;
  /** The pipe, for a pipe end. */
  readonly pipe: MemoryPipe | undefined;
  /** Status flags: access mode, `O_APPEND`, `O_NONBLOCK`, `O_SYNC`, `O_DSYNC`, `O_CLOEXEC` (or `O_PATH`). */
  readonly flags: number;
  /** Whether the access mode allows reading. */
  readonly readable: boolean;
  /** Whether the access mode allows writing. */
  readonly writable: boolean;
  /** Whether every write goes to the end of the file. */
  readonly append: boolean;
  /** A reservation (Linux `O_PATH`): names the file but refuses I/O with EBADF. */
  readonly pathOnly: boolean;
  /** The file offset, used and advanced by read and write with a null position. */
  offset = 0;

  constructor(
    device: Device | undefined,
    inode: Inode,
    pipe: MemoryPipe | undefined,
    flags: number,
    pathOnly: boolean,
  ) {
    this.device = device;
    this.inode = inode;
    this.pipe = pipe;
    this.pathOnly = pathOnly;
    const acc = flags & O.ACCMODE;
    if (pathOnly) {
      this.flags = O_PATH | (flags & O.CLOEXEC);
      this.readable = this.writable = this.append = false;
    } else {
      this.flags = flags & (O.ACCMODE | O.APPEND | O.NONBLOCK | O.SYNC | O.DSYNC | O.CLOEXEC);
      this.readable = acc === O.RDONLY || acc === O.RDWR;
      this.writable = acc === O.WRONLY || acc === O.RDWR;
      this.append = (flags & O.APPEND) !== 0;
    }
  }
}
