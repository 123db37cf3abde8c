/**
 * Storage accounting for the capacity limit: how many bytes of file data an operation would add, worked
 * out before it is applied, so a write that does not fit can be refused with nothing changed.
 *
 * A file's stored bytes are those of {@link Inode.stored}: its size less its holes (whole chunks never
 * written). Only the chunks an operation touches, and the file's last chunk, can change their share,
 * so the cost is proportional to the operation, not to the file.
 *
 * @module
 */
import { CHUNK, type Inode } from './inode.js';

/** What chunk `i`, if present, contributes to the stored bytes of a file of `size` bytes. */
function share(i: number, size: number): number {
  const n = size - i * CHUNK;
  return n <= 0 ? 0 : n >= CHUNK ? CHUNK : n;
}

/** The change in stored bytes if `length` (> 0) bytes were written to `inode` at `offset`. */
export function writeGrowth(inode: Inode, offset: number, length: number): number {
  const size = inode.size;
  const end = offset + length;
  const newSize = end > size ? end : size;
  const first = Math.floor(offset / CHUNK);
  const last = Math.floor((end - 1) / CHUNK);
  const chunks = inode.chunks;
  let delta = 0;
  for (let i = first; i <= last; i++) delta += share(i, newSize) - (chunks[i] === undefined ? 0 : share(i, size));
  if (size > 0 && newSize > size) {
    // The old last chunk, if not written now, grows with the size.
    const tail = Math.floor((size - 1) / CHUNK);
    if ((tail < first || tail > last) && chunks[tail] !== undefined) delta += share(tail, newSize) - share(tail, size);
  }
  return delta;
}

/** The change in stored bytes if `inode` were truncated (or extended) to `size` bytes. */
export function truncateGrowth(inode: Inode, size: number): number {
  const old = inode.size;
  const chunks = inode.chunks;
  if (size >= old) {
    if (old === 0) return 0;
    const tail = Math.floor((old - 1) / CHUNK);
    return chunks[tail] === undefined ? 0 : share(tail, size) - share(tail, old);
  }
  let delta = 0;
  for (let i = Math.floor(size / CHUNK); i < chunks.length; i++)
    if (chunks[i] !== undefined) delta += share(i, size) - share(i, old);
  return delta;
}
