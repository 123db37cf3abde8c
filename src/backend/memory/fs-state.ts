import type { FsOp } from './fs-op.js';
import { CHUNK, Inode, type Chunk, type InodeAttrs } from './inode.js';
import { allocBytes } from './small-bytes.js';

let nextStateId = 1;

/** The smallest chunk allocation; chunks grow by doubling up to {@link CHUNK}. A power of two dividing CHUNK. */
const MIN_CHUNK = 256;
/** At most this many spare chunks (4 MiB) are kept for reuse. */
const MAX_SPARE = 64;

/**
 * The file system as data: an inode table and a root directory, changed only by {@link FsState.apply}
 * with {@link FsOp} records. It knows nothing of paths, permissions or descriptors (the backend does);
 * it is what the live backend holds and what the crash model replays operations onto.
 *
 * `clone()` is cheap: inodes are copied, file data chunks are shared and copied on write.
 */
export class FsState {
  /** Every inode, including unlinked ones still held open (nlink 0). */
  readonly inodes = new Map<number, Inode>();
  /** The root directory's inode number. */
  readonly root: number;
  /** The next inode number to hand out. */
  nextIno: number;
  /**
   * Identifies which chunks this state may write in place (see {@link Chunk.owner}). Renewed by
   * {@link FsState.clone}: after a clone neither state owns the chunks they share, so both copy before
   * writing.
   */
  private id = nextStateId++;
  /** Whole chunks dropped by truncates and unlinks, reused by whole-chunk writes (see {@link FsState.recycle}). */
  private readonly spare: Uint8Array[] = [];

  constructor(rootAttrs?: InodeAttrs, root = 2) {
    this.root = root;
    this.nextIno = root + 1;
    if (rootAttrs !== undefined) {
      const r = new Inode(root, 'dir', rootAttrs);
      r.parent = root;
      r.nlink = 2; // its own '.' and the '..' of the root
      this.inodes.set(root, r);
    }
  }

  /** A copy that can change independently of this one. */
  clone(): FsState {
    const c = new FsState(undefined, this.root);
    c.nextIno = this.nextIno;
    for (const [n, inode] of this.inodes) c.inodes.set(n, inode.clone());
    this.id = nextStateId++; // the chunks now shared belong to neither: both sides copy on write
    this.spare.length = 0;
    return c;
  }

  /** The inode numbered `ino`; throws if there is none (a bug in the caller, not a file-system error). */
  inode(ino: number): Inode {
    const i = this.inodes.get(ino);
    if (i === undefined) throw new Error(`fdkeeper memory backend: no inode ${ino}`);
    return i;
  }

  /** Allocates an inode number for an inode a `create` op will bring into being. */
  allocateIno(): number {
    return this.nextIno++;
  }

  /** The bytes of file data stored, holes excluded (what a capacity limit counts). */
  bytesUsed(): number {
    let n = 0;
    for (const i of this.inodes.values()) if (i.kind === 'file') n += i.stored();
    return n;
  }

  // ---------------------------------------------------------------- applying operations

  /** Applies one operation. The caller has checked that it is valid (entries exist, names are free…). */
  apply(op: FsOp): void {
    switch (op.type) {
      case 'create': {
        const inode = new Inode(op.ino, op.kind, op.attrs);
        if (op.kind === 'symlink') {
          inode.target = op.target ?? '';
          inode.size = Buffer.byteLength(inode.target);
        }
        this.inodes.set(op.ino, inode);
        if (op.ino >= this.nextIno) this.nextIno = op.ino + 1;
        this.addEntry(op.dir, op.name, inode, op.attrs.ctimeMs);
        break;
      }
      case 'link': {
        const inode = this.inode(op.ino);
        this.addEntry(op.dir, op.name, inode, op.ctimeMs);
        inode.ctimeMs = op.ctimeMs;
        break;
      }
      case 'unlink':
        this.removeEntry(op.dir, op.name, op.ctimeMs);
        break;
      case 'rename': {
        const from = this.inode(op.fromDir);
        const ino = from.entries?.get(op.fromName);
        if (ino === undefined) break;
        const to = this.inode(op.toDir);
        if (to.entries?.get(op.toName) === ino) break; // rename to a hard link of itself: nothing happens
        if (to.entries?.has(op.toName) === true) this.removeEntry(op.toDir, op.toName, op.ctimeMs);
        from.entries?.delete(op.fromName);
        const inode = this.inode(ino);
        to.entries?.set(op.toName, ino);
        if (inode.kind === 'dir' && op.fromDir !== op.toDir) {
          from.nlink--; // loses the '..' of the moved directory
          to.nlink++;
          inode.parent = op.toDir;
        }
        from.mtimeMs = from.ctimeMs = op.ctimeMs;
        to.mtimeMs = to.ctimeMs = op.ctimeMs;
        inode.ctimeMs = op.ctimeMs;
        break;
      }
      case 'setattr': {
        const inode = this.inode(op.ino);
        if (op.mode !== undefined) inode.mode = op.mode & 0o7777;
        if (op.uid !== undefined) inode.uid = op.uid;
        if (op.gid !== undefined) inode.gid = op.gid;
        if (op.atimeMs !== undefined) inode.atimeMs = op.atimeMs;
        if (op.mtimeMs !== undefined) inode.mtimeMs = op.mtimeMs;
        if (op.ctimeMs !== undefined) inode.ctimeMs = op.ctimeMs;
        break;
      }
      case 'write': {
        const inode = this.inode(op.ino);
        this.writeData(inode, op.offset, op.data, op.frozen === true);
        inode.mtimeMs = inode.ctimeMs = op.mtimeMs;
        break;
      }
      case 'truncate': {
        const inode = this.inode(op.ino);
        this.truncateData(inode, op.size);
        inode.mtimeMs = inode.ctimeMs = op.mtimeMs;
        break;
      }
    }
  }

  /** Drops inodes no directory entry reaches and that nobody holds open (`isOpen`). */
  collect(isOpen: (ino: number) => boolean = () => false): void {
    for (const [n, inode] of this.inodes) if (inode.nlink <= 0 && !isOpen(n) && n !== this.root) this.inodes.delete(n);
  }

  /**
   * {@link FsState.collect} for one inode: drops `ino` if no directory entry names it (nlink 0) and it is
   * not the root. The caller has checked that no descriptor holds it. Returns the dropped inode, if any.
   */
  drop(ino: number): Inode | undefined {
    const inode = this.inodes.get(ino);
    if (inode === undefined || inode.nlink > 0 || ino === this.root) return undefined;
    this.inodes.delete(ino);
    for (const c of inode.chunks) this.recycle(c);
    return inode;
  }

  /**
   * Keeps a whole chunk this state alone owns, dropped by a truncate or an unlink, for the next
   * whole-chunk write: rewriting a file (open with O_TRUNC, write it again) then allocates nothing.
   * Shared chunks (after a clone, or referenced by the crash journal) are never recycled.
   */
  private recycle(c: Chunk | undefined): void {
    if (c !== undefined && c.owner === this.id && c.bytes.length === CHUNK && this.spare.length < MAX_SPARE)
      this.spare.push(c.bytes);
  }

  private addEntry(dirIno: number, name: string, inode: Inode, ctimeMs: number): void {
    const dir = this.inode(dirIno);
    dir.entries?.set(name, inode.ino);
    inode.nlink++;
    if (inode.kind === 'dir') {
      inode.parent = dirIno;
      inode.nlink++; // its own '.'
      dir.nlink++; // its '..'
    }
    dir.mtimeMs = dir.ctimeMs = ctimeMs;
  }

  private removeEntry(dirIno: number, name: string, ctimeMs: number): void {
    const dir = this.inode(dirIno);
    const ino = dir.entries?.get(name);
    if (ino === undefined) return;
    dir.entries?.delete(name);
    const inode = this.inode(ino);
    inode.nlink--;
    if (inode.kind === 'dir') {
      inode.nlink--; // its '.'
      dir.nlink--; // its '..'
    }
    inode.ctimeMs = ctimeMs;
    dir.mtimeMs = dir.ctimeMs = ctimeMs;
  }

  // ---------------------------------------------------------------- file data

  /** Reads up to `length` bytes at `position` into `target` at `at`; returns the count (0 past the end). */
  read(inode: Inode, target: Uint8Array, at: number, length: number, position: number): number {
    const n = Math.max(0, Math.min(length, inode.size - position));
    let done = 0;
    while (done < n) {
      const pos = position + done;
      const index = Math.floor(pos / CHUNK);
      const within = pos - index * CHUNK;
      const take = Math.min(CHUNK - within, n - done);
      const chunk = inode.chunks[index];
      // A chunk may be shorter than CHUNK (see writableChunk): what lies past its bytes reads as zeros.
      const have = chunk === undefined ? 0 : Math.max(0, Math.min(take, chunk.bytes.length - within));
      if (have > 0) target.set((chunk as Chunk).bytes.subarray(within, within + have), at + done);
      if (have < take) target.fill(0, at + done + have, at + done + take);
      done += take;
    }
    return n;
  }

  /** Writes `data` at `offset`. With `frozen` (see `WriteOp.frozen` in fs-op.ts) whole chunks are referenced, not copied. */
  private writeData(inode: Inode, offset: number, data: Uint8Array, frozen: boolean): void {
    let done = 0;
    while (done < data.length) {
      const pos = offset + done;
      const index = Math.floor(pos / CHUNK);
      const within = pos - index * CHUNK;
      const take = Math.min(CHUNK - within, data.length - done);
      if (take === CHUNK) {
        // A whole chunk: nothing of the old one survives, so neither copy it nor zero a new one.
        while (inode.chunks.length < index) inode.chunks.push(undefined);
        const piece = data.subarray(done, done + CHUNK);
        if (frozen) {
          inode.chunks[index] = { owner: 0, bytes: piece }; // owned by no state: copied before any write
        } else {
          const bytes = this.spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
          bytes.set(piece);
          inode.chunks[index] = { owner: this.id, bytes };
        }
      } else {
        this.writableChunk(inode, index, within + take).set(
          take === data.length ? data : data.subarray(done, done + take),
          within,
        );
      }
      done += take;
    }
    if (offset + data.length > inode.size) inode.size = offset + data.length;
  }

  private truncateData(inode: Inode, size: number): void {
    if (size < inode.size) {
      const keep = Math.ceil(size / CHUNK);
      for (let i = keep; i < inode.chunks.length; i++) this.recycle(inode.chunks[i]);
      inode.chunks.length = Math.min(inode.chunks.length, keep);
      const tail = size % CHUNK;
      // Zero what is left of the last chunk past the new end, so a later extension reads zeros there.
      const last = tail === 0 ? undefined : inode.chunks[keep - 1];
      if (last !== undefined && last.bytes.length > tail) this.writableChunk(inode, keep - 1, 0).fill(0, tail);
    }
    inode.size = size;
  }

  /**
   * The chunk at `index`, allocated, grown or copied so that this state may write its first `need` bytes.
   * Chunks start small and double up to {@link CHUNK}, so a small file costs about its size, not 64 KiB;
   * bytes past a chunk's length read as zeros.
   */
  private writableChunk(inode: Inode, index: number, need: number): Uint8Array {
    while (inode.chunks.length < index) inode.chunks.push(undefined);
    const c = inode.chunks[index];
    if (c !== undefined && c.owner === this.id && c.bytes.length >= need) return c.bytes;
    let length = c === undefined ? MIN_CHUNK : Math.max(c.bytes.length, MIN_CHUNK);
    while (length < need) length *= 2;
    const bytes = allocBytes(Math.min(length, CHUNK));
    if (c !== undefined) bytes.set(c.bytes);
    const owned: Chunk = { owner: this.id, bytes };
    inode.chunks[index] = owned;
    return bytes;
  }
}
