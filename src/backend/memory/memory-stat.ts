import type { FileStat } from '../backend.js';
import { TypedByMode } from '../file-type.js';
import { CHUNK, typeBits, type Inode } from './inode.js';

/** The block size a {@link MemoryStat} reports, and the unit its `blocks` are allocated in. */
const BLOCK = 4096;

/**
 * 512-byte units of the 4 KiB blocks a file's data takes: per chunk present, its part of the file, but
 * no further than the bytes the chunk actually holds (chunks grow as they are written; past their end
 * is a hole too), rounded up to whole blocks.
 */
function fileBlocks(inode: Inode): number {
  let blocks = 0;
  const chunks = inode.chunks;
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i];
    if (c === undefined) continue;
    const extent = Math.min(inode.size - i * CHUNK, CHUNK, c.bytes.length);
    if (extent > 0) blocks += Math.ceil(extent / BLOCK);
  }
  return blocks * (BLOCK / 512);
}

/**
 * The {@link FileStat} of a {@link MemoryBackend}: a snapshot of an inode's metadata when stat was
 * called, like `fs.Stats`. `blocks` counts 512-byte units of the 4 KiB blocks the stored data takes
 * (holes excluded, as on ext4, though a hole is only seen where a chunk was never written or never grew
 * to); directories take one block and symlinks none (ext4's inline "fast" symlinks).
 */
export class MemoryStat extends TypedByMode implements FileStat {
  readonly dev: number;
  readonly ino: number;
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly rdev = 0;
  readonly size: number;
  readonly blksize = BLOCK;
  readonly blocks: number;
  readonly atimeMs: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly birthtimeMs: number;

  constructor(dev: number, inode: Inode) {
    super();
    this.dev = dev;
    this.ino = inode.ino;
    this.mode = typeBits(inode.kind) | inode.mode;
    this.nlink = inode.nlink;
    this.uid = inode.uid;
    this.gid = inode.gid;
    this.size = inode.kind === 'fifo' ? 0 : inode.size;
    this.blocks = inode.kind === 'file' ? fileBlocks(inode) : inode.kind === 'dir' ? BLOCK / 512 : 0;
    this.atimeMs = inode.atimeMs;
    this.mtimeMs = inode.mtimeMs;
    this.ctimeMs = inode.ctimeMs;
    this.birthtimeMs = inode.birthtimeMs;
  }

  /** The inode's type and permission bits. */
  protected typeMode(): number {
    return this.mode;
  }
}
