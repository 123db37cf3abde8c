/**
 * Allocation of small byte arrays from shared slabs, as Node's Buffer pool does: every `new Uint8Array(n)`
 * costs a backing store of its own (an allocation, and work for the garbage collector when it dies),
 * which dominates when a file system holds thousands of small files or the crash journal keeps the data
 * of thousands of small writes. Pieces of a slab are never reused, so each is zero-filled when handed
 * out; a slab is freed when its last piece is.
 *
 * The price, as with Buffer's pool: one live piece keeps its whole slab (16 KiB) alive.
 *
 * @module
 */

/** Bytes per slab. */
const SLAB = 16 * 1024;
/** Arrays longer than this get a backing store of their own. */
const SMALL = 2048;

let slab = new ArrayBuffer(SLAB);
let used = 0;

/** A zero-filled array of `length` bytes (a view into a shared slab when small). */
export function allocBytes(length: number): Uint8Array {
  if (length > SMALL) return new Uint8Array(length);
  if (used + length > SLAB) {
    slab = new ArrayBuffer(SLAB);
    used = 0;
  }
  const bytes = new Uint8Array(slab, used, length);
  used += (length + 7) & ~7; // keep pieces 8-byte aligned
  return bytes;
}

/** A copy of `length` bytes of `src` from `offset`, in an array of its own length (see {@link allocBytes}). */
export function copyBytes(src: Uint8Array, offset: number, length: number): Uint8Array {
  const out = allocBytes(length);
  out.set(offset === 0 && length === src.length ? src : src.subarray(offset, offset + length));
  return out;
}
